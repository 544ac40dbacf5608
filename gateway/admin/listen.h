#ifndef GATEWAY_ADMIN_LISTEN_H_
#define GATEWAY_ADMIN_LISTEN_H_

#include <string>

#include "absl/status/statusor.h"

namespace envelope::admin_internal {

struct ListeningSocket {
  int fd = -1;            // non-blocking, close-on-exec, listening
  int port = 0;           // the bound TCP port; 0 for unix
  std::string unix_path;  // to remove at shutdown; empty for TCP
};

// Binds and listens on "host:port", "[v6]:port", ":port" (every interface)
// or "unix:/path". INVALID_ARGUMENT for a malformed address, else the
// failing call's errno as a status.
absl::StatusOr<ListeningSocket> Listen(const std::string& address);

}  // namespace envelope::admin_internal

#endif  // GATEWAY_ADMIN_LISTEN_H_
