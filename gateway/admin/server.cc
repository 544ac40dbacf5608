#include "gateway/admin/server.h"

#include <civetweb.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"

namespace envelope {
namespace {

// Room for a burst of connections while every worker is busy: a probe's SYN
// dropped from a full queue is retried only after a second. The kernel
// lowers it to net.core.somaxconn.
constexpr int kListenBacklog = 1024;
// Accepted connections waiting for a worker (CivetWeb's connection_queue).
constexpr int kConnectionQueue = 64;
constexpr int kMaxThreads = 2048;

AdminResponse Text(int status, absl::string_view body) {
  AdminResponse response;
  response.status = status;
  response.body = std::string(body);
  return response;
}

// "host:port" or ":port" as CivetWeb's listening_ports wants it ("port"
// alone is every IPv4 interface), or INVALID_ARGUMENT. CivetWeb would read
// a comma as a second port and a trailing 's' or 'r' as TLS or a redirect,
// so only a plain host name or IPv4 address and digits pass.
absl::StatusOr<std::string> ListeningPort(const std::string& address) {
  const auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin listen ", address, ": ", why));
  };
  if (absl::StartsWith(address, "unix:")) {
    return invalid(
        "unix sockets are not supported: Debian builds CivetWeb 1.15 "
        "without them; use host:port");
  }
  if (absl::StartsWith(address, "[")) {
    return invalid(
        "IPv6 is not supported: Debian builds CivetWeb 1.15 without it; "
        "use an IPv4 address");
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return invalid("expected host:port or :port");
  const absl::string_view host = absl::string_view(address).substr(0, colon);
  const absl::string_view port_text =
      absl::string_view(address).substr(colon + 1);
  int port = 0;
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(),
                   [](char c) { return absl::ascii_isdigit(c); }) ||
      !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return invalid("expected a port number from 0 to 65535");
  }
  for (char c : host) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-') {
      return invalid("expected a host name or an IPv4 address");
    }
  }
  if (host.empty()) return std::string(port_text);
  return absl::StrCat(host, ":", port);
}

// The host a connection to the server itself goes to.
std::string WakeHost(const std::string& address) {
  const std::string host = address.substr(0, address.rfind(':'));
  return host.empty() || host == "0.0.0.0" ? "127.0.0.1" : host;
}

}  // namespace

struct AdminServer::State {
  std::map<std::string, AdminHandler> routes;
  std::function<void(absl::string_view)> log;

  AdminResponse Dispatch(absl::string_view method, const char* path) const {
    if (method != "GET" && method != "HEAD") {
      return Text(405, "GET or HEAD only\n");
    }
    const auto it = routes.find(path == nullptr ? "" : path);
    if (it == routes.end() || !it->second) return Text(404, "not found\n");
    // A handler is outside code (a std::function may throw bad_alloc): an
    // exception must not unwind through CivetWeb's C frames.
    try {
      return it->second();
    } catch (...) {
      return Text(500, "handler failed\n");
    }
  }
};

namespace {

// Every request: CivetWeb serves no file (there is no document_root) and
// does nothing after this returns non-zero.
int BeginRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const auto* state = static_cast<const AdminServer::State*>(
      mg_get_user_data(mg_get_context(conn)));
  const absl::string_view method =
      info->request_method == nullptr ? "" : info->request_method;
  // local_uri: decoded, without the query.
  AdminResponse response = state->Dispatch(method, info->local_uri);
  if (response.status < 200 || response.status > 599) response.status = 500;
  if (response.content_type.empty() ||
      absl::StrContains(response.content_type, '\n') ||
      absl::StrContains(response.content_type, '\r')) {
    response.content_type = "text/plain; charset=utf-8";
  }
  const std::string length = absl::StrCat(response.body.size());
  // mg_response_header_send adds Connection: keep-alive or close, as
  // CivetWeb decided for this request (HTTP version, the client's header).
  mg_response_header_start(conn, response.status);
  mg_response_header_add(conn, "Content-Type", response.content_type.c_str(),
                         -1);
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  mg_response_header_add(conn, "Cache-Control", "no-store", -1);
  if (response.status == 405) {
    mg_response_header_add(conn, "Allow", "GET, HEAD", -1);
  }
  mg_response_header_send(conn);
  if (method != "HEAD" && !response.body.empty()) {
    mg_write(conn, response.body.data(), response.body.size());
  }
  return response.status;
}

