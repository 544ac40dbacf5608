// The production upstream ("Production upstream" issue): retries, deadlines,
// cancellation, TLS, proxies, connection reuse, transport faults and
// credential sources, each against real processes (the gateway, the emulator,
// the forward proxy, the fake metadata service) on loopback. Upstream attempts
// are counted by the emulator (/_emulator/requests, /_emulator/stats). At the
// end, the upstream module (Upstream, HttpClient) in this process against the
// emulator: connection reuse and libcurl's own re-sends.
#include "gateway/upstream/upstream.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <grpcpp/generic/generic_stub.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "envelope/gateway/v1/json_api.pb.h"
#include "gateway/trace/trace_context.h"
#include "gateway/version/version.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/integration/process.h"
#include "tools/cli/client.h"

namespace envelope {
namespace {

using testing::Process;

constexpr char kSecretId[] = "AKIDUPSTREAMTEST0000000000000000";
constexpr char kSecretKey[] = "upstream-test-secret-key-000000";

constexpr char kDescribeInstances[] =
    "/tencentcloud.cvm.v20170312.Cvm/DescribeInstances";
constexpr char kDescribeZones[] =
    "/tencentcloud.cvm.v20170312.Cvm/DescribeZones";
constexpr char kRunInstances[] = "/tencentcloud.cvm.v20170312.Cvm/RunInstances";
constexpr char kJsonApiCall[] = "/envelope.gateway.v1.JsonApi/Call";

// Flags of every gateway of this file (a test may give one again; the last
// one wins): short, distinct backoffs; no admin port (a fixed default port
// would keep two gateways from running at once); no access log (not read
// here; 1000-call tests would only fill the child's stdout).
const std::vector<std::string> kBaseFlags = {
    "--initial-backoff=20ms", "--rate-limit-backoff=50ms", "--max-backoff=1s",
    "--admin-listen=", "--access-log=false"};

// Environment of every child: no proxy and no credential settings inherited
// from whoever runs the tests.
std::vector<std::string> CleanEnv() {
  return {"HTTPS_PROXY=",
          "https_proxy=",
          "HTTP_PROXY=",
          "http_proxy=",
          "ALL_PROXY=",
          "all_proxy=",
          "NO_PROXY=",
          "no_proxy=",
          "TENCENTCLOUD_SECRET_ID=",
          "TENCENTCLOUD_SECRET_KEY=",
          "TENCENTCLOUD_SESSION_TOKEN=",
          "TENCENTCLOUD_CREDENTIALS_FILE=",
          "TENCENTCLOUD_PROFILE=",
          "TKE_REGION=",
          "TKE_PROVIDER_ID=",
          "TKE_WEB_IDENTITY_TOKEN_FILE=",
          "TKE_ROLE_ARN="};
}

std::vector<std::string> Concat(std::vector<std::string> a,
                                const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---------------------------------------------------------------------------
// Test certificates (once per binary).

const std::string& CertDir() {
  static const std::string* dir = [] {
    auto* d = new std::string(::testing::TempDir() + "envelope-upstream-certs");
    auto [code, err] = testing::RunToExit({"/bin/sh", MAKE_TEST_CA_SH, *d});
    EXPECT_EQ(code, 0) << err;
    return d;
  }();
  return *dir;
}
std::string Cert(const std::string& name) { return CertDir() + "/" + name; }

// ---------------------------------------------------------------------------
// Control client: one kept-alive connection (so that the emulator's
// connection counters can be read exactly), optional CA, never proxied.

class Control {
 public:
  explicit Control(std::string base, std::string ca_file = "")
      : base_(std::move(base)), ca_file_(std::move(ca_file)) {
    curl_ = curl_easy_init();
  }
  ~Control() { curl_easy_cleanup(curl_); }
  Control(const Control&) = delete;

  testing::HttpAnswer Do(const std::string& method, const std::string& path,
                         const std::string& body = "") {
    testing::HttpAnswer answer;
    curl_easy_reset(curl_);  // keeps the live connection
    curl_easy_setopt(curl_, CURLOPT_URL, (base_ + path).c_str());
    curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 10L);
    if (!ca_file_.empty()) {
      curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());
    }
    if (method == "GET") {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
      if (method == "POST") {
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE,
                         static_cast<long>(body.size()));
      }
    }
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &answer.body);
    if (curl_easy_perform(curl_) == CURLE_OK) {
      curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &answer.status);
    }
    long connects = 0;
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &connects);
    last_connects_ = connects;
    return answer;
  }

  rapidjson::Document Json(const std::string& path) {
    rapidjson::Document doc;
    testing::HttpAnswer answer = Do("GET", path);
    doc.Parse(answer.body.c_str());
    EXPECT_FALSE(doc.HasParseError()) << path << ": " << answer.body;
    return doc;
  }

  void Rule(const std::string& json) {
    testing::HttpAnswer answer = Do("POST", "/_emulator/rules", json);
    ASSERT_EQ(answer.status, 200) << answer.body;
  }
  void Reset() { ASSERT_EQ(Do("POST", "/_emulator/reset").status, 200); }

  struct Stats {
    long connections = 0, tls_handshakes = 0, tls_failures = 0, requests = 0;
  };
  // The emulator's counters, minus the connection this read opened if the
  // kept-alive one had been dropped.
  Stats EmulatorStats() {
    rapidjson::Document doc = Json("/_emulator/stats");
    Stats s;
    if (!doc.IsObject()) return s;
    s.connections = doc["connections"].GetInt64() - last_connects_;
    s.tls_handshakes = doc["tls_handshakes"].GetInt64() - last_connects_;
    s.tls_failures = doc["tls_failures"].GetInt64();
    s.requests = doc["requests"].GetInt64();
    if (ca_file_.empty()) s.tls_handshakes = doc["tls_handshakes"].GetInt64();
    return s;
  }

  // Recorded API requests, optionally only those of one action.
  std::vector<rapidjson::Document> Requests(const std::string& action = "") {
    rapidjson::Document doc = Json("/_emulator/requests");
    std::vector<rapidjson::Document> out;
    if (!doc.IsArray()) return out;
    for (const auto& r : doc.GetArray()) {
      if (!action.empty() &&
          (!r["action"].IsString() || action != r["action"].GetString())) {
        continue;
      }
      rapidjson::Document copy;
      copy.CopyFrom(r, copy.GetAllocator());
      out.push_back(std::move(copy));
    }
    return out;
  }
  int Count(const std::string& action = "") {
    return static_cast<int>(Requests(action).size());
  }

 private:
  static size_t Collect(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  std::string base_;
  std::string ca_file_;
  CURL* curl_ = nullptr;
  long last_connects_ = 0;
};

// ---------------------------------------------------------------------------
// Processes.

struct EmulatorOptions {
  bool tls = false;
  std::string secret_id = kSecretId;
  std::string secret_key = kSecretKey;
  std::string session_token;
};

std::unique_ptr<Process> StartEmulator(const EmulatorOptions& o = {}) {
  std::vector<std::string> argv = {
      "/usr/bin/python3", EMULATOR_PY, "--listen",     "127.0.0.1:0", "--quiet",
      "--secret-id",      o.secret_id, "--secret-key", o.secret_key};
  if (!o.session_token.empty()) {
    argv.insert(argv.end(), {"--session-token", o.session_token});
  }
  if (o.tls) {
    argv.insert(argv.end(), {"--tls-cert", Cert("server.pem"), "--tls-key",
                             Cert("server.key")});
  }
  auto emulator = Process::Start(argv, CleanEnv());
  EXPECT_TRUE(emulator.ok()) << emulator.status();
  return emulator.ok() ? *std::move(emulator) : nullptr;
}

