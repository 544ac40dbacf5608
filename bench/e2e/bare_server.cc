// Baseline A of bench/e2e: the least a gRPC C++ server can do per unary
// call. One callback generic service, one self-deleting reactor per call
// (like gRPC's route_guide_callback_server.cc): read the request message,
// answer a fixed, pre-serialized response (the bytes the gateway answers for
// the same envelope, saved by bench/e2e/driver.py) with status OK.
//
//   bare_server --listen=127.0.0.1:0 --response=FILE
//
// Prints "bare_server listening on HOST:PORT" on stdout once serving; stops
// at SIGTERM or SIGINT.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

namespace {

class Reactor : public grpc::ServerGenericBidiReactor {
 public:
  explicit Reactor(const grpc::ByteBuffer& response) : response_(response) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "no request message"));
      return;
    }
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;  // a copy shares the slice: a reference count
};

class Service : public grpc::CallbackGenericService {
 public:
  explicit Service(const std::string& response) {
    grpc::Slice slice(response);
    response_ = grpc::ByteBuffer(&slice, 1);
  }

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new Reactor(response_);
  }

 private:
  grpc::ByteBuffer response_;
};

bool TakeFlag(const std::string& arg, const std::string& name,
              std::string* value) {
  const std::string prefix = "--" + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", response_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!TakeFlag(arg, "listen", &listen) &&
        !TakeFlag(arg, "response", &response_file)) {
      std::cerr << "usage: bare_server --listen=HOST:PORT --response=FILE\n";
      return 2;
    }
  }
  std::ifstream in(response_file, std::ios::binary);
  if (response_file.empty() || !in) {
    std::cerr << "bare_server: cannot read --response=" << response_file
              << "\n";
    return 2;
  }
  const std::string response((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());

  // Blocked here, so in every thread gRPC starts: sigwait below takes them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  Service service(response);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "bare_server: cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << "bare_server listening on "
            << listen.substr(0, listen.rfind(':')) << ":" << port << std::endl;

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  server->Shutdown(std::chrono::system_clock::now());
  return 0;
}
