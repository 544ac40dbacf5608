// File: what bench/e2e's three programs share (A bare_server.cc, B
// curl_client.cc, C glue_server.cc): flags, input files, the upstream
// request's header list, the gRPC server's life until SIGTERM.
//
// Header-only because each program is one .cc file built on its own (CMake
// and Bazel alike). It includes both libcurl's and gRPC's headers, yet a
// program links only the library it calls: inline functions it does not call
// are not compiled into it (curl_client has no gRPC, bare_server no libcurl).
#ifndef BENCH_E2E_E2E_COMMON_H_
#define BENCH_E2E_E2E_COMMON_H_

#include <curl/curl.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace e2e {

inline bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  return true;
}

// Every argument must be one of FLAGS, as --name=value; its value goes to the
// string the flag names (numbers are converted by the caller). False on any
// other argument: the caller prints its usage.
inline bool ParseFlags(
    int argc, char** argv,
    std::initializer_list<std::pair<std::string_view, std::string*>> flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    bool known = false;
    for (const auto& [name, value] : flags) {
      if (arg.size() > name.size() + 2 && arg.starts_with("--") &&
          arg.substr(2, name.size()) == name && arg[name.size() + 2] == '=') {
        value->assign(arg.substr(name.size() + 3));
        known = true;
        break;
      }
    }
    if (!known) return false;
  }
  return true;
}

// The request headers from a file of "Name: value" lines, sent as they are
// ("Name:" alone removes a header curl would add), plus "Expect:": no
// "100-continue" round trip for larger bodies, as the gateway sends none.
// The caller frees the list with curl_slist_free_all.
inline curl_slist* HeaderList(const std::string& text) {
  curl_slist* headers = nullptr;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) headers = curl_slist_append(headers, line.c_str());
  }
  return curl_slist_append(headers, "Expect:");
}

// Blocks SIGTERM and SIGINT in this thread, and so in every thread started
// after it (gRPC's, an I/O loop's): only ServeUntilStopped's sigwait takes
// them, so a server stops cleanly however it is stopped. Call it before
// starting any thread.
inline sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

// A buffer holding BYTES, for answers sent again and again: copies of it
// share the slice (a reference count), not the bytes.
inline grpc::ByteBuffer SharedBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Serves SERVICE on LISTEN (port 0: any free port), prints "NAME listening on
// HOST:PORT" on stdout once serving (the driver waits for that line), and
// returns 0 at SIGTERM or SIGINT, once stopped; 1 if it could not listen.
inline int ServeUntilStopped(std::string_view name, const std::string& listen,
                             grpc::CallbackGenericService* service,
                             const sigset_t& stop) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << name << ": cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << name << " listening on " << listen.substr(0, listen.rfind(':'))
            << ":" << port << std::endl;
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  server->Shutdown(std::chrono::system_clock::now());
  return 0;
}

}  // namespace e2e

#endif  // BENCH_E2E_E2E_COMMON_H_