int LogMessage(const mg_connection* conn, const char* message) {
  const auto* state = static_cast<const AdminServer::State*>(
      mg_get_user_data(mg_get_context(conn)));
  if (state != nullptr && state->log && message != nullptr) {
    state->log(absl::StripTrailingAsciiWhitespace(message));
  }
  return 1;  // handled: CivetWeb writes nothing to stderr itself
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const std::string& listen, std::map<std::string, AdminHandler> get_routes,
    AdminServerOptions options) {
  if (options.threads < 1 || options.threads > kMaxThreads ||
      options.max_request_head_bytes < 1024 ||
      options.request_timeout < absl::Milliseconds(1) ||
      options.keep_alive_timeout < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("admin server: invalid options");
  }
  absl::StatusOr<std::string> port = ListeningPort(listen);
  if (!port.ok()) return port.status();

  // Once per process, before the first context (civetweb.h).
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });

  auto state = std::make_unique<State>();
  state->routes = std::move(get_routes);
  state->log = std::move(options.log);
  const std::string threads = absl::StrCat(options.threads);
  const std::string request_ms =
      absl::StrCat(absl::ToInt64Milliseconds(options.request_timeout));
  const std::string keep_alive_ms =
      absl::StrCat(absl::ToInt64Milliseconds(options.keep_alive_timeout));
  const std::string head_bytes = absl::StrCat(options.max_request_head_bytes);
  const std::string queue = absl::StrCat(kConnectionQueue);
  const std::string backlog = absl::StrCat(kListenBacklog);
  const char* config[] = {
      "listening_ports", port->c_str(), "num_threads", threads.c_str(),
      "connection_queue", queue.c_str(), "listen_backlog", backlog.c_str(),
      "request_timeout_ms", request_ms.c_str(), "enable_keep_alive", "yes",
      "keep_alive_timeout_ms", keep_alive_ms.c_str(), "max_request_size",
      head_bytes.c_str(),
      // Small answers on a kept-alive connection: no
      // wait for the previous one's ACK.
      "tcp_nodelay", "1", "enable_directory_listing", "no", nullptr};
  mg_callbacks callbacks = {};
  callbacks.begin_request = BeginRequest;
  callbacks.log_message = LogMessage;
  mg_init_data init_data = {};
  init_data.callbacks = &callbacks;
  init_data.user_data = state.get();
  init_data.configuration_options = config;
  unsigned error_code = 0;
  char error_text[256] = "";
  mg_error_data error = {};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  // C code, but a C++ exception from the callbacks' std::function copies
  // is not impossible: nothing may escape into the caller's start-up.
  mg_context* context = nullptr;
  try {
    context = mg_start2(&init_data, &error);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("admin listen ", listen, ": ", e.what()));
  }
  if (context == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("admin listen ", listen, ": ",
                     error_text[0] != '\0' ? error_text : "CivetWeb failed"));
  }
  std::unique_ptr<AdminServer> server(new AdminServer(std::move(state)));
  server->context_ = context;
  server->wake_host_ = WakeHost(listen);
  mg_server_port ports[1] = {};
  if (mg_get_server_ports(context, 1, ports) == 1) {
    server->port_ = ports[0].port;
  }
  return server;
}

AdminServer::AdminServer(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

void AdminServer::WakeUp() const {
  addrinfo hints = {};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = absl::StrCat(port_);
  if (getaddrinfo(wake_host_.c_str(), port.c_str(), &hints, &found) != 0) {
    return;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    (void)connect(fd, found->ai_addr, found->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(found);
}

AdminServer::~AdminServer() {
  if (context_ == nullptr) return;
  // mg_stop sets CivetWeb's stop flag and joins its threads; the master
  // thread notices the flag only when its poll of the listening socket
  // returns, which without a connection is after up to 2 s (measured with
  // 1.15). Connections of our own wake it, so that the gateway's shutdown
  // (docs/operations.md, "Drain and shutdown") is not held up.
  absl::Notification stopped;
  std::thread stopper;
  try {
    stopper = std::thread([this, &stopped] {
      mg_stop(context_);
      stopped.Notify();
    });
  } catch (const std::system_error&) {
    mg_stop(context_);  // no thread left: stop the slow way
    return;
  }
  while (!stopped.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
    WakeUp();
  }
  stopper.join();
}

}  // namespace envelope
