#ifndef GATEWAY_ADMIN_HTTP_H_
#define GATEWAY_ADMIN_HTTP_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "gateway/admin/server.h"

// The HTTP/1.1 pieces of the admin server, without sockets.
namespace envelope::admin_internal {

struct RequestHead {
  enum class Kind {
    kNeedMore,  // no complete head yet, and within the size limit
    kRequest,   // method and path are set
    kError,     // answer `error_status` and close
  };
  Kind kind = Kind::kNeedMore;
  int error_status = 0;
  std::string method;
  std::string path;  // decoded from the target: no query, no fragment
};

// Reads the request line and headers from the start of `buffer` (bytes
// received so far). Bare LF line ends are accepted, as RFC 9112 allows.
// Errors: 400 malformed, 414 request line longer than `max_head_bytes`, 431
// head longer than that, 505 an HTTP version other than 1.0 or 1.1.
RequestHead ParseRequestHead(absl::string_view buffer, size_t max_head_bytes);

// The whole response: status line, Content-Type, Content-Length,
// Cache-Control: no-store, Connection: close, `Allow: GET, HEAD` for 405,
// then the body unless `head_only` (Content-Length still the body's). A
// status outside 200..599 becomes 500; a content type with a line break is
// replaced by the default.
std::string SerializeResponse(const AdminResponse& response, bool head_only);

// A small plain-text response, e.g. 404 "not found\n".
AdminResponse TextResponse(int status, absl::string_view body);

}  // namespace envelope::admin_internal

#endif  // GATEWAY_ADMIN_HTTP_H_
