#include "gateway/admin/server.h"

#include <curl/curl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
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
using admin_test::ConnectUnix;
using admin_test::Drain;
using admin_test::Exchange;
using admin_test::Header;
using admin_test::Parse;
using admin_test::ReadUntilClosed;
using admin_test::Response;
using admin_test::SendAll;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr char kGetHealthz[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

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

// A server that gives each connection `read_timeout` to send its head.
std::unique_ptr<AdminServer> StartWithReadTimeout(absl::Duration read_timeout) {
  AdminServerOptions options;
  options.read_timeout = read_timeout;
  return StartOrDie("127.0.0.1:0", Routes(), options);
}

Response Get(int port, const std::string& path,
             const std::string& method = "GET") {
  return Parse(Exchange(
      port, absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: x\r\n\r\n")));
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
  EXPECT_EQ(Header(r, "Connection"), "close");

  r = Get(server->port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: creds\n");

  r = Get(server->port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Header(r, "Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, "# TYPE up gauge\nup 1\n");
}

TEST(AdminServerTest, QueryIgnoredHttp10Accepted) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Get(server->port(), "/healthz?verbose=1&x").status, 200);
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
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
    Response r = Get(server->port(), "/healthz", method);
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(Header(r, "Allow"), "GET, HEAD");
  }
  // A body the server never reads still lets the client see the answer.
  Response r = Parse(Exchange(
      server->port(),
      absl::StrCat("POST /healthz HTTP/1.1\r\nContent-Length: 200000\r\n\r\n",
                   std::string(200000, 'x'))));
  EXPECT_EQ(r.status, 405);
}

TEST(AdminServerTest, HeadHasLengthButNoBody) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  const std::string raw =
      Exchange(server->port(), "HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
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
  EXPECT_EQ(r.status, 431);
  r = Parse(Exchange(
      server->port(),
      absl::StrCat("GET /", std::string(10000, 'a'), " HTTP/1.1\r\n\r\n")));
  EXPECT_EQ(r.status, 414);
  // An endless header: the answer comes without waiting for its end.
  const int fd = ConnectTcp(server->port());
  ASSERT_GE(fd, 0);
  SendAll(fd, "GET /healthz HTTP/1.1\r\nX: ");
  for (int i = 0; i < 20; ++i) {
    if (!SendAll(fd, std::string(1000, 'a'))) break;
  }
  // (Waiting for it would end in 408, at the read timeout.)
  EXPECT_EQ(Parse(ReadUntilClosed(fd)).status, 431);
  close(fd);
}

TEST(AdminServerTest, MalformedRequestsAre400) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Parse(Exchange(server->port(), "hello\r\n\r\n")).status, 400);
  EXPECT_EQ(Parse(Exchange(server->port(), "GET / HTTP/2.0\r\n\r\n")).status,
            505);
  // Binary junk.
  EXPECT_EQ(Parse(Exchange(server->port(),
                           std::string("\x16\x03\x01\x02\x00\n\n", 7)))
                .status,
            400);
}

TEST(AdminServerTest, SlowClientDoesNotBlockOthers) {
  auto server = StartWithReadTimeout(absl::Seconds(60));
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
  auto server = StartWithReadTimeout(absl::Seconds(1));
  ASSERT_NE(server, nullptr);
  const int slow = ConnectTcp(server->port());
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(SendAll(slow, "GET /heal"));
  // A byte every 200 ms until the server gives up: a timeout that each byte
  // renewed would never come, and the loop would give up instead.
  std::string rest;
  const auto give_up = std::chrono::steady_clock::now() + milliseconds(60000);
  while (!Drain(slow, milliseconds(200), &rest) &&
         std::chrono::steady_clock::now() < give_up) {
    SendAll(slow, "t");
  }
  EXPECT_EQ(Parse(rest).status, 408);
  close(slow);
}

TEST(AdminServerTest, IdleConnectionIsClosedSilently) {
  auto server = StartWithReadTimeout(absl::Milliseconds(200));
  ASSERT_NE(server, nullptr);
  const int fd = ConnectTcp(server->port());
  ASSERT_GE(fd, 0);
  std::string got;
  EXPECT_TRUE(Drain(fd, milliseconds(30000), &got));  // closed...
  EXPECT_EQ(got, "");                                 // ...silently
  close(fd);
}

// A full server makes room for a new connection by closing the oldest one
// still sending its head: a probe is never kept out by slow clients.
TEST(AdminServerTest, FullServerClosesOldestSlowClient) {
  AdminServerOptions options;
  options.max_connections = 4;
  options.read_timeout = absl::Seconds(60);
  auto server = StartOrDie("127.0.0.1:0", Routes(), options);
  ASSERT_NE(server, nullptr);
  std::vector<int> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(ConnectTcp(server->port()));
    ASSERT_GE(slow.back(), 0);
    ASSERT_TRUE(SendAll(slow.back(), "GET /heal"));
  }
  // A server that let the probe wait for room would answer it only after
  // the slow clients' 60 s deadline, long after Get gives up.
  EXPECT_EQ(Get(server->port(), "/healthz").status, 200);
  // The kernel queues connections in order, so the first is the oldest:
  // closed, without an answer; the others keep their place.
  std::string got;
  EXPECT_TRUE(Drain(slow[0], milliseconds(30000), &got));
  EXPECT_EQ(got, "");
  for (size_t i = 1; i < slow.size(); ++i) {
    EXPECT_FALSE(ClosedWithin(slow[i], milliseconds(100))) << i;
  }
  for (int fd : slow) close(fd);
}

