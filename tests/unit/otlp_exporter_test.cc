#include "gateway/trace/otlp_exporter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace envelope::trace {
namespace {

namespace otlp = ::opentelemetry::proto;

// A real HTTP/1.1 server on a loopback port: reads each request (headers
// and Content-Length body), records it, and answers `status` with `body`
// once `hold` is false.
class TestCollector {
 public:
  TestCollector() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listener_, 16);
    socklen_t size = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &size);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~TestCollector() {
    {
      absl::MutexLock lock(&mu_);
      hold_ = false;
    }
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    thread_.join();
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  void Answer(int status, std::string body = "") {
    absl::MutexLock lock(&mu_);
    status_ = status;
    body_ = std::move(body);
  }
  void Hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  // Waits until `n` requests have arrived; false after 30 s.
  bool WaitForRequests(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return requests_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(30));
  }
  struct Request {
    std::string head;
    std::string body;
  };
  std::vector<Request> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  void Run() {
    while (true) {
      int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      Serve(fd);
      close(fd);
    }
  }
  void Serve(int fd) {
    std::string data;
    char buffer[65536];
    while (true) {
      size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = data.substr(0, end);
        size_t length = 0;
        for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
          if (absl::StartsWithIgnoreCase(line, "content-length:")) {
            (void)absl::SimpleAtoi(line.substr(15), &length);
          }
        }
        if (data.size() >= end + 4 + length) {
          Request request{head, data.substr(end + 4, length)};
          data.erase(0, end + 4 + length);
          int status;
          std::string body;
          {
            absl::MutexLock lock(&mu_);
            requests_.push_back(request);
            mu_.Await(absl::Condition(
                +[](bool* hold) { return !*hold; }, &hold_));
            status = status_;
            body = body_;
          }
          std::string answer =
              absl::StrCat("HTTP/1.1 ", status,
                           " X\r\nContent-Type: "
                           "application/x-protobuf\r\nContent-Length: ",
                           body.size(), "\r\n\r\n", body);
          // The client may have given up (timed out): no SIGPIPE.
          if (send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) {
            return;
          }
          continue;
        }
      }
      ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) return;
      data.append(buffer, n);
    }
  }

  int listener_;
  int port_;
  absl::Mutex mu_;
  int status_ ABSL_GUARDED_BY(mu_) = 200;
  std::string body_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

Span MakeSpan(uint64_t id) {
  Span span;
  span.trace_id = {.high = 0x4bf92f3577b34da6, .low = 0xa3ce929d0e0e4736};
  span.span_id = id;
  span.parent_id = 0x00f067aa0ba902b7;
  span.parent_remote = true;
  span.trace_flags = kSampled;
  span.tracestate = "a=1";
  span.name = "pkg.Service/Method";
  span.kind = SpanKind::kServer;
  span.start = absl::FromUnixNanos(1'700'000'000'000'000'001);
  span.end = absl::FromUnixNanos(1'700'000'000'500'000'002);
  span.error = true;
  span.status_message = "broken";
  span.attributes = {{"rpc.system", std::string("grpc")},
                     {"rpc.grpc.status_code", int64_t{13}}};
  return span;
}

OtlpOptions Options(const TestCollector& collector) {
  OtlpOptions options;
  options.endpoint = collector.url();
  options.batch_delay = absl::Milliseconds(1);
  options.timeout = absl::Seconds(10);
  options.service_version = "1.2.3";
  return options;
}

