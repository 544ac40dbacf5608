#include "gateway/admin/listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace envelope::admin_internal {
namespace {

// Room for a burst of connections between two turns of the admin loop: a
// probe's SYN dropped from a full queue is retried only after a second.
// The kernel lowers it to net.core.somaxconn.
constexpr int kBacklog = 1024;

absl::Status Errno(absl::string_view what, const std::string& address,
                   int error) {
  return absl::ErrnoToStatus(
      error, absl::StrCat("admin listen ", address, ": ", what));
}

absl::StatusOr<ListeningSocket> ListenUnix(const std::string& address,
                                           const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin listen ", address, ": a unix socket path of 1 to ",
                     sizeof(addr.sun_path) - 1, " bytes"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket", address, errno);

  // A socket file left by a previous run (killed, so it could not remove
  // it) would make bind fail; one somebody still accepts on is left alone.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 &&
        connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (probe >= 0) close(probe);
    if (live) {
      close(fd);
      return absl::AlreadyExistsError(absl::StrCat(
          "admin listen ", address, ": another process listens there"));
    }
    unlink(path.c_str());
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int error = errno;
    close(fd);
    return Errno("bind", address, error);
  }
  if (listen(fd, kBacklog) != 0) {
    const int error = errno;
    close(fd);
    unlink(path.c_str());
    return Errno("listen", address, error);
  }
  return ListeningSocket{.fd = fd, .port = 0, .unix_path = path};
}

int PortOf(int fd) {
  sockaddr_storage addr = {};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 0;
  }
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  }
  return 0;
}

absl::StatusOr<ListeningSocket> ListenTcp(const std::string& address) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("admin listen ", address,
                     ": expected host:port, [v6]:port, :port or unix:/path"));
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return invalid();
  absl::string_view host = absl::string_view(address).substr(0, colon);
  const absl::string_view port_text =
      absl::string_view(address).substr(colon + 1);
  int port = 0;
  for (char c : port_text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return invalid();
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return invalid();
  }
  if (absl::ConsumePrefix(&host, "[")) {
    if (!absl::ConsumeSuffix(&host, "]")) return invalid();
  } else if (absl::StrContains(host, ':')) {
    return invalid();  // an IPv6 address needs its brackets
  }
  const std::string host_str(host);
  const std::string port_str(port_text);

  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int gai = getaddrinfo(host_str.empty() ? nullptr : host_str.c_str(),
                              port_str.c_str(), &hints, &found);
  if (gai != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin listen ", address, ": ", gai_strerror(gai)));
  }
  // The first address that binds wins (a host name may resolve to several).
  absl::Status last = absl::UnavailableError("no address");
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);
    if (fd < 0) {
      last = Errno("socket", address, errno);
      continue;
    }
    // A restarted gateway must rebind at once despite TIME_WAIT leftovers.
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last = Errno("bind", address, errno);
      close(fd);
      continue;
    }
    if (listen(fd, kBacklog) != 0) {
      last = Errno("listen", address, errno);
      close(fd);
      continue;
    }
    freeaddrinfo(found);
    return ListeningSocket{.fd = fd, .port = PortOf(fd), .unix_path = ""};
  }
  freeaddrinfo(found);
  return last;
}

}  // namespace

absl::StatusOr<ListeningSocket> Listen(const std::string& address) {
  absl::string_view rest = address;
  if (absl::ConsumePrefix(&rest, "unix:")) {
    return ListenUnix(address, std::string(rest));
  }
  return ListenTcp(address);
}

}  // namespace envelope::admin_internal
