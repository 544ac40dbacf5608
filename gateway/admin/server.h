#ifndef GATEWAY_ADMIN_SERVER_H_
#define GATEWAY_ADMIN_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct mg_context;

namespace envelope {

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
// Called on one of the admin server's worker threads, several at once when
// several clients ask: it must be thread-safe and quick.
using AdminHandler = std::function<AdminResponse()>;

struct AdminServerOptions {
  // CivetWeb's worker threads (num_threads). Each holds one connection from
  // accept to close, so this many clients can be served, or held by slow
  // clients, at once; later connections wait in a queue and the listen
  // backlog until a thread is free. Sized so that 300 clients trickling
  // their request heads leave room for the probes (docs/operations.md,
  // "Callers that misbehave"). 1 to 2048.
  int threads = 400;
  // From the start of a request to the end of its head, however slowly it
  // trickles in (slowloris); then the connection is closed.
  absl::Duration request_timeout = absl::Seconds(5);
  // How long a kept-alive connection may wait for its next request.
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  // Request line plus headers; a longer head is refused.
  int max_request_head_bytes = 8192;
  // CivetWeb's own error messages (a failed accept, ...); null: dropped.
  std::function<void(absl::string_view)> log;
};

// The admin HTTP endpoint for probes and scrapes (/healthz, /readyz,
// /metrics) on CivetWeb (Debian's libcivetweb 1.15): HTTP/1.1 with
// keep-alive, GET and HEAD only (else 405 with Allow), routes matched on the
// path with the query ignored (else 404), every answer with Content-Length
// and Cache-Control: no-store.
class AdminServer {
 public:
  // `listen`: "127.0.0.1:9901", "0.0.0.0:9901", "localhost:9901" or
  // ":9901" (every IPv4 interface); port 0 picks a free port.
  // INVALID_ARGUMENT for anything else, including "[::1]:9901" and
  // "unix:/path": Debian builds CivetWeb 1.15 without IPv6 and without unix
  // sockets (docs/configuration.md). UNAVAILABLE when CivetWeb cannot bind
  // or start.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const std::string& listen, std::map<std::string, AdminHandler> get_routes,
      AdminServerOptions options = {});

  // Stops: open connections are closed, the threads joined.
  ~AdminServer();

  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  int port() const { return port_; }  // the bound TCP port

  struct State;  // the routes, as CivetWeb's callbacks see them (server.cc)

 private:
  explicit AdminServer(std::unique_ptr<State> state);

  // Connects to the listening port and closes (see the destructor).
  void WakeUp() const;

  std::unique_ptr<State> state_;
  mg_context* context_ = nullptr;
  int port_ = 0;
  std::string wake_host_;  // where WakeUp connects: the bound IPv4 host
};

}  // namespace envelope

#endif  // GATEWAY_ADMIN_SERVER_H_
