#ifndef GATEWAY_UPSTREAM_HTTP_CLIENT_H_
#define GATEWAY_UPSTREAM_HTTP_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace envelope {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent with POST
  absl::Duration timeout = absl::Seconds(30);
  size_t max_response_bytes = 16 << 20;
};

struct HttpResponse {
  // OK when an HTTP answer arrived (whatever its status); otherwise the
  // transport fault as a gRPC status (SPEC §4, "no envelope").
  absl::Status transport;
  long status = 0;
  std::string body;
};

// Asynchronous HTTP over libcurl's multi interface, driven by one I/O thread:
// no thread per call, connections reused across calls.
class HttpClient {
 public:
  using Callback = absl::AnyInvocable<void(HttpResponse) &&>;

  HttpClient();
  // Stops the I/O thread; transfers still running end with UNAVAILABLE.
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a POST. `done` runs exactly once, on the I/O thread: keep it short.
  void Send(HttpRequest request, Callback done);

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace envelope

#endif  // GATEWAY_UPSTREAM_HTTP_CLIENT_H_
