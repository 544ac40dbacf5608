#ifndef GATEWAY_ADMIN_SERVER_H_
#define GATEWAY_ADMIN_SERVER_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace envelope {

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
// Called on the admin thread: it must not block for long, since every other
// admin request waits behind it (the gRPC side never does).
using AdminHandler = std::function<AdminResponse()>;

struct AdminServerOptions {
  // Connections open at once, at most; lowered to a quarter of the
  // process's descriptor limit (RLIMIT_NOFILE), which the gRPC side needs
  // too. When it is reached, the oldest connection still sending its
  // request head is closed to make room: a probe sends its head at once, so
  // slow or idle clients can never keep it waiting.
  int max_connections = 1024;
  // From accept to the end of the request head, however slowly it trickles
  // in (slowloris); then 408 and close.
  absl::Duration read_timeout = absl::Seconds(5);
  // For the client to take the response.
  absl::Duration write_timeout = absl::Seconds(5);
  // Request line plus headers; more is 414 (line) or 431 (headers).
  size_t max_request_head_bytes = 8192;
};

// A minimal HTTP/1.1 server for probes and scrapes (/healthz, /readyz,
// /metrics) on its own thread, with one poll loop over non-blocking sockets.
// GET and HEAD only (else 405 with Allow), routes matched on the path with
// the query ignored (else 404), one request per connection answered with
// Content-Length and `Connection: close`, which is what Kubernetes probes and
// Prometheus expect.
class AdminServer {
 public:
  // `listen`: "127.0.0.1:9901", "0.0.0.0:9901", "[::1]:9901", ":9901" (every
  // interface; port 0 = any free port), or "unix:/path" (a stale socket file
  // is replaced, a live one is ALREADY_EXISTS). Binding errors are returned.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const std::string& listen, std::map<std::string, AdminHandler> get_routes,
      const AdminServerOptions& options = {});

  // Stops at once: open connections are closed, the thread joined, a unix
  // socket file removed.
  ~AdminServer();

  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  int port() const { return port_; }  // the bound TCP port; 0 for unix

 private:
  AdminServer(int listen_fd, int wake_fd, int port, std::string unix_path,
              std::map<std::string, AdminHandler> routes,
              const AdminServerOptions& options);

  const int listen_fd_;
  const int wake_fd_;  // an eventfd: the destructor's stop signal
  const int port_;
  const std::string unix_path_;
  const std::map<std::string, AdminHandler> routes_;
  const AdminServerOptions options_;
  std::thread thread_;
};

}  // namespace envelope

#endif  // GATEWAY_ADMIN_SERVER_H_