std::unique_ptr<Process> StartHelper(const std::vector<std::string>& argv) {
  auto p = Process::Start(argv, CleanEnv());
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

// The gateway with the emulator's key pair in its environment unless `env`
// says otherwise (entries later in the list win).
std::unique_ptr<Process> StartGateway(const std::string& endpoint,
                                      const std::vector<std::string>& flags,
                                      const std::vector<std::string>& env = {},
                                      bool with_key = true) {
  std::vector<std::string> argv = {GATEWAY_BIN, "--listen=127.0.0.1:0",
                                   "--endpoint=" + endpoint,
                                   "--region=ap-guangzhou"};
  argv = Concat(Concat(argv, kBaseFlags), flags);
  std::vector<std::string> environment = CleanEnv();
  if (with_key) {
    environment.push_back(absl::StrCat("TENCENTCLOUD_SECRET_ID=", kSecretId));
    environment.push_back(absl::StrCat("TENCENTCLOUD_SECRET_KEY=", kSecretKey));
  }
  environment = Concat(environment, env);
  auto gateway = Process::Start(argv, environment);
  EXPECT_TRUE(gateway.ok()) << gateway.status();
  return gateway.ok() ? *std::move(gateway) : nullptr;
}

std::shared_ptr<grpc::Channel> ChannelTo(const Process& gateway) {
  return grpc::CreateChannel(gateway.address(),
                             grpc::InsecureChannelCredentials());
}

// A free loopback port nobody listens on (connections are refused).
int RefusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// "https://127.0.0.1:PORT" -> PORT
std::string PortOf(const std::string& url) {
  return url.substr(url.rfind(':') + 1);
}

// ---------------------------------------------------------------------------
// Calls.

std::string Untyped(const std::string& action, const std::string& params,
                    const std::string& service = "cvm") {
  envelope::gateway::v1::CallRequest request;
  request.set_service(service);
  request.set_version("2017-03-12");
  request.set_action(action);
  request.set_params_json(params);
  return request.SerializeAsString();
}

struct Timed {
  UnaryResult result;
  absl::Duration elapsed;
};

Timed TimedCall(const std::shared_ptr<grpc::Channel>& channel,
                const std::string& method, const std::string& payload = "",
                absl::Duration timeout = absl::Seconds(10)) {
  absl::Time start = absl::Now();
  UnaryResult result = CallUnary(channel, method, payload, {}, timeout);
  return {std::move(result), absl::Now() - start};
}

// A unary call with no deadline at all (timeout unset) and/or cancelled by
// the client after `cancel_after`.
UnaryResult RawCall(const std::shared_ptr<grpc::Channel>& channel,
                    const std::string& method, const std::string& payload,
                    std::optional<absl::Duration> timeout,
                    std::optional<absl::Duration> cancel_after) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  if (timeout.has_value()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + *timeout));
  }
  grpc::CompletionQueue queue;
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  UnaryResult result;
  auto call = stub.PrepareUnaryCall(&context, method, request, &queue);
  call->StartCall();
  call->Finish(&response, &result.status, reinterpret_cast<void*>(1));
  std::thread canceller;
  if (cancel_after.has_value()) {
    canceller = std::thread([&context, d = *cancel_after] {
      absl::SleepFor(d);
      context.TryCancel();
    });
  }
  void* tag = nullptr;
  bool ok = false;
  queue.Next(&tag, &ok);
  if (canceller.joinable()) canceller.join();
  return result;
}

std::string Describe(const UnaryResult& r) { return DescribeFailure(r); }

int64_t RetryDelayMs(const UnaryResult& result, bool* found) {
  google::rpc::Status status;
  *found = false;
  if (!status.ParseFromString(result.status.error_details())) return -1;
  for (const auto& any : status.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) {
      *found = true;
      return retry.retry_delay().seconds() * 1000 +
             retry.retry_delay().nanos() / 1000000;
    }
  }
  return -1;
}

std::string Trailer(const UnaryResult& result, const std::string& key) {
  auto it = result.trailers.find(key);
  return it == result.trailers.end() ? "" : it->second;
}

// ---------------------------------------------------------------------------
// A fixture with one plain-HTTP emulator and a gateway started per test.

class UpstreamFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator_ = StartEmulator();
    ASSERT_NE(emulator_, nullptr);
    control_ = std::make_unique<Control>(emulator_->address());
  }

  void StartGatewayWith(const std::vector<std::string>& flags) {
    gateway_ = StartGateway(emulator_->address(), flags);
    ASSERT_NE(gateway_, nullptr);
    channel_ = ChannelTo(*gateway_);
  }

  std::unique_ptr<Process> emulator_;
  std::unique_ptr<Control> control_;
  std::unique_ptr<Process> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
};

// ===========================================================================
// Retries.

class RetryTest : public UpstreamFixture {};

TEST_F(RetryTest, RateLimitedTwiceThenOkTakesThreeRequests) {
  StartGatewayWith({});
  control_->Rule(
      R"({"action":"DescribeInstances","times":2,"error":{"Code":"RequestLimitExceeded"}})");
  Timed t = TimedCall(channel_, kDescribeInstances);
  ASSERT_TRUE(t.result.status.ok()) << Describe(t.result);
  EXPECT_EQ(control_->Count("DescribeInstances"), 3);
  // Two waits: at least half of 50 ms, then half of 100 ms.
  EXPECT_GE(t.elapsed, absl::Milliseconds(75));
}

TEST_F(RetryTest, RateLimitedForeverEndsAfterMaxAttemptsWithRetryInfo) {
  StartGatewayWith({"--max-attempts=3"});
  // Rate limiting is retried even for a non-idempotent action: the request
  // was refused, not executed.
  control_->Rule(
      R"({"action":"RunInstances","error":{"Code":"RequestLimitExceeded.UinLimitExceeded"}})");
  Timed t = TimedCall(channel_, kRunInstances);
  ASSERT_EQ(t.result.status.error_code(), grpc::RESOURCE_EXHAUSTED)
      << Describe(t.result);
  EXPECT_EQ(Trailer(t.result, "x-tc-error-code"),
            "RequestLimitExceeded.UinLimitExceeded");
  EXPECT_EQ(control_->Count("RunInstances"), 3);
  bool found = false;
  int64_t ms = RetryDelayMs(t.result, &found);
  ASSERT_TRUE(found) << Describe(t.result);
  // [backoff/2, backoff * 2^(n-1)] with backoff 50 ms and n = 3.
  EXPECT_GE(ms, 25);
  EXPECT_LE(ms, 200);
  EXPECT_GE(t.elapsed, absl::Milliseconds(75));
}

