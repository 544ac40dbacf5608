#ifndef GATEWAY_CREDENTIALS_HTTP_FETCH_H_
#define GATEWAY_CREDENTIALS_HTTP_FETCH_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace envelope::credentials_internal {

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  absl::Duration timeout = absl::Seconds(5);
  // The metadata service is link-local to the instance: a proxy from the
  // environment (http_proxy) cannot reach it.
  bool use_proxy = true;
};

struct HttpResponse {
  long status = 0;
  std::string body;
};

// One blocking exchange (libcurl easy). For refresh threads only, never the
// request path. Returns the answer whatever its HTTP status; a transport
// failure is UNAVAILABLE naming the method and URL; when `cancel` turns true
// (shutdown) the transfer stops within about a second, CANCELLED.
absl::StatusOr<HttpResponse> HttpFetch(const HttpRequest& request,
                                       const std::atomic<bool>& cancel);

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_HTTP_FETCH_H_
