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

#include <iostream>
#include <string>

#include "e2e_common.h"

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
  explicit Service(const std::string& response)
      : response_(e2e::SharedBuffer(response)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext*) override {
    return new Reactor(response_);
  }

 private:
  const grpc::ByteBuffer response_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", response_file, response;
  if (!e2e::ParseFlags(argc, argv,
                       {{"listen", &listen}, {"response", &response_file}})) {
    std::cerr << "usage: bare_server --listen=HOST:PORT --response=FILE\n";
    return 2;
  }
  if (response_file.empty() || !e2e::ReadFile(response_file, &response)) {
    std::cerr << "bare_server: cannot read --response=" << response_file
              << "\n";
    return 2;
  }
  // Before gRPC starts its threads.
  const sigset_t stop = e2e::BlockStopSignals();
  Service service(response);
  return e2e::ServeUntilStopped("bare_server", listen, &service, stop);
}
