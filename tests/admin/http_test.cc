#include "gateway/admin/http.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace envelope::admin_internal {
namespace {

using namespace std::string_literals;

constexpr size_t kMax = 8192;

RequestHead P(const std::string& s, size_t max = kMax) {
  return ParseRequestHead(s, max);
}

TEST(ParseRequestHeadTest, SimpleGet) {
  RequestHead h = P("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(h.kind, RequestHead::Kind::kRequest);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.path, "/healthz");
}

TEST(ParseRequestHeadTest, QueryAndFragmentAreNotThePath) {
  EXPECT_EQ(P("GET /readyz?verbose=1 HTTP/1.1\r\n\r\n").path, "/readyz");
  EXPECT_EQ(P("GET /readyz#x HTTP/1.1\r\n\r\n").path, "/readyz");
  EXPECT_EQ(P("GET /?a HTTP/1.0\r\n\r\n").path, "/");
}

TEST(ParseRequestHeadTest, AbsoluteForm) {
  EXPECT_EQ(P("GET http://h:9901/metrics?x HTTP/1.1\r\n\r\n").path, "/metrics");
  EXPECT_EQ(P("GET http://h:9901 HTTP/1.1\r\n\r\n").path, "/");
  EXPECT_EQ(P("GET http://h?q HTTP/1.1\r\n\r\n").path, "/");
}

TEST(ParseRequestHeadTest, BareLfAndLeadingEmptyLines) {
  RequestHead h = P("\r\n\nHEAD /x HTTP/1.1\nHost: y\n\n");
  ASSERT_EQ(h.kind, RequestHead::Kind::kRequest);
  EXPECT_EQ(h.method, "HEAD");
  EXPECT_EQ(h.path, "/x");
}

TEST(ParseRequestHeadTest, NeedsMore) {
  EXPECT_EQ(P("").kind, RequestHead::Kind::kNeedMore);
  EXPECT_EQ(P("GET /healthz HTTP/1.1\r\n").kind, RequestHead::Kind::kNeedMore);
  EXPECT_EQ(P("GET /healthz HTTP/1.1\r\nHost: x\r\n\r").kind,
            RequestHead::Kind::kNeedMore);
}

TEST(ParseRequestHeadTest, BodyAfterTheHeadIsIgnored) {
  const std::string body(20000, 'x');
  RequestHead h = P("POST /a HTTP/1.1\r\nContent-Length: 20000\r\n\r\n" + body);
  ASSERT_EQ(h.kind, RequestHead::Kind::kRequest);
  EXPECT_EQ(h.method, "POST");
}

TEST(ParseRequestHeadTest, Malformed) {
  for (const std::string& bad : std::vector<std::string>{
           "garbage\r\n\r\n"s,
           "GET /\r\n\r\n"s,
           "GET  / HTTP/1.1\r\n\r\n"s,
           "GET / HTTP/1.1 extra\r\n\r\n"s,
           "GET / FTP/1.0\r\n\r\n"s,
           "G(T / HTTP/1.1\r\n\r\n"s,
           "GET nopath HTTP/1.1\r\n\r\n"s,
           "GET /a\tb HTTP/1.1\r\n\r\n"s,
           "GET /a\rb HTTP/1.1\r\n\r\n"s,
           "GET / HTTP/1.1\r\nNoColon\r\n\r\n"s,
           "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"s,
           "GET / HTTP/1.1\r\nName : x\r\n\r\n"s,
           "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"s,
           "GET / HTTP/1.1\r\n: empty\r\n\r\n"s,
           "GET / HTTP/1.1\r\nA: nul\0x\r\n\r\n"s,
       }) {
    RequestHead h = P(bad);
    EXPECT_EQ(h.kind, RequestHead::Kind::kError) << bad;
    EXPECT_EQ(h.error_status, 400) << bad;
  }
}

TEST(ParseRequestHeadTest, OtherHttpVersions) {
  EXPECT_EQ(P("GET / HTTP/2.0\r\n\r\n").error_status, 505);
  EXPECT_EQ(P("GET / HTTP/0.9\r\n\r\n").error_status, 505);
}

TEST(ParseRequestHeadTest, SizeLimits) {
  const std::string long_target = "GET /" + std::string(100, 'a');
  EXPECT_EQ(P(long_target, 64).error_status, 414);
  EXPECT_EQ(P(long_target + " HTTP/1.1\r\n\r\n", 64).error_status, 414);
  const std::string head = "GET / HTTP/1.1\r\nX: " + std::string(100, 'a');
  EXPECT_EQ(P(head, 64).error_status, 431);
  EXPECT_EQ(P(head + "\r\n\r\n", 64).error_status, 431);
  EXPECT_EQ(P(std::string(100, '\n'), 64).kind, RequestHead::Kind::kError);
  // Exactly at the limit is fine.
  const std::string exact = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(P(exact, exact.size()).kind, RequestHead::Kind::kRequest);
  EXPECT_EQ(P(exact, exact.size() - 1).error_status, 431);
}

TEST(SerializeResponseTest, GetAndHead) {
  AdminResponse r;
  r.body = "ok\n";
  EXPECT_EQ(SerializeResponse(r, false),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n"
            "\r\n"
            "ok\n");
  EXPECT_EQ(SerializeResponse(r, true),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(SerializeResponseTest, AllowOn405AndSanitizing) {
  EXPECT_NE(SerializeResponse(TextResponse(405, ""), false)
                .find("\r\nAllow: GET, HEAD\r\n"),
            std::string::npos);
  AdminResponse r;
  r.status = 42;
  r.content_type = "text/html\r\nX-Injected: 1";
  const std::string out = SerializeResponse(r, false);
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u);
  EXPECT_EQ(out.find("X-Injected"), std::string::npos);
  EXPECT_NE(out.find("Content-Type: text/plain; charset=utf-8\r\n"),
            std::string::npos);
}

}  // namespace
}  // namespace envelope::admin_internal