TEST_F(RetryTest, RateLimitedIsNotRetriedWhenDisabled) {
  StartGatewayWith({"--retry-rate-limited=false"});
  control_->Rule(
      R"({"action":"DescribeInstances","error":{"Code":"RequestLimitExceeded"}})");
  Timed t = TimedCall(channel_, kDescribeInstances);
  EXPECT_EQ(t.result.status.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_EQ(control_->Count("DescribeInstances"), 1);
}

TEST_F(RetryTest, OtherFailureEnvelopesAreNeverRetried) {
  StartGatewayWith({});
  for (const char* code :
       {"InternalError", "ResourceUnavailable", "FailedOperation"}) {
    control_->Reset();
    control_->Rule(absl::StrCat(
        R"({"action":"DescribeInstances","error":{"Code":")", code, R"("}})"));
    Timed t = TimedCall(channel_, kDescribeInstances);
    EXPECT_FALSE(t.result.status.ok()) << code;
    EXPECT_EQ(Trailer(t.result, "x-tc-error-code"), code);
    EXPECT_EQ(control_->Count("DescribeInstances"), 1) << code;
  }
}

TEST_F(RetryTest, ResetOnIdempotentActionIsRetried) {
  StartGatewayWith({});
  control_->Rule(R"({"action":"DescribeInstances","times":1,"fault":"reset"})");
  Timed t = TimedCall(channel_, kDescribeInstances);
  ASSERT_TRUE(t.result.status.ok()) << Describe(t.result);
  EXPECT_EQ(control_->Count("DescribeInstances"), 2);
}

TEST_F(RetryTest, CloseWithoutAnswerOnIdempotentActionIsRetried) {
  StartGatewayWith({});
  control_->Rule(R"({"action":"DescribeInstances","times":1,"fault":"close"})");
  Timed t = TimedCall(channel_, kDescribeInstances);
  ASSERT_TRUE(t.result.status.ok()) << Describe(t.result);
  EXPECT_EQ(control_->Count("DescribeInstances"), 2);
}

TEST_F(RetryTest, ResetOnNonIdempotentActionIsNotRetried) {
  StartGatewayWith({});
  control_->Rule(R"({"action":"RunInstances","times":1,"fault":"reset"})");
  Timed t = TimedCall(channel_, kRunInstances);
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE)
      << Describe(t.result);
  EXPECT_EQ(control_->Count("RunInstances"), 1);
}

// The same on a kept-alive connection that an earlier call left in the pool:
// the request has left, so it must not be sent again, by the gateway or by
// its HTTP library; and --max-attempts bounds the requests sent, whatever
// the connection.
TEST_F(RetryTest, ResetOnAReusedConnectionIsNotResentBehindThePolicy) {
  StartGatewayWith({"--max-attempts=3"});
  ASSERT_TRUE(CallUnary(channel_, kDescribeZones, "").status.ok());  // warm
  control_->Reset();
  control_->Rule(R"({"action":"RunInstances","times":1,"fault":"reset"})");
  Timed t = TimedCall(channel_, kRunInstances);
  EXPECT_EQ(control_->Count("RunInstances"), 1)
      << "RunInstances was sent more than once; the call ended with "
      << Describe(t.result);
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE)
      << Describe(t.result);

  ASSERT_TRUE(CallUnary(channel_, kDescribeZones, "").status.ok());  // warm
  control_->Reset();
  control_->Rule(R"({"action":"DescribeInstances","fault":"reset"})");
  t = TimedCall(channel_, kDescribeInstances);
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE);
  EXPECT_EQ(control_->Count("DescribeInstances"), 3)
      << "more requests than --max-attempts=3";
}

TEST_F(RetryTest, ClientTokenMakesANonIdempotentActionRetriable) {
  StartGatewayWith({});
  control_->Rule(R"({"action":"RunInstances","times":1,"fault":"reset"})");
  const std::string params = R"({"ClientToken":"token-123","InstanceCount":1})";
  Timed t = TimedCall(channel_, kJsonApiCall, Untyped("RunInstances", params));
  ASSERT_TRUE(t.result.status.ok()) << Describe(t.result);
  auto requests = control_->Requests("RunInstances");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_STREQ(requests[0]["body"].GetString(), params.c_str());
  EXPECT_STREQ(requests[1]["body"].GetString(), params.c_str());
}

TEST_F(RetryTest, UntypedNonIdempotentActionWithoutClientTokenIsNotRetried) {
  StartGatewayWith({});
  control_->Rule(R"({"action":"RunInstances","times":1,"fault":"reset"})");
  Timed t = TimedCall(channel_, kJsonApiCall,
                      Untyped("RunInstances", R"({"InstanceCount":1})"));
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE)
      << Describe(t.result);
  EXPECT_EQ(control_->Count("RunInstances"), 1);
}

TEST_F(RetryTest, NonIdempotentActionsFlagOverridesThePrefix) {
  StartGatewayWith({"--non-idempotent-actions=DescribeInstances"});
  control_->Rule(R"({"action":"DescribeInstances","times":1,"fault":"reset"})");
  Timed t = TimedCall(channel_, kDescribeInstances);
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE)
      << Describe(t.result);
  EXPECT_EQ(control_->Count("DescribeInstances"), 1);
}

TEST_F(RetryTest, IdempotentActionsFlagMakesAnActionRetriable) {
  StartGatewayWith({"--idempotent-actions=RunInstances"});
  control_->Rule(R"({"action":"RunInstances","times":1,"fault":"reset"})");
  Timed t = TimedCall(channel_, kRunInstances);
  ASSERT_TRUE(t.result.status.ok()) << Describe(t.result);
  EXPECT_EQ(control_->Count("RunInstances"), 2);
}

TEST_F(RetryTest, IdempotentPrefixesFlagReplacesTheDefaults) {
  // Describe* is no longer an idempotent prefix.
  StartGatewayWith({"--idempotent-prefixes=Inquiry"});
  control_->Rule(R"({"action":"DescribeInstances","times":1,"fault":"reset"})");
  Timed t = TimedCall(channel_, kDescribeInstances);
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE)
      << Describe(t.result);
  EXPECT_EQ(control_->Count("DescribeInstances"), 1);
}

TEST_F(RetryTest, BusyHttpStatusesWithoutEnvelopeRetriedOnlyWhenIdempotent) {
  StartGatewayWith({});
  for (int status : {502, 503, 504, 429}) {
    SCOPED_TRACE(status);
    const std::string rule = absl::StrCat(
        R"(,"times":1,"status":)", status,
        R"(,"body":"<html>busy</html>","headers":{"Content-Type":"text/html"}})");
    control_->Reset();
    control_->Rule(R"({"action":"DescribeInstances")" + rule);
    Timed t = TimedCall(channel_, kDescribeInstances);
    EXPECT_TRUE(t.result.status.ok()) << Describe(t.result);
    EXPECT_EQ(control_->Count("DescribeInstances"), 2);

    control_->Reset();
    control_->Rule(R"({"action":"RunInstances")" + rule);
    t = TimedCall(channel_, kRunInstances);
    EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE)
        << Describe(t.result);
    EXPECT_EQ(control_->Count("RunInstances"), 1);
  }
}

TEST_F(RetryTest, MaxAttemptsBoundsTransportRetries) {
  StartGatewayWith({"--max-attempts=4"});
  control_->Rule(R"({"action":"DescribeInstances","fault":"reset"})");
  Timed t = TimedCall(channel_, kDescribeInstances);
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE);
  EXPECT_EQ(control_->Count("DescribeInstances"), 4);
  // Three waits of at least 10, 20 and 40 ms (equal jitter on 20 ms).
  EXPECT_GE(t.elapsed, absl::Milliseconds(70));
}

