#ifndef TESTS_ADMIN_CLIENT_H_
#define TESTS_ADMIN_CLIENT_H_

#include <chrono>
#include <string>

// Plain POSIX sockets, so the tests control every byte and every pause.
namespace envelope::admin_test {

// A connected blocking socket, or -1.
int ConnectTcp(int port);

bool SendAll(int fd, const std::string& data);

// Reads until the server closes or `timeout` passes, appending what came to
// `out` (unless null); true if the close (or an error) came first.
bool Drain(int fd, std::chrono::milliseconds timeout, std::string* out);

// Everything until the server closes, or what came before `timeout`. The
// default is for answers that should come at once: only a failing test
// waits that long, and a loaded machine can be seconds late.
std::string ReadUntilClosed(int fd, std::chrono::milliseconds timeout =
                                        std::chrono::milliseconds(30000));

// Whether the server closed the connection within `timeout` (reading and
// dropping what it sends).
bool ClosedWithin(int fd, std::chrono::milliseconds timeout);

// Connects, sends `request`, reads the whole response, closes.
std::string Exchange(int port, const std::string& request);

struct Response {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};
Response Parse(const std::string& raw);
// The value of header `name` (case-insensitive), "" if absent.
std::string Header(const Response& r, const std::string& name);

// One response on a connection that stays open (keep-alive): the head,
// then Content-Length bytes of body (none for a HEAD request). Status 0 if
// it did not come whole within `timeout`.
Response ReadResponse(
    int fd, bool head_request,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));

}  // namespace envelope::admin_test

#endif  // TESTS_ADMIN_CLIENT_H_
