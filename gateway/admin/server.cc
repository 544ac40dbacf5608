#include "gateway/admin/server.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "gateway/admin/http.h"
#include "gateway/admin/listen.h"

namespace envelope {
namespace {

using admin_internal::RequestHead;
using admin_internal::SerializeResponse;
using admin_internal::TextResponse;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 4096;
// After the response, how long the client gets to close its side; reading
// its leftovers meanwhile keeps the kernel from answering them with a reset
// that could destroy the response before the client read it.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr size_t kMaxLingerBytes = 64 * 1024;
// When accept fails for lack of descriptors or memory the listener stays
// readable; pausing it keeps the loop from spinning.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
// Accepts per turn of the loop, so that a flood of connections cannot keep
// the loop from serving the ones it has.
constexpr int kAcceptsPerTurn = 64;
// The smallest cap the descriptor limit may lower max_connections to.
constexpr size_t kMinConnections = 16;

// options.max_connections, but at most a quarter of the descriptors the
// process may open: the rest are the gRPC side's and the upstream's.
size_t ConnectionCap(int max_connections) {
  size_t cap = static_cast<size_t>(max_connections);
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY) {
    cap = std::min(cap, std::max<size_t>(kMinConnections, limit.rlim_cur / 4));
  }
  return cap;
}

struct Connection {
  enum class State { kReading, kWriting, kLingering, kDone };

  explicit Connection(int fd, Clock::time_point deadline)
      : fd(fd), deadline(deadline) {}
  ~Connection() { Close(); }

  // At once, not when the loop drops the connection: an evicted
  // connection's descriptor may be the one the next accept needs.
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
    state = State::kDone;
  }

  int fd;
  State state = State::kReading;
  Clock::time_point deadline;
  std::string in;
  std::string out;
  size_t sent = 0;
  size_t lingered = 0;
};