// Connections past their head are being answered: they are not closed for
// room, and a new one waits in the backlog until one of them ends.
TEST(AdminServerTest, FullServerLetsResponsesFinish) {
  const std::string big(32 << 20, 'm');  // more than the socket buffers hold
  auto routes = Routes();
  routes["/big"] = [&] { return AdminResponse{.body = big}; };
  AdminServerOptions options;
  options.max_connections = 2;
  auto server = StartOrDie("127.0.0.1:0", routes, options);
  ASSERT_NE(server, nullptr);
  std::vector<int> readers;
  for (int i = 0; i < 2; ++i) {
    readers.push_back(ConnectTcp(server->port()));
    ASSERT_GE(readers.back(), 0);
    ASSERT_TRUE(SendAll(readers.back(), "GET /big HTTP/1.1\r\n\r\n"));
    char first;  // the response has begun: the head was read
    ASSERT_EQ(recv(readers.back(), &first, 1, 0), 1);
  }
  const int waiting = ConnectTcp(server->port());  // the backlog takes it
  ASSERT_GE(waiting, 0);
  ASSERT_TRUE(SendAll(waiting, kGetHealthz));
  EXPECT_FALSE(ClosedWithin(waiting, milliseconds(300)));  // not served yet
  close(readers[0]);  // its response fails: room
  EXPECT_EQ(Parse(ReadUntilClosed(waiting)).status, 200);
  close(waiting);
  close(readers[1]);
}

// Slowloris: many clients that never finish their head, more than the cap.
TEST(AdminServerTest, ProbesAnsweredWhileManyClientsDribble) {
  AdminServerOptions options;
  options.max_connections = 64;
  options.read_timeout = absl::Seconds(60);
  auto server = StartOrDie("127.0.0.1:0", Routes(), options);
  ASSERT_NE(server, nullptr);
  std::vector<int> slow;
  for (int i = 0; i < 300; ++i) {
    slow.push_back(ConnectTcp(server->port()));
    ASSERT_GE(slow.back(), 0);
    ASSERT_TRUE(SendAll(slow.back(), "GET /healthz HTTP/1.1\r\nX-Slow: "));
  }
  // Each answered long before the slow clients' 60 s deadline.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Get(server->port(), i % 2 ? "/healthz" : "/readyz").status,
              i % 2 ? 200 : 503);
  }
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

// A unix socket path holds at most 107 bytes; Bazel's TEST_TMPDIR (which
// testing::TempDir() returns) is often longer, so sockets go to /tmp.
std::string ShortTempDir() {
  const std::string dir = testing::TempDir();
  return dir.size() < 60 ? dir : "/tmp";
}