TEST(RetryProcessTest, ConnectRefusedIsRetriedEvenForNonIdempotentActions) {
  // Nothing listens: no request ever left, so RunInstances may be retried.
  // No server sees the attempts; the time spent in backoff shows them:
  // waits of at least 100 ms and 200 ms (equal jitter on 200/400 ms).
  auto gateway = StartGateway(
      absl::StrCat("http://127.0.0.1:", RefusedPort()),
      {"--initial-backoff=200ms", "--max-backoff=5s", "--max-attempts=3"});
  ASSERT_NE(gateway, nullptr);
  Timed t = TimedCall(ChannelTo(*gateway), kRunInstances);
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE)
      << Describe(t.result);
  EXPECT_TRUE(absl::StrContains(t.result.status.error_message(),
                                "upstream unreachable"))
      << t.result.status.error_message();
  EXPECT_GE(t.elapsed, absl::Milliseconds(300));
}

// ===========================================================================
// Deadlines and cancellation.

class DeadlineTest : public UpstreamFixture {};

TEST_F(DeadlineTest, DeadlineBoundsAnUpstreamThatDoesNotAnswer) {
  StartGatewayWith({"--max-attempts=3"});
  control_->Rule(R"({"action":"DescribeInstances","delay_ms":20000})");
  Timed t =
      TimedCall(channel_, kDescribeInstances, "", absl::Milliseconds(500));
  EXPECT_EQ(t.result.status.error_code(), grpc::DEADLINE_EXCEEDED)
      << Describe(t.result);
  EXPECT_GE(t.elapsed, absl::Milliseconds(450));
  // Long before the answer; the margin is for a loaded machine.
  EXPECT_LT(t.elapsed, absl::Seconds(10));
  EXPECT_EQ(control_->Count("DescribeInstances"), 1);
}

TEST_F(DeadlineTest, DeadlineBoundsRetriesAndBackoff) {
  // Each backoff (400 ms, doubling) would take the call far past its 1 s
  // deadline with 10 attempts: it must end by the deadline.
  StartGatewayWith(
      {"--max-attempts=10", "--rate-limit-backoff=400ms", "--max-backoff=10s"});
  control_->Rule(
      R"({"action":"DescribeInstances","error":{"Code":"RequestLimitExceeded"}})");
  Timed t = TimedCall(channel_, kDescribeInstances, "", absl::Seconds(1));
  EXPECT_TRUE(t.result.status.error_code() == grpc::RESOURCE_EXHAUSTED ||
              t.result.status.error_code() == grpc::DEADLINE_EXCEEDED)
      << Describe(t.result);
  // Far below the 10 attempts' backoff; the margin is for a loaded machine.
  EXPECT_LT(t.elapsed, absl::Seconds(10));
  int n = control_->Count("DescribeInstances");
  EXPECT_GE(n, 1);
  EXPECT_LE(n, 3);
}

TEST_F(DeadlineTest, DefaultTimeoutBoundsCallsWithoutDeadline) {
  StartGatewayWith({"--default-timeout=600ms"});
  control_->Rule(R"({"action":"DescribeInstances","delay_ms":20000})");
  absl::Time start = absl::Now();
  UnaryResult r =
      RawCall(channel_, kDescribeInstances, "", std::nullopt, std::nullopt);
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(r.status.error_code(), grpc::DEADLINE_EXCEEDED) << Describe(r);
  EXPECT_GE(elapsed, absl::Milliseconds(550));
  // Long before the answer; the margin is for a loaded machine.
  EXPECT_LT(elapsed, absl::Seconds(10));
}

TEST_F(DeadlineTest, ClientCancelAbortsTheUpstreamRequest) {
  // One connection per host: if the cancelled call's upstream request kept
  // running, the next call would wait behind it for the full 20 s delay.
  StartGatewayWith({"--max-connections-per-host=1"});
  ASSERT_TRUE(CallUnary(channel_, kDescribeZones, "").status.ok());  // warm
  control_->Reset();
  control_->Rule(
      R"({"action":"DescribeInstances","times":1,"delay_ms":20000})");
  absl::Time start = absl::Now();
  UnaryResult cancelled = RawCall(channel_, kDescribeInstances, "",
                                  absl::Seconds(10), absl::Milliseconds(300));
  EXPECT_EQ(cancelled.status.error_code(), grpc::CANCELLED);
  Timed next = TimedCall(channel_, kDescribeZones);
  ASSERT_TRUE(next.result.status.ok()) << Describe(next.result);
  // The margin below 20 s is for a loaded machine.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(control_->Count("DescribeInstances"), 1);
  // The connection that carried the cancelled request was closed: the next
  // call needed a new one.
  EXPECT_EQ(control_->EmulatorStats().connections, 1);
}

// ===========================================================================
// TLS.

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator_ = StartEmulator({.tls = true});
    ASSERT_NE(emulator_, nullptr);
    ASSERT_TRUE(absl::StartsWith(emulator_->address(), "https://"));
    control_ = std::make_unique<Control>(emulator_->address(), Cert("ca.pem"));
    ASSERT_EQ(control_->Do("GET", "/_emulator/health").status, 200);
  }
  std::string port() const { return PortOf(emulator_->address()); }

  // Waits until the emulator has counted a failed handshake (30 s at most:
  // only a failing test waits that long).
  Control::Stats StatsAfterFailure() {
    Control::Stats s;
    absl::Time give_up = absl::Now() + absl::Seconds(30);
    do {
      s = control_->EmulatorStats();
      if (s.tls_failures > 0) break;
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < give_up);
    return s;
  }

  std::unique_ptr<Process> emulator_;
  std::unique_ptr<Control> control_;
};

TEST_F(TlsTest, VerifiedWithTheConfiguredCaBundle) {
  auto gateway =
      StartGateway(emulator_->address(), {"--ca-file=" + Cert("ca.pem")});
  ASSERT_NE(gateway, nullptr);
  control_->Reset();
  UnaryResult r = CallUnary(ChannelTo(*gateway), kDescribeInstances, "");
  ASSERT_TRUE(r.status.ok()) << Describe(r);
  auto requests = control_->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0]["signature_ok"].GetBool());
  EXPECT_EQ(control_->EmulatorStats().tls_handshakes, 1);
}

TEST_F(TlsTest, WrongCaIsUnavailableNamingTheTlsFailure) {
  auto gateway =
      StartGateway(emulator_->address(), {"--ca-file=" + Cert("other-ca.pem")});
  ASSERT_NE(gateway, nullptr);
  control_->Reset();
  UnaryResult r = CallUnary(ChannelTo(*gateway), kDescribeInstances, "");
  EXPECT_EQ(r.status.error_code(), grpc::UNAVAILABLE);
  EXPECT_TRUE(
      absl::StartsWith(r.status.error_message(), "upstream TLS failure: "))
      << r.status.error_message();
  Control::Stats s = StatsAfterFailure();
  EXPECT_GE(s.tls_failures, 1);
  EXPECT_EQ(s.requests, 0);
  // A certificate problem is not retried.
  EXPECT_EQ(s.connections, 1);
}

TEST_F(TlsTest, VerificationIsOnByDefault) {
  // No --ca-file: the system's trust store does not know the test CA.
  auto gateway = StartGateway(emulator_->address(), {});
  ASSERT_NE(gateway, nullptr);
  control_->Reset();
  UnaryResult r = CallUnary(ChannelTo(*gateway), kDescribeInstances, "");
  EXPECT_EQ(r.status.error_code(), grpc::UNAVAILABLE);
  EXPECT_TRUE(
      absl::StartsWith(r.status.error_message(), "upstream TLS failure: "))
      << r.status.error_message();
  EXPECT_EQ(StatsAfterFailure().requests, 0);
}