bool WouldBlock(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

class Loop {
 public:
  Loop(int listen_fd, int wake_fd,
       const std::map<std::string, AdminHandler>& routes,
       const AdminServerOptions& options)
      : listen_fd_(listen_fd),
        wake_fd_(wake_fd),
        routes_(routes),
        options_(options),
        max_connections_(ConnectionCap(options.max_connections)),
        read_timeout_(absl::ToChronoNanoseconds(options.read_timeout)),
        write_timeout_(absl::ToChronoNanoseconds(options.write_timeout)) {}

  // Until the wake descriptor becomes readable.
  void Run() {
    std::vector<pollfd> fds;
    while (true) {
      Clock::time_point now = Clock::now();
      const bool accepting = Accepting(now);
      fds.clear();
      fds.push_back({.fd = wake_fd_, .events = POLLIN, .revents = 0});
      fds.push_back(
          {.fd = accepting ? listen_fd_ : -1, .events = POLLIN, .revents = 0});
      for (const auto& c : conns_) {
        const short events =
            c->state == Connection::State::kWriting ? POLLOUT : POLLIN;
        fds.push_back({.fd = c->fd, .events = events, .revents = 0});
      }
      if (poll(fds.data(), fds.size(), TimeoutMs(now)) < 0) {
        if (errno != EINTR) std::this_thread::sleep_for(kAcceptBackoff);
        continue;
      }
      if (fds[0].revents != 0) return;
      now = Clock::now();
      // Connections accepted below are appended, so fds[i + 2] still
      // matches conns_[i] for the ones polled.
      const size_t polled = conns_.size();
      if (fds[1].revents != 0) Accept(now);
      for (size_t i = 0; i < polled; ++i) {
        if (fds[i + 2].revents != 0) OnReady(*conns_[i], now);
      }
      for (const auto& c : conns_) {
        if (c->state != Connection::State::kDone && now >= c->deadline) {
          OnTimeout(*c);
        }
      }
      std::erase_if(conns_, [](const std::unique_ptr<Connection>& c) {
        return c->state == Connection::State::kDone;
      });
    }
  }

 private:
  // Whether there is room for a connection, or one to make room by closing.
  bool Room() const { return conns_.size() < max_connections_ || AnyReading(); }

  bool AnyReading() const {
    return std::any_of(conns_.begin(), conns_.end(), [](const auto& c) {
      return c->state == Connection::State::kReading;
    });
  }

  bool Accepting(Clock::time_point now) const {
    return now >= accept_paused_until_ && Room();
  }

  // Closes the oldest connection that has not sent a whole request head
  // (conns_ is in accept order). A connection past its head is answered
  // within the write timeout and the linger, so it is left alone. False if
  // there is none.
  bool EvictOldestReading() {
    for (const auto& c : conns_) {
      if (c->state == Connection::State::kReading) {
        c->Close();
        return true;
      }
    }
    return false;
  }

  // Until the earliest deadline, rounded up so a wake-up is never early.
  int TimeoutMs(Clock::time_point now) const {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& c : conns_) next = std::min(next, c->deadline);
    if (accept_paused_until_ > now && Room()) {
      next = std::min(next, accept_paused_until_);
    }
    if (next == Clock::time_point::max()) return -1;
    if (next <= now) return 0;
    const auto ms =
        std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    return static_cast<int>(std::min<int64_t>(ms, 60'000));
  }

  // Called when the listener is readable. Closed connections stay in conns_
  // (kDone) until the end of the turn; `open` counts the others.
  void Accept(Clock::time_point now) {
    size_t open = conns_.size();
    for (int i = 0; i < kAcceptsPerTurn; ++i) {
      if (open >= max_connections_ && !AnyReading()) return;
      const int fd =
          accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        conns_.push_back(std::make_unique<Connection>(fd, now + read_timeout_));
        // Over the cap: an older reader goes, since the new one is last.
        if (++open > max_connections_ && EvictOldestReading()) --open;
        continue;
      }
      if (WouldBlock(errno)) return;
      // Out of descriptors: a slow client's is worth less than a new
      // connection, which may be a probe.
      if ((errno == EMFILE || errno == ENFILE) && EvictOldestReading()) {
        --open;
        continue;
      }
      // The peer gave up, or a network error Linux reports through accept:
      // that connection is gone, the next may be fine.
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO ||
          errno == ENETDOWN || errno == ENOPROTOOPT || errno == EHOSTDOWN ||
          errno == ENONET || errno == EHOSTUNREACH || errno == EOPNOTSUPP ||
          errno == ENETUNREACH) {
        continue;
      }
      accept_paused_until_ = now + kAcceptBackoff;  // EMFILE, ENOMEM, ...
      return;
    }
  }

  void OnReady(Connection& c, Clock::time_point now) {
    switch (c.state) {
      case Connection::State::kReading:
        return OnReadable(c, now);
      case Connection::State::kWriting:
        return OnWritable(c, now);
      case Connection::State::kLingering:
        return OnLinger(c);
      case Connection::State::kDone:
        return;
    }
  }

  void OnReadable(Connection& c, Clock::time_point now) {
    char buf[kReadChunk];
    while (true) {
      const ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        c.in.append(buf, n);
        RequestHead head = admin_internal::ParseRequestHead(
            c.in, options_.max_request_head_bytes);
        if (head.kind == RequestHead::Kind::kNeedMore) continue;
        c.in.clear();
        if (head.kind == RequestHead::Kind::kError) {
          return Respond(c, ErrorResponse(head.error_status), false, now);
        }
        return Respond(c, Dispatch(head), head.method == "HEAD", now);
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && WouldBlock(errno)) return;
      c.state = Connection::State::kDone;  // closed before a whole request
      return;
    }
  }

  static AdminResponse ErrorResponse(int status) {
    switch (status) {
      case 414:
        return TextResponse(status, "request line too long\n");
      case 431:
        return TextResponse(status, "request headers too large\n");
      case 505:
        return TextResponse(status, "HTTP/1.0 or HTTP/1.1 only\n");
      default:
        return TextResponse(status, "bad request\n");
    }
  }

  AdminResponse Dispatch(const RequestHead& head) const {
    if (head.method != "GET" && head.method != "HEAD") {
      return TextResponse(405, "GET or HEAD only\n");
    }
    const auto it = routes_.find(head.path);
    if (it == routes_.end() || !it->second) {
      return TextResponse(404, "not found\n");
    }
    // The project does not throw, but a handler is outside code (a
    // std::function may throw bad_function_call or bad_alloc): an exception
    // escaping this thread would terminate the whole gateway.
    try {
      return it->second();
    } catch (...) {
      return TextResponse(500, "handler failed\n");
    }
  }

  void Respond(Connection& c, const AdminResponse& response, bool head_only,
               Clock::time_point now) {
    c.out = SerializeResponse(response, head_only);
    c.sent = 0;
    c.state = Connection::State::kWriting;
    c.deadline = now + write_timeout_;
    OnWritable(c, now);
  }

  void OnWritable(Connection& c, Clock::time_point now) {
    while (c.sent < c.out.size()) {
      // MSG_NOSIGNAL: a client gone away is EPIPE here, not a SIGPIPE that
      // would kill the process.
      const ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent,
                             MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && WouldBlock(errno)) return;
      c.state = Connection::State::kDone;
      return;
    }
    c.out = std::string();
    shutdown(c.fd, SHUT_WR);
    c.state = Connection::State::kLingering;
    c.deadline = now + kLingerTime;
  }

  void OnLinger(Connection& c) {
    char buf[kReadChunk];
    while (true) {
      const ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        c.lingered += n;
        if (c.lingered > kMaxLingerBytes) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && WouldBlock(errno)) return;
      break;  // the client closed: done
    }
    c.state = Connection::State::kDone;
  }

  void OnTimeout(Connection& c) {
    if (c.state == Connection::State::kReading && !c.in.empty()) {
      // Best effort, one try: a client this slow gets no more of our time.
      const std::string out =
          SerializeResponse(TextResponse(408, "request timeout\n"), false);
      (void)send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    }
    c.state = Connection::State::kDone;
  }

  const int listen_fd_;
  const int wake_fd_;
  const std::map<std::string, AdminHandler>& routes_;
  const AdminServerOptions& options_;
  const size_t max_connections_;
  const Clock::duration read_timeout_;
  const Clock::duration write_timeout_;
  Clock::time_point accept_paused_until_;
  std::vector<std::unique_ptr<Connection>> conns_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const std::string& listen, std::map<std::string, AdminHandler> get_routes,
    const AdminServerOptions& options) {
  if (options.max_connections < 1 || options.max_request_head_bytes < 64 ||
      options.read_timeout <= absl::ZeroDuration() ||
      options.write_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("admin server: invalid options");
  }
  absl::StatusOr<admin_internal::ListeningSocket> socket =
      admin_internal::Listen(listen);
  if (!socket.ok()) return socket.status();
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const int error = errno;
    close(socket->fd);
    if (!socket->unix_path.empty()) unlink(socket->unix_path.c_str());
    return absl::ErrnoToStatus(error, "admin server: eventfd");
  }
  auto server = absl::WrapUnique(
      new AdminServer(socket->fd, wake_fd, socket->port, socket->unix_path,
                      std::move(get_routes), options));
  // std::thread reports failure (no threads left) only by throwing.
  try {
    AdminServer* s = server.get();
    server->thread_ = std::thread([s] {
      Loop(s->listen_fd_, s->wake_fd_, s->routes_, s->options_).Run();
    });
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("admin server: no thread: ", e.what()));
  }
  return server;
}

AdminServer::AdminServer(int listen_fd, int wake_fd, int port,
                         std::string unix_path,
                         std::map<std::string, AdminHandler> routes,
                         const AdminServerOptions& options)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port),
      unix_path_(std::move(unix_path)),
      routes_(std::move(routes)),
      options_(options) {}

AdminServer::~AdminServer() {
  const uint64_t one = 1;
  (void)write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(wake_fd_);
  if (!unix_path_.empty()) unlink(unix_path_.c_str());
}

}  // namespace envelope
