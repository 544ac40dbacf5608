#include "gateway/admin/server.h"

#include <curl/curl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/admin/client.h"

namespace envelope {
namespace {

using admin_test::ClosedWithin;
using admin_test::ConnectTcp;
using admin_test::Drain;
using admin_test::Exchange;
using admin_test::Header;
using admin_test::Parse;
using admin_test::ReadResponse;
using admin_test::ReadUntilClosed;
using admin_test::Response;
using admin_test::SendAll;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

std::map<std::string, AdminHandler> Routes() {
  return {
      {"/healthz", [] { return AdminResponse{.body = "ok\n"}; }},
      {"/readyz",
       [] {
         return AdminResponse{.status = 503, .body = "not ready: creds\n"};
       }},
      {"/metrics",
       [] {
         return AdminResponse{
             .content_type = "text/plain; version=0.0.4; charset=utf-8",
             .body = "# TYPE up gauge\nup 1\n"};
       }},
  };
}

std::unique_ptr<AdminServer> StartOrDie(
    const std::string& listen = "127.0.0.1:0",
    std::map<std::string, AdminHandler> routes = Routes(),
    const AdminServerOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<AdminServer>> server =
      AdminServer::Start(listen, std::move(routes), options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// A server that gives each request `timeout` to send its head.
std::unique_ptr<AdminServer> StartWithRequestTimeout(absl::Duration timeout) {
  AdminServerOptions options;
  options.request_timeout = timeout;
  return StartOrDie("127.0.0.1:0", Routes(), options);
}

// One request on a connection of its own, which the server closes after.
Response Get(int port, const std::string& path,
             const std::string& method = "GET") {
  return Parse(Exchange(port, absl::StrCat(method, " ", path,
                                           " HTTP/1.1\r\nHost: x\r\n"
                                           "Connection: close\r\n\r\n")));
}

TEST(AdminServerTest, PortZeroPicksAPort) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
}

TEST(AdminServerTest, RoutesAnswer) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  Response r = Get(server->port(), "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(Header(r, "Content-Length"), "3");
  EXPECT_EQ(Header(r, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(Header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(Header(r, "Connection"), "close");  // as the client asked

  r = Get(server->port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: creds\n");

  r = Get(server->port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Header(r, "Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, "# TYPE up gauge\nup 1\n");
}

// Keep-alive (the hand-made server closed every connection): a scraper or
// a probe script may send its requests on one connection.
TEST(AdminServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  const int fd = ConnectTcp(server->port());
  ASSERT_GE(fd, 0);
  for (const auto& [path, status] :
       std::vector<std::pair<std::string, int>>{{"/healthz", 200},
                                                {"/readyz", 503},
                                                {"/nope", 404},
                                                {"/metrics", 200}}) {
    ASSERT_TRUE(SendAll(
        fd, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n")));
    Response r = ReadResponse(fd, false);
    EXPECT_EQ(r.status, status) << path;
    EXPECT_EQ(Header(r, "Connection"), "keep-alive") << path;
  }
  // Two requests sent at once (pipelined) are answered in order; the
  // second asks to close.
  ASSERT_TRUE(SendAll(fd,
                      "HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\n\r\n"));
  const std::string both = ReadUntilClosed(fd);
  close(fd);
  const size_t second = both.find("HTTP/1.1 200");
  ASSERT_NE(second, std::string::npos) << both;
  EXPECT_EQ(Parse(both.substr(0, second)).status, 503);
  const Response r = Parse(both.substr(second));
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(Header(r, "Connection"), "close");
}

TEST(AdminServerTest, IdleKeptAliveConnectionIsClosedAtItsTimeout) {
  AdminServerOptions options;
  options.keep_alive_timeout = absl::Milliseconds(200);
  auto server = StartOrDie("127.0.0.1:0", Routes(), options);
  ASSERT_NE(server, nullptr);
  const int fd = ConnectTcp(server->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(ReadResponse(fd, false).status, 200);
  std::string more;
  EXPECT_TRUE(Drain(fd, milliseconds(30000), &more));  // closed...
  EXPECT_EQ(more, "");                                 // ...silently
  close(fd);
}

TEST(AdminServerTest, QueryIgnoredHttp10Accepted) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Get(server->port(), "/healthz?verbose=1&x").status, 200);
  // HTTP/1.0 without keep-alive: the server closes after the answer, which
  // is what a probe written as `exec 3<>/dev/tcp/...` reads until.
  Response r = Parse(Exchange(server->port(), "GET /healthz HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST(AdminServerTest, UnknownPathIs404) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (const char* path : {"/", "/healthz/", "/HEALTHZ", "/nope"}) {
    Response r = Get(server->port(), path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(Header(r, "Content-Length"), absl::StrCat(r.body.size()));
  }
}

TEST(AdminServerTest, OtherMethodsAre405WithAllow) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    Response r = Get(server->port(), "/healthz", method);
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(Header(r, "Allow"), "GET, HEAD");
  }
  // A body the server never reads still lets the client see the answer.
  Response r = Parse(
      Exchange(server->port(),
               absl::StrCat("POST /healthz HTTP/1.1\r\nConnection: close\r\n"
                            "Content-Length: 200000\r\n\r\n",
                            std::string(200000, 'x'))));
  EXPECT_EQ(r.status, 405);
}

TEST(AdminServerTest, HeadHasLengthButNoBody) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  const std::string raw =
      Exchange(server->port(),
               "HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  Response r = Parse(raw);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r, "Content-Length"), "17");
  EXPECT_EQ(r.body, "");
  EXPECT_TRUE(raw.ends_with("\r\n\r\n"));
}

TEST(AdminServerTest, OversizedHeadIsRefused) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  Response r = Parse(Exchange(
      server->port(), absl::StrCat("GET /healthz HTTP/1.1\r\nX-Big: ",
                                   std::string(10000, 'a'), "\r\n\r\n")));
  EXPECT_GE(r.status, 400);
  EXPECT_LT(r.status, 500);
  // An endless header: refused without waiting for its end (nor for the
  // request timeout).
  const int fd = ConnectTcp(server->port());
  ASSERT_GE(fd, 0);
  SendAll(fd, "GET /healthz HTTP/1.1\r\nX: ");
  for (int i = 0; i < 20; ++i) {
    if (!SendAll(fd, std::string(1000, 'a'))) break;
  }
  const Clock::time_point start = Clock::now();
  EXPECT_TRUE(ClosedWithin(fd, milliseconds(30000)));
  EXPECT_LT(Clock::now() - start, milliseconds(4000));
  close(fd);
}

TEST(AdminServerTest, MalformedRequestsAreRefused) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (const std::string& junk :
       {std::string("hello\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\r\n\r\n", 9)}) {
    const int fd = ConnectTcp(server->port());
    ASSERT_GE(fd, 0);
    SendAll(fd, junk);
    const std::string raw = ReadUntilClosed(fd);
    close(fd);
    // An error status, or a plain close: never a route's answer.
    const Response r = Parse(raw);
    EXPECT_TRUE(raw.empty() || r.status >= 400) << raw;
  }
  EXPECT_EQ(Get(server->port(), "/healthz").status, 200);
}

TEST(AdminServerTest, SlowClientDoesNotBlockOthers) {
  auto server = StartWithRequestTimeout(absl::Seconds(60));
  ASSERT_NE(server, nullptr);
  const int slow = ConnectTcp(server->port());
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(SendAll(slow, "GET /heal"));
  // Answered while the slow request is pending: a server that waited for
  // it would answer only after its 60 s deadline, long after Get gives up.
  EXPECT_EQ(Get(server->port(), "/healthz").status, 200);
  close(slow);
}

TEST(AdminServerTest, TricklingClientIsCutOffAtItsDeadline) {
  auto server = StartWithRequestTimeout(absl::Seconds(1));
  ASSERT_NE(server, nullptr);
  const int slow = ConnectTcp(server->port());
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(SendAll(slow, "GET /heal"));
  // A byte every 200 ms until the server gives up: a timeout that each byte
  // renewed would never come.
  const Clock::time_point start = Clock::now();
  std::string rest;
  while (!Drain(slow, milliseconds(200), &rest) &&
         Clock::now() - start < milliseconds(60000)) {
    SendAll(slow, "t");
  }
  EXPECT_LT(Clock::now() - start, milliseconds(10000));
  EXPECT_EQ(rest.find("200 OK"), std::string::npos);
  close(slow);
}

TEST(AdminServerTest, SilentConnectionIsClosedAtTheRequestTimeout) {
  auto server = StartWithRequestTimeout(absl::Milliseconds(300));
  ASSERT_NE(server, nullptr);
  const int fd = ConnectTcp(server->port());
  ASSERT_GE(fd, 0);
  std::string got;
  EXPECT_TRUE(Drain(fd, milliseconds(30000), &got));  // closed...
  EXPECT_EQ(got, "");                                 // ...silently
  close(fd);
}

// The send/recv pacing of the slowloris test: waits on the sockets (a
// server that closes one wakes the wait) for at most `timeout`; returns
// how many were closed by the server.
int PollClosed(std::vector<int>& fds, milliseconds timeout) {
  std::vector<pollfd> polled;
  for (int fd : fds) polled.push_back({.fd = fd, .events = POLLIN});
  if (poll(polled.data(), polled.size(), timeout.count()) <= 0) return 0;
  int closed = 0;
  for (size_t i = 0; i < polled.size(); ++i) {
    if (polled[i].revents != 0 && fds[i] >= 0) {
      close(fds[i]);
      fds[i] = -1;
      ++closed;
    }
  }
  return closed;
}

// Slowloris (docs/operations.md, "Callers that misbehave"): 300 clients
// hold connections and trickle their request heads a byte at a time, while
// probes keep coming, each on a fresh connection as the kubelet makes them.
// With the gateway's settings (AdminServerOptions' defaults) every probe is
// answered 200 within 1 s.
TEST(AdminServerTest, ProbesAnsweredWithinOneSecondWhile300ClientsTrickle) {
  auto routes = Routes();
  routes["/readyz"] = [] { return AdminResponse{.body = "ready\n"}; };
  auto server = StartOrDie("127.0.0.1:0", routes);
  ASSERT_NE(server, nullptr);
  std::vector<int> slow;
  for (int i = 0; i < 300; ++i) {
    slow.push_back(ConnectTcp(server->port()));
    ASSERT_GE(slow.back(), 0) << i;
    ASSERT_TRUE(SendAll(slow.back(), "GET /healthz HTTP/1.1\r\nX-Slow: "));
  }
  int closed = 0;
  milliseconds slowest(0);
  // About 2 s of rounds (the request timeout is 5 s: every slow client
  // stays connected, holding a worker, throughout).
  for (int round = 0; round < 20; ++round) {
    for (int fd : slow) {
      if (fd >= 0) SendAll(fd, "a");
    }
    const Clock::time_point start = Clock::now();
    const int probe = ConnectTcp(server->port());
    ASSERT_GE(probe, 0);
    const std::string path = round % 2 ? "/healthz" : "/readyz";
    ASSERT_TRUE(SendAll(
        probe, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n")));
    const Response r = ReadResponse(probe, false, milliseconds(1000));
    const auto took =
        std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    close(probe);
    EXPECT_EQ(r.status, 200) << path << " in round " << round;
    EXPECT_LT(took, milliseconds(1000)) << path << " in round " << round;
    slowest = std::max(slowest, took);
    closed += PollClosed(slow, milliseconds(100));
  }
  // The slow clients were held all along: the probes did not get through
  // because the server had dropped them.
  EXPECT_EQ(closed, 0);
  std::cerr << "slowest probe: " << slowest.count() << " ms\n";
  for (int fd : slow) {
    if (fd >= 0) close(fd);
  }
}

// The limit of CivetWeb's thread per connection: when slow clients hold
// every worker, a new connection waits until the request timeout frees
// one. The gateway's 400 workers keep that out of reach of 300.
TEST(AdminServerTest, AllWorkersHeldDelaysProbesUntilTheRequestTimeout) {
  AdminServerOptions options;
  options.threads = 2;
  options.request_timeout = absl::Milliseconds(500);
  auto server = StartOrDie("127.0.0.1:0", Routes(), options);
  ASSERT_NE(server, nullptr);
  std::vector<int> slow;
  for (int i = 0; i < 2; ++i) {
    slow.push_back(ConnectTcp(server->port()));
    ASSERT_GE(slow.back(), 0);
    ASSERT_TRUE(SendAll(slow.back(), "GET /heal"));
  }
  const Clock::time_point start = Clock::now();
  EXPECT_EQ(Get(server->port(), "/healthz").status, 200);
  EXPECT_GE(Clock::now() - start, milliseconds(200));
  for (int fd : slow) close(fd);
}

TEST(AdminServerTest, ConcurrentProbes) {
  std::atomic<int> calls{0};
  auto routes = Routes();
  routes["/count"] = [&] {
    ++calls;
    return AdminResponse{.body = "counted\n"};
  };
  auto server = StartOrDie("127.0.0.1:0", routes);
  ASSERT_NE(server, nullptr);
  constexpr int kThreads = 24;
  constexpr int kEach = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        Response r = Get(server->port(), "/count");
        if (r.status == 200 && r.body == "counted\n") ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  EXPECT_EQ(calls.load(), kThreads * kEach);
}

TEST(AdminServerTest, LargeBodyIsWrittenWhole) {
  const std::string big(3 << 20, 'm');
  auto routes = Routes();
  routes["/big"] = [&] { return AdminResponse{.body = big}; };
  auto server = StartOrDie("127.0.0.1:0", routes);
  ASSERT_NE(server, nullptr);
  Response r = Get(server->port(), "/big");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), big.size());
  EXPECT_EQ(r.body, big);
}

TEST(AdminServerTest, ClientVanishingMidResponseIsHarmless) {
  const std::string big(8 << 20, 'm');
  auto routes = Routes();
  routes["/big"] = [&] { return AdminResponse{.body = big}; };
  auto server = StartOrDie("127.0.0.1:0", routes);
  ASSERT_NE(server, nullptr);
  for (int i = 0; i < 5; ++i) {
    const int fd = ConnectTcp(server->port());
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /big HTTP/1.1\r\n\r\n");
    char buf[100];
    (void)recv(fd, buf, sizeof(buf), 0);
    close(fd);  // with the rest unread: a reset, then EPIPE, no SIGPIPE
  }
  EXPECT_EQ(Get(server->port(), "/healthz").status, 200);
}

TEST(AdminServerTest, HandlerExceptionIs500) {
  auto routes = Routes();
  routes["/throws"] = []() -> AdminResponse {
    throw std::runtime_error("boom");
  };
  routes["/empty"] = AdminHandler();
  auto server = StartOrDie("127.0.0.1:0", routes);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Get(server->port(), "/throws").status, 500);
  EXPECT_EQ(Get(server->port(), "/empty").status, 404);
  EXPECT_EQ(Get(server->port(), "/healthz").status, 200);
}

TEST(AdminServerTest, BadAddresses) {
  for (const char* bad :
       {"", "9901", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999",
        "127.0.0.1:-1", "::1:9901", "127.0.0.1:80,127.0.0.1:81",
        "127.0.0.1:443s", "127.0.0.1:80r", "host name:80"}) {
    EXPECT_EQ(AdminServer::Start(bad, Routes()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_FALSE(AdminServer::Start("no.such.host.invalid:0", Routes()).ok());
  AdminServerOptions options;
  options.threads = 0;
  EXPECT_EQ(
      AdminServer::Start("127.0.0.1:0", Routes(), options).status().code(),
      absl::StatusCode::kInvalidArgument);
}

// What Debian's CivetWeb 1.15 cannot do is refused at start-up, saying why
// (docs/configuration.md, admin_listen).
TEST(AdminServerTest, UnixSocketsAndIpv6AreRefusedSayingWhy) {
  const absl::Status unix_socket =
      AdminServer::Start("unix:/tmp/admin.sock", Routes()).status();
  EXPECT_EQ(unix_socket.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unix_socket.message(), HasSubstr("unix sockets"));
  const absl::Status v6 = AdminServer::Start("[::1]:0", Routes()).status();
  EXPECT_EQ(v6.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v6.message(), HasSubstr("IPv6"));
}

TEST(AdminServerTest, PortInUse) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<AdminServer>> second =
      AdminServer::Start(absl::StrCat("127.0.0.1:", server->port()), Routes());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(),
              HasSubstr(absl::StrCat("127.0.0.1:", server->port())));
}

TEST(AdminServerTest, Wildcard) {
  auto any = StartOrDie(":0");
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(Get(any->port(), "/healthz").status, 200);  // via 127.0.0.1
}

TEST(AdminServerTest, ShutdownWhileClientsHoldConnections) {
  auto server = StartWithRequestTimeout(absl::Seconds(60));
  ASSERT_NE(server, nullptr);
  const int idle = ConnectTcp(server->port());
  const int partial = ConnectTcp(server->port());
  ASSERT_GE(idle, 0);
  ASSERT_GE(partial, 0);
  SendAll(partial, "GET /healthz HTTP/1.1\r\n");
  // The partial head has reached a worker once a full request on another
  // connection has been answered (workers take connections in order).
  EXPECT_EQ(Get(server->port(), "/healthz").status, 200);
  const Clock::time_point start = Clock::now();
  server.reset();  // long before the 60 s request timeout
  // The margins are for a loaded machine; still far below 60 s.
  EXPECT_LT(Clock::now() - start, milliseconds(20000));
  EXPECT_TRUE(ClosedWithin(idle, milliseconds(20000)));
  EXPECT_TRUE(ClosedWithin(partial, milliseconds(20000)));
  close(idle);
  close(partial);
}

TEST(AdminServerTest, ShutdownWithNothingConnectedIsPrompt) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  const Clock::time_point start = Clock::now();
  server.reset();
  EXPECT_LT(Clock::now() - start, milliseconds(20000));
  EXPECT_LT(ConnectTcp(port), 0);  // the port is closed
}

// A real HTTP client, as a cross-check of the hand-made one; libcurl keeps
// the connection alive between the requests.
size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

TEST(AdminServerTest, LibcurlClient) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  CURL* curl = curl_easy_init();
  ASSERT_NE(curl, nullptr);
  long connects = 0;
  for (const auto& [path, status, body] :
       std::vector<std::tuple<std::string, long, std::string>>{
           {"/healthz", 200, "ok\n"},
           {"/readyz?full", 503, "not ready: creds\n"},
           {"/missing", 404, "not found\n"}}) {
    std::string got;
    const std::string url =
        absl::StrCat("http://127.0.0.1:", server->port(), path);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    ASSERT_EQ(curl_easy_perform(curl), CURLE_OK) << path;
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    EXPECT_EQ(code, status) << path;
    EXPECT_EQ(got, body) << path;
    long made = 0;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &made);
    connects += made;
  }
  curl_easy_cleanup(curl);
  EXPECT_EQ(connects, 1);  // one connection for the three requests
}

}  // namespace
}  // namespace envelope