TEST_F(TlsTest, ConnectToKeepsTheUrlHostForSniHostAndCertificate) {
  const std::string p = port();
  auto gateway = StartGateway(
      absl::StrCat("https://{service}.tencentcloudapi.test:", p),
      {"--ca-file=" + Cert("ca.pem"),
       absl::StrCat("--connect-to=cvm.tencentcloudapi.test:", p, ":127.0.0.1:",
                    p, ",cbs.tencentcloudapi.test:", p, ":127.0.0.1:", p)});
  ASSERT_NE(gateway, nullptr);
  auto channel = ChannelTo(*gateway);
  control_->Reset();
  UnaryResult r = CallUnary(channel, kDescribeInstances, "");
  ASSERT_TRUE(r.status.ok()) << Describe(r);
  auto requests = control_->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(std::string(requests[0]["headers"]["host"].GetString()),
            absl::StrCat("cvm.tencentcloudapi.test:", p));
  EXPECT_TRUE(requests[0]["signature_ok"].GetBool());
  // The certificate is checked against the URL's host: it does not cover
  // cbs.tencentcloudapi.test, although the connection goes to the same
  // server.
  UnaryResult other =
      CallUnary(channel, kJsonApiCall, Untyped("DescribeDisks", "{}", "cbs"));
  EXPECT_EQ(other.status.error_code(), grpc::UNAVAILABLE) << Describe(other);
  EXPECT_TRUE(
      absl::StartsWith(other.status.error_message(), "upstream TLS failure"))
      << other.status.error_message();
}

// ===========================================================================
// Endpoints: the template's {service} and {region}, per-service overrides.

class EndpointTest : public UpstreamFixture {
 protected:
  std::string port() const { return PortOf(emulator_->address()); }
};

std::string HostOf(const rapidjson::Value& request) {
  return request["headers"]["host"].GetString();
}

TEST_F(EndpointTest, ServiceAndRegionFillTheTemplate) {
  const std::string p = port();
  auto gateway = StartGateway(
      absl::StrCat("http://{service}.{region}.api.test:", p),
      {absl::StrCat("--connect-to=cvm.ap-guangzhou.api.test:", p, ":127.0.0.1:",
                    p, ",cvm.ap-shanghai.api.test:", p, ":127.0.0.1:", p)});
  ASSERT_NE(gateway, nullptr);
  auto channel = ChannelTo(*gateway);
  control_->Reset();
  // The gateway's --region, then the caller's x-tc-region.
  UnaryResult by_default = CallUnary(channel, kDescribeInstances, "");
  ASSERT_TRUE(by_default.status.ok()) << Describe(by_default);
  UnaryResult by_caller = CallUnary(channel, kDescribeInstances, "",
                                    {{"x-tc-region", "ap-shanghai"}});
  ASSERT_TRUE(by_caller.status.ok()) << Describe(by_caller);
  auto requests = control_->Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(HostOf(requests[0]), "cvm.ap-guangzhou.api.test:" + p);
  EXPECT_EQ(HostOf(requests[1]), "cvm.ap-shanghai.api.test:" + p);
  EXPECT_TRUE(requests[1]["signature_ok"].GetBool());
}

TEST_F(EndpointTest, ServiceEndpointOverridesTheTemplate) {
  auto gateway =
      StartGateway(absl::StrCat("http://127.0.0.1:", RefusedPort()),
                   {"--service-endpoint=cvm=" + emulator_->address()});
  ASSERT_NE(gateway, nullptr);
  auto channel = ChannelTo(*gateway);
  control_->Reset();
  UnaryResult cvm = CallUnary(channel, kDescribeInstances, "");
  EXPECT_TRUE(cvm.status.ok()) << Describe(cvm);
  // Any other service still goes to the template: nothing listens there.
  UnaryResult cbs =
      CallUnary(channel, kJsonApiCall, Untyped("DescribeDisks", "{}", "cbs"));
  EXPECT_EQ(cbs.status.error_code(), grpc::UNAVAILABLE) << Describe(cbs);
  EXPECT_EQ(control_->Requests().size(), 1u);
}

// ===========================================================================
// Who calls: every request, retries included, names the gateway and its HTTP
// client, and still verifies (docs/operations.md, "What the upstream sees").

TEST_F(EndpointTest, EveryRequestNamesTheGatewayAndItsVersion) {
  StartGatewayWith({});
  control_->Reset();
  control_->Rule(
      R"({"action":"DescribeInstances","times":1,"error":{"Code":"RequestLimitExceeded"}})");
  UnaryResult typed = CallUnary(channel_, kDescribeInstances, "");
  ASSERT_TRUE(typed.status.ok()) << Describe(typed);
  UnaryResult untyped =
      CallUnary(channel_, kJsonApiCall, Untyped("DescribeZones", "{}"));
  ASSERT_TRUE(untyped.status.ok()) << Describe(untyped);

  const std::string client = absl::StrCat("envelope-gateway/", kVersion);
  const std::string agent = absl::StrCat(
      client, " libcurl/", curl_version_info(CURLVERSION_NOW)->version);
  auto requests = control_->Requests();
  ASSERT_EQ(requests.size(), 3u);  // the rate-limited attempt, its retry, one
  for (const auto& request : requests) {
    const rapidjson::Value& headers = request["headers"];
    ASSERT_TRUE(headers.HasMember("x-tc-requestclient"));
    EXPECT_EQ(headers["x-tc-requestclient"].GetString(), client);
    ASSERT_TRUE(headers.HasMember("user-agent"));
    EXPECT_EQ(headers["user-agent"].GetString(), agent);
    // The trace context too (docs/operations.md, "Traces"): a new trace
    // per call here, an id per attempt.
    ASSERT_TRUE(headers.HasMember("traceparent"));
    EXPECT_TRUE(
        trace::ParseTraceparent(headers["traceparent"].GetString()).has_value())
        << headers["traceparent"].GetString();
    // Not signed: the signature covers content-type and host only.
    EXPECT_TRUE(request["signature_ok"].GetBool());
    EXPECT_TRUE(absl::StrContains(headers["authorization"].GetString(),
                                  "SignedHeaders=content-type;host,"))
        << headers["authorization"].GetString();
  }
}

// ===========================================================================
// Proxies.

class ProxyTest : public TlsTest {
 protected:
  void SetUp() override {
    TlsTest::SetUp();
    proxy_ = StartHelper({"/usr/bin/python3", FORWARD_PROXY_PY, "--listen",
                          "127.0.0.1:0", "--quiet"});
    ASSERT_NE(proxy_, nullptr);
  }

  rapidjson::Document ProxyStats() {
    rapidjson::Document doc;
    doc.Parse(
        testing::Http("GET", proxy_->address() + "/_proxy/stats").body.c_str());
    return doc;
  }

  // One call through a gateway started with these flags and environment;
  // returns the proxy's tunnel count.
  int CallAndCountTunnels(const std::vector<std::string>& flags,
                          const std::vector<std::string>& env) {
    auto gateway =
        StartGateway(emulator_->address(),
                     Concat({"--ca-file=" + Cert("ca.pem")}, flags), env);
    EXPECT_NE(gateway, nullptr);
    if (gateway == nullptr) return -1;
    control_->Reset();
    UnaryResult r = CallUnary(ChannelTo(*gateway), kDescribeInstances, "");
    EXPECT_TRUE(r.status.ok()) << Describe(r);
    EXPECT_EQ(control_->Count("DescribeInstances"), 1);
    rapidjson::Document stats = ProxyStats();
    int connects = stats["connects"].GetInt();
    if (connects > 0) {
      bool seen = false;
      for (const auto& target : stats["targets"].GetArray()) {
        seen |= target.GetString() == absl::StrCat("127.0.0.1:", port());
      }
      EXPECT_TRUE(seen);
    }
    return connects;
  }