TEST(AdminServerTest, UnixSocket) {
  const std::string path =
      absl::StrCat(ShortTempDir(), "/admin_test_", getpid(), ".sock");
  {
    auto server = StartOrDie("unix:" + path);
    ASSERT_NE(server, nullptr);
    EXPECT_EQ(server->port(), 0);
    const int fd = ConnectUnix(path);
    ASSERT_GE(fd, 0);
    SendAll(fd, kGetHealthz);
    Response r = Parse(ReadUntilClosed(fd));
    close(fd);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ok\n");

    // A second server cannot take a live socket's path.
    EXPECT_EQ(AdminServer::Start("unix:" + path, Routes()).status().code(),
              absl::StatusCode::kAlreadyExists);
  }
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0) << "socket file left behind";
}

TEST(AdminServerTest, UnixSocketReplacesStaleFile) {
  const std::string path =
      absl::StrCat(ShortTempDir(), "/admin_stale_", getpid(), ".sock");
  {
    // A socket bound and closed without unlink: what a killed process
    // leaves.
    auto server = StartOrDie("unix:" + path);
    ASSERT_NE(server, nullptr);
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  auto server = StartOrDie("unix:" + path);
  ASSERT_NE(server, nullptr);
  const int c = ConnectUnix(path);
  ASSERT_GE(c, 0);
  SendAll(c, kGetHealthz);
  EXPECT_EQ(Parse(ReadUntilClosed(c)).status, 200);
  close(c);
}

TEST(AdminServerTest, BadAddresses) {
  for (const char* bad : {"", "9901", "127.0.0.1", "127.0.0.1:",
                          "127.0.0.1:99999", "127.0.0.1:-1", "::1:9901",
                          "[::1:9901", "unix:", "no.such.host.invalid:9901"}) {
    EXPECT_FALSE(AdminServer::Start(bad, Routes()).ok()) << bad;
  }
  EXPECT_FALSE(
      AdminServer::Start("unix:/" + std::string(200, 'a'), Routes()).ok());
  AdminServerOptions options;
  options.max_connections = 0;
  EXPECT_EQ(
      AdminServer::Start("127.0.0.1:0", Routes(), options).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(AdminServerTest, PortInUse) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<AdminServer>> second =
      AdminServer::Start(absl::StrCat("127.0.0.1:", server->port()), Routes());
  EXPECT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("bind"));
}

TEST(AdminServerTest, Ipv6AndWildcard) {
  auto any = StartOrDie(":0");
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(Get(any->port(), "/healthz").status, 200);  // via 127.0.0.1
  absl::StatusOr<std::unique_ptr<AdminServer>> v6 =
      AdminServer::Start("[::1]:0", Routes());
  if (!v6.ok()) GTEST_SKIP() << "no IPv6 loopback: " << v6.status();
  EXPECT_GT((*v6)->port(), 0);
}

TEST(AdminServerTest, ShutdownWhileClientsHoldConnections) {
  auto server = StartWithReadTimeout(absl::Seconds(60));
  ASSERT_NE(server, nullptr);
  const int idle = ConnectTcp(server->port());
  const int partial = ConnectTcp(server->port());
  ASSERT_GE(idle, 0);
  ASSERT_GE(partial, 0);
  SendAll(partial, "GET /healthz HTTP/1.1\r\n");
  std::this_thread::sleep_for(milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  server.reset();  // long before the 60 s read timeout
  // The margins are for a loaded machine; still far below 60 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(20000));
  EXPECT_TRUE(ClosedWithin(idle, milliseconds(20000)));
  EXPECT_TRUE(ClosedWithin(partial, milliseconds(20000)));
  close(idle);
  close(partial);
}

TEST(AdminServerTest, ShutdownWithNothingConnectedIsPrompt) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  const auto start = std::chrono::steady_clock::now();
  server.reset();
  // With nothing connected the loop polls without a timeout: only the
  // wake-up ends it. The margin is for a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(20000));
  EXPECT_LT(ConnectTcp(port), 0);  // the port is closed
}

// A real HTTP client, as a cross-check of the hand-made one.
size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

TEST(AdminServerTest, LibcurlClient) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (const auto& [path, status, body] :
       std::vector<std::tuple<std::string, long, std::string>>{
           {"/healthz", 200, "ok\n"},
           {"/readyz?full", 503, "not ready: creds\n"},
           {"/missing", 404, "not found\n"}}) {
    CURL* curl = curl_easy_init();
    ASSERT_NE(curl, nullptr);
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
    curl_easy_cleanup(curl);
  }
}

}  // namespace
}  // namespace envelope