// Waits until `done` holds for the exporter's stats; false after 30 s.
template <typename Done>
bool WaitForStats(const OtlpExporter& exporter, Done done) {
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while (!done(exporter.stats())) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(EncodeExportRequest, DecodesAsTheOfficialMessage) {
  OtlpOptions options;
  options.service_name = "my-gateway";
  options.service_version = "1.2.3";
  std::string body = EncodeExportRequest({MakeSpan(7)}, options);
  otlp::collector::trace::v1::ExportTraceServiceRequest request;
  ASSERT_TRUE(request.ParseFromString(body));
  ASSERT_EQ(request.resource_spans_size(), 1);
  const auto& resource = request.resource_spans(0).resource();
  ASSERT_EQ(resource.attributes_size(), 2);
  EXPECT_EQ(resource.attributes(0).key(), "service.name");
  EXPECT_EQ(resource.attributes(0).value().string_value(), "my-gateway");
  const auto& span = request.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(span.trace_id(),
            std::string("\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e"
                        "\x0e\x47\x36",
                        16));
  EXPECT_EQ(span.span_id(), std::string("\0\0\0\0\0\0\0\x07", 8));
  EXPECT_EQ(span.parent_span_id(),
            std::string("\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8));
  EXPECT_EQ(span.flags(), 0x301u);  // sampled, parent known remote
  EXPECT_EQ(span.trace_state(), "a=1");
  EXPECT_EQ(span.name(), "pkg.Service/Method");
  EXPECT_EQ(span.kind(), otlp::trace::v1::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(span.start_time_unix_nano(), 1'700'000'000'000'000'001u);
  EXPECT_EQ(span.end_time_unix_nano(), 1'700'000'000'500'000'002u);
  EXPECT_EQ(span.status().code(), otlp::trace::v1::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(span.status().message(), "broken");
  ASSERT_EQ(span.attributes_size(), 2);
  EXPECT_EQ(span.attributes(0).value().string_value(), "grpc");
  EXPECT_EQ(span.attributes(1).value().int_value(), 13);
}

TEST(OtlpExporter, RefusesEndpointsThatAreNotHttp) {
  EXPECT_FALSE(OtlpExporter::Start({.endpoint = "collector:4318"}).ok());
  EXPECT_FALSE(OtlpExporter::Start({.endpoint = "http://"}).ok());
  EXPECT_FALSE(
      OtlpExporter::Start({.endpoint = "http://h", .queue_size = 0}).ok());
}

TEST(OtlpExporter, PostsBatchesToV1Traces) {
  TestCollector collector;
  auto exporter = OtlpExporter::Start(Options(collector));
  ASSERT_TRUE(exporter.ok());
  std::vector<Span> spans;
  for (uint64_t i = 1; i <= 3; ++i) spans.push_back(MakeSpan(i));
  (*exporter)->Add(std::move(spans));
  ASSERT_TRUE(WaitForStats(
      **exporter, [](OtlpExporter::Stats s) { return s.exported == 3; }));
  EXPECT_EQ((*exporter)->stats().dropped, 0u);
  std::vector<TestCollector::Request> requests = collector.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(requests[0].head, "POST /v1/traces HTTP/1.1"));
  EXPECT_TRUE(absl::StrContains(requests[0].head,
                                "Content-Type: application/x-protobuf"));
  otlp::collector::trace::v1::ExportTraceServiceRequest request;
  ASSERT_TRUE(request.ParseFromString(requests[0].body));
  EXPECT_EQ(request.resource_spans(0).scope_spans(0).spans_size(), 3);
}

TEST(OtlpExporter, FullQueueDropsWithoutBlocking) {
  TestCollector collector;
  collector.Hold(true);
  OtlpOptions options = Options(collector);
  options.queue_size = 4;
  auto exporter = OtlpExporter::Start(options);
  ASSERT_TRUE(exporter.ok());
  // The first span goes out and waits at the collector; then the queue
  // fills.
  (*exporter)->Add({MakeSpan(1)});
  ASSERT_TRUE(collector.WaitForRequests(1));
  const absl::Time began = absl::Now();
  for (uint64_t i = 2; i <= 11; ++i) (*exporter)->Add({MakeSpan(i)});
  EXPECT_LT(absl::Now() - began, absl::Seconds(1));
  EXPECT_EQ((*exporter)->stats().dropped, 6u);
  collector.Hold(false);
  ASSERT_TRUE(WaitForStats(
      **exporter, [](OtlpExporter::Stats s) { return s.exported == 5; }));
  EXPECT_EQ((*exporter)->stats().dropped, 6u);
}

TEST(OtlpExporter, FailedRequestsAndRejectionsCountAsDropped) {
  TestCollector collector;
  collector.Answer(503);
  auto exporter = OtlpExporter::Start(Options(collector));
  ASSERT_TRUE(exporter.ok());
  (*exporter)->Add({MakeSpan(1), MakeSpan(2)});
  ASSERT_TRUE(WaitForStats(
      **exporter, [](OtlpExporter::Stats s) { return s.dropped == 2; }));
  otlp::collector::trace::v1::ExportTraceServiceResponse partial;
  partial.mutable_partial_success()->set_rejected_spans(1);
  collector.Answer(200, partial.SerializeAsString());
  (*exporter)->Add({MakeSpan(3), MakeSpan(4), MakeSpan(5)});
  ASSERT_TRUE(WaitForStats(
      **exporter, [](OtlpExporter::Stats s) { return s.exported == 2; }));
  EXPECT_EQ((*exporter)->stats().dropped, 3u);
}

TEST(OtlpExporter, UnreachableCollectorDrops) {
  int port;
  {
    TestCollector gone;  // a port that was just free
    port = std::stoi(std::string(gone.url().substr(17)));
  }
  OtlpOptions options;
  options.endpoint = absl::StrCat("http://127.0.0.1:", port);
  options.batch_delay = absl::Milliseconds(1);
  auto exporter = OtlpExporter::Start(options);
  ASSERT_TRUE(exporter.ok());
  (*exporter)->Add({MakeSpan(1)});
  ASSERT_TRUE(WaitForStats(
      **exporter, [](OtlpExporter::Stats s) { return s.dropped == 1; }));
  EXPECT_EQ((*exporter)->stats().exported, 0u);
}

TEST(OtlpExporter, SendsWhatIsQueuedWhenDestroyed) {
  TestCollector collector;
  OtlpOptions options = Options(collector);
  options.batch_delay = absl::Hours(1);  // only the destructor sends
  {
    auto exporter = OtlpExporter::Start(options);
    ASSERT_TRUE(exporter.ok());
    (*exporter)->Add({MakeSpan(1), MakeSpan(2)});
  }
  ASSERT_EQ(collector.requests().size(), 1u);
}

TEST(OtlpExporter, StopsAfterOneFailureWhenDestroyed) {
  TestCollector collector;
  collector.Hold(true);  // every request times out
  OtlpOptions options = Options(collector);
  options.max_batch = 1;
  options.timeout = absl::Milliseconds(500);
  auto exporter = OtlpExporter::Start(options);
  ASSERT_TRUE(exporter.ok());
  (*exporter)->Add({MakeSpan(1)});
  ASSERT_TRUE(collector.WaitForRequests(1));
  (*exporter)->Add({MakeSpan(2), MakeSpan(3)});
  // Stopping while the first request waits: once it has timed out, the two
  // queued spans are dropped rather than sent, a timeout each (which would
  // make the stop take three timeouts).
  const absl::Time began = absl::Now();
  exporter->reset();
  EXPECT_LT(absl::Now() - began, absl::Milliseconds(1000));
}

}  // namespace
}  // namespace envelope::trace