  std::unique_ptr<Process> proxy_;
};

TEST_F(ProxyTest, ProxyFlagTunnelsThroughTheProxy) {
  EXPECT_EQ(CallAndCountTunnels({"--proxy=" + proxy_->address()}, {}), 1);
}

TEST_F(ProxyTest, HttpsProxyEnvironmentIsHonoured) {
  EXPECT_EQ(CallAndCountTunnels({}, {"HTTPS_PROXY=" + proxy_->address()}), 1);
}

TEST_F(ProxyTest, NoProxyEnvironmentBypassesTheProxy) {
  EXPECT_EQ(CallAndCountTunnels(
                {}, {"HTTPS_PROXY=" + proxy_->address(), "NO_PROXY=127.0.0.1"}),
            0);
}

TEST_F(ProxyTest, NoProxyFlagBypassesTheProxy) {
  EXPECT_EQ(CallAndCountTunnels(
                {"--proxy=" + proxy_->address(), "--no-proxy=127.0.0.1"}, {}),
            0);
}

TEST(PlainProxyTest, PlainHttpEndpointIsForwardedByTheProxy) {
  auto emulator = StartEmulator();
  ASSERT_NE(emulator, nullptr);
  auto proxy = StartHelper({"/usr/bin/python3", FORWARD_PROXY_PY, "--listen",
                            "127.0.0.1:0", "--quiet"});
  ASSERT_NE(proxy, nullptr);
  auto gateway =
      StartGateway(emulator->address(), {"--proxy=" + proxy->address()});
  ASSERT_NE(gateway, nullptr);
  UnaryResult r = CallUnary(ChannelTo(*gateway), kDescribeInstances, "");
  ASSERT_TRUE(r.status.ok()) << Describe(r);
  rapidjson::Document stats;
  stats.Parse(
      testing::Http("GET", proxy->address() + "/_proxy/stats").body.c_str());
  EXPECT_EQ(stats["forwarded"].GetInt(), 1);
}

// ===========================================================================
// Connection reuse and the per-host cap.

class ConnectionTest : public TlsTest {};

TEST_F(ConnectionTest, KeepAliveOverTlsFewHandshakesPerThousandCalls) {
  auto gateway =
      StartGateway(emulator_->address(), {"--ca-file=" + Cert("ca.pem")});
  ASSERT_NE(gateway, nullptr);
  auto channel = ChannelTo(*gateway);
  control_->Reset();
  int ok = 0;
  for (int i = 0; i < 1000; ++i) {
    UnaryResult r =
        CallUnary(channel, kDescribeZones, "", {}, absl::Seconds(5));
    ASSERT_TRUE(r.status.ok()) << "call " << i << ": " << Describe(r);
    ++ok;
  }
  Control::Stats s = control_->EmulatorStats();
  std::printf("handshakes per 1000 calls: %ld\n", s.tls_handshakes);
  EXPECT_EQ(ok, 1000);
  EXPECT_EQ(s.requests, 1000);
  EXPECT_LE(s.tls_handshakes, 5);
  EXPECT_GE(s.tls_handshakes, 1);
}

TEST(ConnectionCapTest, ConcurrentCallsShareAtMostTheCappedConnections) {
  auto emulator = StartEmulator();
  ASSERT_NE(emulator, nullptr);
  Control control(emulator->address());
  auto gateway =
      StartGateway(emulator->address(), {"--max-connections-per-host=2"});
  ASSERT_NE(gateway, nullptr);
  auto channel = ChannelTo(*gateway);
  control.Reset();
  control.Rule(R"({"action":"DescribeZones","delay_ms":200})");
  constexpr int kCalls = 20;
  std::atomic<int> ok{0};
  absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&] {
      if (CallUnary(channel, kDescribeZones, "", {}, absl::Seconds(20))
              .status.ok()) {
        ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(ok.load(), kCalls);
  Control::Stats s = control.EmulatorStats();
  EXPECT_EQ(s.requests, kCalls);
  EXPECT_LE(s.connections, 2);
  // Two at a time, 200 ms each.
  EXPECT_GE(elapsed, absl::Milliseconds(kCalls / 2 * 200));
}

// ===========================================================================
// Transport faults and their status.

class FaultTest : public UpstreamFixture {};

TEST(FaultProcessTest, ConnectRefusedIsUnavailable) {
  auto gateway = StartGateway(absl::StrCat("http://127.0.0.1:", RefusedPort()),
                              {"--max-attempts=1"});
  ASSERT_NE(gateway, nullptr);
  UnaryResult r = CallUnary(ChannelTo(*gateway), kDescribeInstances, "");
  EXPECT_EQ(r.status.error_code(), grpc::UNAVAILABLE);
  EXPECT_TRUE(
      absl::StrContains(r.status.error_message(), "upstream unreachable"))
      << r.status.error_message();
}

TEST_F(FaultTest, PartialResponseIsUnavailable) {
  StartGatewayWith({"--max-attempts=3"});
  control_->Rule(R"({"action":"RunInstances","fault":"partial"})");
  Timed t = TimedCall(channel_, kRunInstances);
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE)
      << Describe(t.result);
  EXPECT_EQ(control_->Count("RunInstances"), 1);
  // An idempotent action is retried, up to --max-attempts.
  control_->Rule(R"({"action":"DescribeInstances","fault":"partial"})");
  t = TimedCall(channel_, kDescribeInstances);
  EXPECT_EQ(t.result.status.error_code(), grpc::UNAVAILABLE)
      << Describe(t.result);
  EXPECT_EQ(control_->Count("DescribeInstances"), 3);
}

TEST_F(FaultTest, ResponseOverTheSizeLimitIsInternal) {
  StartGatewayWith({"--max-response-bytes=4096"});
  control_->Rule(
      absl::StrCat(R"({"action":"DescribeInstances","response":{"Pad":")",
                   std::string(8000, 'x'), R"("}})"));
  UnaryResult r =
      CallUnary(channel_, kJsonApiCall, Untyped("DescribeInstances", "{}"));
  EXPECT_EQ(r.status.error_code(), grpc::INTERNAL) << Describe(r);
  EXPECT_TRUE(absl::StrContains(r.status.error_message(), "size limit"))
      << r.status.error_message();
  EXPECT_EQ(control_->Count("DescribeInstances"), 1);
  // Under the limit the same gateway answers.
  control_->Reset();
  r = CallUnary(channel_, kJsonApiCall, Untyped("DescribeZones", "{}"));
  EXPECT_TRUE(r.status.ok()) << Describe(r);
}

// ===========================================================================
// Credentials.

