#include "tests/admin/client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace envelope::admin_test {

int ConnectTcp(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n =
        send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += n;
  }
  return true;
}

bool Drain(int fd, std::chrono::milliseconds timeout, std::string* out) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return true;
    if (out != nullptr) out->append(buf, n);
  }
}

std::string ReadUntilClosed(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  Drain(fd, timeout, &out);
  return out;
}

bool ClosedWithin(int fd, std::chrono::milliseconds timeout) {
  return Drain(fd, timeout, nullptr);
}

std::string Exchange(int port, const std::string& request) {
  const int fd = ConnectTcp(port);
  if (fd < 0) return "";
  SendAll(fd, request);
  std::string out = ReadUntilClosed(fd);
  close(fd);
  return out;
}

Response Parse(const std::string& raw) {
  Response r;
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  r.head = raw.substr(0, end + 2);
  r.body = raw.substr(end + 4);
  const std::vector<std::string> status_line =
      absl::StrSplit(raw.substr(0, raw.find("\r\n")), ' ');
  if (status_line.size() >= 2)
    (void)absl::SimpleAtoi(status_line[1], &r.status);
  return r;
}

std::string Header(const Response& r, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(r.head, "\r\n")) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    if (absl::EqualsIgnoreCase(line.substr(0, colon), name)) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "";
}

Response ReadResponse(int fd, bool head_request,
                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string raw;
  char buf[65536];
  while (true) {
    const size_t end = raw.find("\r\n\r\n");
    if (end != std::string::npos) {
      Response r = Parse(raw);
      size_t length = 0;
      if (!head_request &&
          !absl::SimpleAtoi(Header(r, "Content-Length"), &length)) {
        return Response();
      }
      if (r.body.size() >= length) {
        r.body.resize(length);
        return r;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Response();
    pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return Response();
    raw.append(buf, n);
  }
}

}  // namespace envelope::admin_test