TEST(CredentialsTest, SessionTokenIsSentAsXTcTokenAndVerified) {
  auto emulator = StartEmulator({.session_token = "session-token-1"});
  ASSERT_NE(emulator, nullptr);
  Control control(emulator->address());
  auto gateway = StartGateway(emulator->address(), {},
                              {"TENCENTCLOUD_SESSION_TOKEN=session-token-1"});
  ASSERT_NE(gateway, nullptr);
  UnaryResult r = CallUnary(ChannelTo(*gateway), kDescribeInstances, "");
  ASSERT_TRUE(r.status.ok()) << Describe(r);
  auto requests = control.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_STREQ(requests[0]["headers"]["x-tc-token"].GetString(),
               "session-token-1");

  // A gateway holding another token is refused by the emulator.
  auto wrong = StartGateway(emulator->address(), {},
                            {"TENCENTCLOUD_SESSION_TOKEN=session-token-2"});
  ASSERT_NE(wrong, nullptr);
  r = CallUnary(ChannelTo(*wrong), kDescribeInstances, "");
  EXPECT_EQ(r.status.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(Trailer(r, "x-tc-error-code"), "AuthFailure.TokenFailure");
}

TEST(CredentialsTest, NoCredentialsIsUnavailableWithAClearMessage) {
  auto emulator = StartEmulator();
  ASSERT_NE(emulator, nullptr);
  Control control(emulator->address());
  const std::string home = ::testing::TempDir() + "envelope-upstream-home";
  std::filesystem::create_directories(home);
  auto gateway = StartGateway(emulator->address(), {}, {"HOME=" + home},
                              /*with_key=*/false);
  ASSERT_NE(gateway, nullptr);
  UnaryResult r = CallUnary(ChannelTo(*gateway), kDescribeInstances, "");
  EXPECT_EQ(r.status.error_code(), grpc::UNAVAILABLE);
  EXPECT_TRUE(absl::StrContains(r.status.error_message(), "no credentials"))
      << r.status.error_message();
  EXPECT_TRUE(
      absl::StrContains(r.status.error_message(), "TENCENTCLOUD_SECRET_ID"))
      << r.status.error_message();
  EXPECT_EQ(control.Count(), 0);
}

TEST(CredentialsTest, CvmRoleFromTheMetadataServiceSignsAcceptedCalls) {
  auto fake = StartHelper({"/usr/bin/python3", FAKE_CLOUD_PY});
  ASSERT_NE(fake, nullptr);
  // The fake issues generation n as AKIDtmp<n> / tmpkey<n> / token<n>; the
  // gateway's first fetch is generation 1.
  auto emulator = StartEmulator({.secret_id = "AKIDtmp1",
                                 .secret_key = "tmpkey1",
                                 .session_token = "token1"});
  ASSERT_NE(emulator, nullptr);
  Control control(emulator->address());
  auto gateway =
      StartGateway(emulator->address(),
                   {"--credential-sources=cvm-role",
                    "--metadata-url=" + fake->address() + "/latest/meta-data/"},
                   {}, /*with_key=*/false);
  ASSERT_NE(gateway, nullptr);
  auto channel = ChannelTo(*gateway);
  UnaryResult r;
  // The first fetch runs in the background: UNAVAILABLE until it is in.
  absl::Time give_up = absl::Now() + absl::Seconds(30);
  do {
    r = CallUnary(channel, kDescribeInstances, "", {}, absl::Seconds(5));
    if (r.status.error_code() != grpc::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < give_up);
  ASSERT_TRUE(r.status.ok()) << Describe(r);
  auto requests = control.Requests("DescribeInstances");
  ASSERT_GE(requests.size(), 1u);
  const auto& last = requests.back();
  EXPECT_TRUE(last["signature_ok"].GetBool());
  EXPECT_STREQ(last["headers"]["x-tc-token"].GetString(), "token1");
  EXPECT_TRUE(absl::StartsWith(last["headers"]["authorization"].GetString(),
                               "TC3-HMAC-SHA256 Credential=AKIDtmp1/"));
}

// Kubernetes-style Secret mount: the files are reached through `..data`, a
// link swapped in one step on rotation.
void WriteSecretVersion(const std::string& dir, const std::string& version,
                        const std::string& id, const std::string& key) {
  const std::string v = dir + "/" + version;
  std::filesystem::create_directories(v);
  std::ofstream(v + "/secret_id") << id << "\n";
  std::ofstream(v + "/secret_key") << key << "\n";
  const std::string tmp = dir + "/..data_tmp";
  std::filesystem::remove(tmp);
  std::filesystem::create_symlink(version, tmp);
  std::filesystem::rename(tmp, dir + "/..data");
}

TEST(CredentialsTest, SecretDirRotationIsPickedUpByTheRunningGateway) {
  // The emulator knows only the rotated pair.
  constexpr char kNewId[] = "AKIDROTATED00000000000000000000";
  constexpr char kNewKey[] = "rotated-secret-key-000000000000";
  auto emulator = StartEmulator({.secret_id = kNewId, .secret_key = kNewKey});
  ASSERT_NE(emulator, nullptr);
  const std::string dir = ::testing::TempDir() + "envelope-upstream-secret-" +
                          std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  WriteSecretVersion(dir, "..v1", kSecretId, kSecretKey);
  for (const char* name : {"secret_id", "secret_key"}) {
    std::filesystem::create_symlink(std::string("..data/") + name,
                                    dir + "/" + name);
  }
  auto gateway =
      StartGateway(emulator->address(),
                   {"--credential-sources=files", "--secret-dir=" + dir,
                    "--secret-poll-interval=300ms"},
                   {}, /*with_key=*/false);
  ASSERT_NE(gateway, nullptr);
  auto channel = ChannelTo(*gateway);
  UnaryResult before = CallUnary(channel, kDescribeInstances, "");
  EXPECT_EQ(before.status.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(Trailer(before, "x-tc-error-code"), "AuthFailure.SecretIdNotFound");

  WriteSecretVersion(dir, "..v2", kNewId, kNewKey);
  absl::Time rotated = absl::Now();
  // Polled every 300 ms (--secret-poll-interval); a `..data` swap is served
  // on the first poll that sees it.
  UnaryResult after;
  while (absl::Now() - rotated < absl::Seconds(30)) {
    after = CallUnary(channel, kDescribeInstances, "", {}, absl::Seconds(5));
    if (after.status.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(after.status.ok()) << Describe(after);
  std::printf("secret dir rotation picked up after %s\n",
              absl::FormatDuration(absl::Now() - rotated).c_str());
  std::filesystem::remove_all(dir);
}

// ===========================================================================
// The upstream module in this process: real libcurl, the emulator on
// loopback (it checks every signature).

class FixedCredentials : public CredentialSource {
 public:
  absl::StatusOr<Credentials> Get() const override {
    return Credentials{kSecretId, kSecretKey, ""};
  }
  std::string Describe() const override { return "test"; }
};

class InProcessUpstreamTest : public UpstreamFixture {
 protected:
  static constexpr long kPerHost = 8;

  void SetUp() override {
    UpstreamFixture::SetUp();
    ASSERT_FALSE(HasFatalFailure());
    UpstreamOptions options;
    options.endpoint_template = emulator_->address();
    options.credentials = std::make_shared<FixedCredentials>();
    options.http.max_connections_per_host = kPerHost;
    options.http.proxy = "";
    options.http.no_proxy = "*";  // whatever the environment says
    upstream_ = std::make_unique<Upstream>(std::move(options));
  }

  static ApiCall Call(const std::string& action, bool must_not_repeat = false) {
    return {.service = "cvm",
            .version = "2017-03-12",
            .action = action,
            .region = "ap-guangzhou",
            .body = "{}",
            .deadline = absl::Now() + absl::Seconds(20),
            .must_not_repeat = must_not_repeat};
  }

  // Answers collected from the I/O thread. Shared with the callbacks, so
  // that it outlives the last of them even when the test stops waiting.
  struct Answers {
    absl::Mutex mu;
    std::vector<HttpResponse> responses ABSL_GUARDED_BY(mu);
  };

  // Sends `count` calls at once and waits for their answers.
  std::vector<HttpResponse> SendAll(const ApiCall& call, int count) {
    auto answers = std::make_shared<Answers>();
    for (int i = 0; i < count; ++i) {
      upstream_->Send(call, [answers](HttpResponse response) {
        absl::MutexLock lock(&answers->mu);
        answers->responses.push_back(std::move(response));
      });
    }
    absl::MutexLock lock(&answers->mu);
    auto all_done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(answers->mu) {
      return answers->responses.size() == static_cast<size_t>(count);
    };
    EXPECT_TRUE(answers->mu.AwaitWithTimeout(absl::Condition(&all_done),
                                             absl::Seconds(60)));
    return std::move(answers->responses);
  }

  HttpResponse SendAndWait(const ApiCall& call) {
    std::vector<HttpResponse> responses = SendAll(call, 1);
    return responses.empty() ? HttpResponse() : std::move(responses[0]);
  }

  // `count` calls sent at once; returns how many were answered without an
  // error envelope (i.e. signed as the emulator expects).
  int SendBurst(int count) {
    int accepted = 0;
    for (const HttpResponse& response : SendAll(Call("DescribeZones"), count)) {
      if (Accepted(response)) ++accepted;
    }
    return accepted;
  }

  static bool Accepted(const HttpResponse& response) {
    return response.transport.ok() && response.status == 200 &&
           absl::StrContains(response.body, "\"Response\"") &&
           !absl::StrContains(response.body, "\"Error\"");
  }

  std::unique_ptr<Upstream> upstream_;
};

// libcurl alone would size its connection cache to 4 per running transfer
// and close pooled connections whenever the load dips; bursts after quiet
// periods would then open new ones. With the cache sized for the pool, 200
// calls one after another and 200 more in bursts use the pool's
// connections and no others.
TEST_F(InProcessUpstreamTest, KeepAliveOpensNoMoreConnectionsThanThePool) {
  int accepted = 0;
  for (int i = 0; i < 200; ++i) {
    HttpResponse response = SendAndWait(Call("DescribeZones"));
    ASSERT_TRUE(Accepted(response))
        << "call " << i << ": " << response.transport << " " << response.status
        << " " << response.body;
    ++accepted;
  }
  EXPECT_EQ(upstream_->stats().connections, 1);
  // Bursts as large as the pool, each after the previous one has finished:
  // the load goes from 8 transfers to none and back, 25 times. (Left to
  // itself, libcurl closed a connection at the end of each burst, as the
  // last transfer's 4 were fewer than the 8 open.)
  for (int burst = 0; burst < 25; ++burst) accepted += SendBurst(8);
  EXPECT_EQ(accepted, 400);
  HttpClient::Stats stats = upstream_->stats();
  std::printf("connections for 400 calls: %lld\n",
              static_cast<long long>(stats.connections));
  EXPECT_EQ(stats.requests, 400);
  EXPECT_GE(stats.connections, 1);
  EXPECT_LE(stats.connections, kPerHost);
  EXPECT_LE(control_->EmulatorStats().connections, kPerHost);
}

// The easy handles are reused (reset between transfers): one transfer's
// settings do not carry over. A call that must not be sent twice gets a new
// connection each time; the calls after it reuse connections again.
TEST_F(InProcessUpstreamTest, ReusedHandlesStartFromDefaults) {
  ASSERT_TRUE(Accepted(SendAndWait(Call("DescribeZones"))));
  ASSERT_EQ(upstream_->stats().connections, 1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Accepted(SendAndWait(Call("DescribeZones", true))));
  }
  EXPECT_EQ(upstream_->stats().connections, 4);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Accepted(SendAndWait(Call("DescribeZones"))));
  }
  EXPECT_EQ(upstream_->stats().connections, 4);
  // A transfer cancelled in flight gives its handle back too.
  control_->Rule(R"({"action":"DescribeInstances","times":1,"delay_ms":5000})");
  auto answers = std::make_shared<Answers>();
  HttpClient::TransferId id = upstream_->Send(
      Call("DescribeInstances"), [answers](HttpResponse response) {
        absl::MutexLock lock(&answers->mu);
        answers->responses.push_back(std::move(response));
      });
  absl::SleepFor(absl::Milliseconds(100));
  upstream_->Cancel(id);
  {
    absl::MutexLock lock(&answers->mu);
    auto answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(answers->mu) {
      return !answers->responses.empty();
    };
    ASSERT_TRUE(answers->mu.AwaitWithTimeout(absl::Condition(&answered),
                                             absl::Seconds(10)));
    EXPECT_EQ(answers->responses[0].transport.code(),
              absl::StatusCode::kCancelled);
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Accepted(SendAndWait(Call("DescribeZones"))));
  }
}

// libcurl re-sends, once and unasked, a request whose reused connection
// turns out dead before any answer byte. The answer says so (the caller
// counts it as an attempt), and a call that must not be repeated never
// rides a reused connection, so it is never re-sent.
TEST_F(InProcessUpstreamTest, LibcurlsOwnResendIsCounted) {
  ASSERT_TRUE(Accepted(SendAndWait(Call("DescribeZones"))));  // warm
  control_->Reset();
  control_->Rule(R"({"action":"DescribeInstances","times":1,"fault":"reset"})");
  HttpResponse resent = SendAndWait(Call("DescribeInstances"));
  EXPECT_TRUE(Accepted(resent)) << resent.transport;
  EXPECT_EQ(resent.resends, 1);
  EXPECT_EQ(control_->Count("DescribeInstances"), 2);

  ASSERT_TRUE(Accepted(SendAndWait(Call("DescribeZones"))));  // warm
  HttpResponse plain = SendAndWait(Call("DescribeZones"));
  EXPECT_TRUE(Accepted(plain));
  EXPECT_EQ(plain.resends, 0);

  control_->Reset();
  control_->Rule(R"({"action":"RunInstances","times":1,"fault":"reset"})");
  HttpResponse once = SendAndWait(Call("RunInstances", true));
  EXPECT_EQ(once.transport.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(once.request_sent);
  EXPECT_EQ(once.resends, 0);
  EXPECT_EQ(control_->Count("RunInstances"), 1);
}

TEST(HttpHeadersTest, KeepsLinesInOrderAndMoves) {
  HttpHeaders headers;
  EXPECT_TRUE(headers.empty());
  headers.Add("Host", "cvm.tencentcloudapi.com");
  headers.AddLine("Expect:");
  const std::string long_value(1000, 'v');  // past the stack buffer
  headers.Add("X-TC-Token", long_value);
  HttpHeaders moved = std::move(headers);
  EXPECT_TRUE(headers.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(moved.Lines(),
            (std::vector<std::string>{"Host: cvm.tencentcloudapi.com",
                                      "Expect:", "X-TC-Token: " + long_value}));
  headers = std::move(moved);
  headers.Add("X-TC-Action", "DescribeZones");
  EXPECT_EQ(headers.Lines().size(), 4u);
  EXPECT_EQ(headers.Lines().back(), "X-TC-Action: DescribeZones");
}

}  // namespace
}  // namespace envelope
