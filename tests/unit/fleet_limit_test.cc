// The fleet-wide limit's gate (gateway/fleet_limit/fleet_limit.h) against
// an in-process rate limit service speaking the vendored protocol: what it
// asks, what each answer becomes, and what it does when no answer comes
// (unreachable, too slow, the call's deadline, its own destruction). No
// timed assertion: a slow service is one held until the verdict arrived.
#include "gateway/fleet_limit/fleet_limit.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "gateway/envelope/reason.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

namespace rls = ::envoy::service::ratelimit::v3;

constexpr char kSecretId[] = "AKIDFLEETLIMITTEST0000000000000000";

class FixedCredentials : public CredentialSource {
 public:
  explicit FixedCredentials(bool ready) : ready_(ready) {}
  absl::StatusOr<Credentials> Get() const override {
    if (!ready_) return absl::UnavailableError("none yet");
    return Credentials{.secret_id = kSecretId, .secret_key = "k"};
  }
  std::string Describe() const override { return "fixed"; }

 private:
  bool ready_;
};

// Answers with `answer` (OK by default); while `hold` is set, each question
// waits for `release` first.
class FakeService final : public rls::RateLimitService::Service {
 public:
  grpc::Status ShouldRateLimit(grpc::ServerContext* context,
                               const rls::RateLimitRequest* request,
                               rls::RateLimitResponse* response) override {
    bool hold;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(*request);
      hold = hold_;
      if (!asked_.HasBeenNotified()) asked_.Notify();
    }
    if (hold) release_.WaitForNotification();
    absl::MutexLock lock(&mu_);
    *response = answer_;
    return status_;
  }

  void Answer(rls::RateLimitResponse answer,
              grpc::Status status = grpc::Status::OK) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
    status_ = std::move(status);
  }
  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  // Until the first question arrived.
  void WaitUntilAsked() { asked_.WaitForNotification(); }
  std::vector<rls::RateLimitRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  absl::Mutex mu_;
  std::vector<rls::RateLimitRequest> requests_ ABSL_GUARDED_BY(mu_);
  rls::RateLimitResponse answer_ ABSL_GUARDED_BY(mu_) = [] {
    rls::RateLimitResponse ok;
    ok.set_overall_code(rls::RateLimitResponse::OK);
    return ok;
  }();
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification asked_;
  absl::Notification release_;
};

// One Admit's verdict, waited for.
struct Outcome {
  absl::Notification arrived;
  std::optional<GateVerdict> verdict;
  int times = 0;
};

class FleetLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
    options_.address = absl::StrCat("127.0.0.1:", port_);
    options_.domain = "test-domain";
  }
  void TearDown() override {
    service_.Release();
    gate_.reset();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  FleetRateLimit& Gate(bool credentials_ready = true) {
    absl::StatusOr<std::unique_ptr<FleetRateLimit>> made =
        FleetRateLimit::Create(
            options_, std::make_shared<FixedCredentials>(credentials_ready));
    EXPECT_TRUE(made.ok()) << made.status();
    gate_ = *std::move(made);
    return *gate_;
  }

  static ApiCall Call(absl::Time deadline = absl::InfiniteFuture()) {
    ApiCall call;
    call.service = "cvm";
    call.version = "2017-03-12";
    call.action = "DescribeZones";
    call.deadline = deadline;
    return call;
  }

  // Admits `call` and waits for the verdict.
  static GateVerdict Admit(FleetRateLimit& gate, ApiCall call) {
    auto outcome = std::make_shared<Outcome>();
    gate.Admit(call, [outcome](GateVerdict verdict) {
      outcome->verdict = std::move(verdict);
      ++outcome->times;
      outcome->arrived.Notify();
    });
    outcome->arrived.WaitForNotification();
    EXPECT_EQ(outcome->times, 1);
    return *outcome->verdict;
  }

  // The refusal of deny mode when the service did not answer.
  static void ExpectUnavailable(const GateVerdict& verdict) {
    ASSERT_FALSE(verdict.admitted());
    EXPECT_EQ(verdict.refusal.code, absl::StatusCode::kUnavailable);
    EXPECT_EQ(verdict.refusal.reason,
              gateway_reason::kRateLimitServiceUnavailable);
    EXPECT_EQ(verdict.retry_after, absl::Seconds(1));
  }

  // A verdict that arrived while the service still held the question
  // (deny mode): cut off by the gate's timeout or the call's deadline.
  static void ExpectCutOff(const GateVerdict& verdict) {
    ExpectUnavailable(verdict);
    EXPECT_NE(verdict.refusal.message.find("DEADLINE_EXCEEDED"),
              std::string::npos)
        << verdict.refusal.message;
  }

  static rls::RateLimitResponse OverLimit(std::optional<absl::Duration> reset) {
    rls::RateLimitResponse answer;
    answer.set_overall_code(rls::RateLimitResponse::OVER_LIMIT);
    auto* status = answer.add_statuses();
    status->set_code(rls::RateLimitResponse::OVER_LIMIT);
    status->mutable_current_limit()->set_requests_per_unit(10);
    status->mutable_current_limit()->set_unit(
        rls::RateLimitResponse::RateLimit::SECOND);
    if (reset.has_value()) {
      status->mutable_duration_until_reset()->set_seconds(
          absl::ToInt64Seconds(*reset));
      status->mutable_duration_until_reset()->set_nanos(
          absl::ToInt64Nanoseconds(*reset % absl::Seconds(1)));
    }
    return answer;
  }

  FakeService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  FleetLimitOptions options_;
  std::unique_ptr<FleetRateLimit> gate_;
};

TEST_F(FleetLimitTest, OkLetsTheAttemptGoAndAsksForAccountServiceAction) {
  FleetRateLimit& gate = Gate();
  GateVerdict verdict = Admit(gate, Call());
  EXPECT_TRUE(verdict.admitted());
  EXPECT_EQ(verdict.wait, absl::ZeroDuration());

  std::vector<rls::RateLimitRequest> asked = service_.requests();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].domain(), "test-domain");
  EXPECT_EQ(asked[0].hits_addend(), 1u);
  ASSERT_EQ(asked[0].descriptors_size(), 1);
  const auto& entries = asked[0].descriptors(0).entries();
  ASSERT_EQ(entries.size(), 3);
  EXPECT_EQ(entries[0].key(), "account");
  EXPECT_EQ(entries[0].value(), kSecretId);
  EXPECT_EQ(entries[1].key(), "service");
  EXPECT_EQ(entries[1].value(), "cvm");
  EXPECT_EQ(entries[2].key(), "action");
  EXPECT_EQ(entries[2].value(), "DescribeZones");

  FleetLimitCounts counts = gate.counts();
  EXPECT_EQ(counts.ok, 1u);
  EXPECT_EQ(counts.over_limit + counts.failed_allowed + counts.failed_denied,
            0u);
}

TEST_F(FleetLimitTest, TheConfiguredAccountIsSentInsteadOfTheSecretId) {
  options_.account = "acme-prod";
  FleetRateLimit& gate = Gate();
  ASSERT_TRUE(Admit(gate, Call()).admitted());
  std::vector<rls::RateLimitRequest> asked = service_.requests();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].descriptors(0).entries(0).value(), "acme-prod");
}

TEST_F(FleetLimitTest, EveryAttemptAsksAgain) {
  FleetRateLimit& gate = Gate();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Admit(gate, Call()).admitted());
  EXPECT_EQ(service_.requests().size(), 3u);
  EXPECT_EQ(gate.counts().ok, 3u);
}

TEST_F(FleetLimitTest, WithoutCredentialsTheAttemptGoesUnasked) {
  FleetRateLimit& gate = Gate(/*credentials_ready=*/false);
  EXPECT_TRUE(Admit(gate, Call()).admitted());
  EXPECT_TRUE(service_.requests().empty());
}

TEST_F(FleetLimitTest, OverLimitEndsTheCallWithTheWindowsResetAsRetryInfo) {
  service_.Answer(OverLimit(absl::Milliseconds(400)));
  FleetRateLimit& gate = Gate();
  GateVerdict verdict = Admit(gate, Call());
  ASSERT_FALSE(verdict.admitted());
  EXPECT_EQ(verdict.refusal.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(verdict.refusal.reason, gateway_reason::kFleetRateLimit);
  EXPECT_NE(verdict.refusal.message.find("cvm:DescribeZones"),
            std::string::npos)
      << verdict.refusal.message;
  EXPECT_NE(verdict.refusal.message.find("10 per second"), std::string::npos)
      << verdict.refusal.message;
  ASSERT_TRUE(verdict.retry_after.has_value());
  EXPECT_EQ(*verdict.retry_after, absl::Milliseconds(400));
  EXPECT_EQ(gate.counts().over_limit, 1u);
  EXPECT_EQ(gate.counts().ok, 0u);
}

TEST_F(FleetLimitTest, OverLimitWithoutAResetLeavesTheDelayToTheDefault) {
  service_.Answer(OverLimit(std::nullopt));
  FleetRateLimit& gate = Gate();
  GateVerdict verdict = Admit(gate, Call());
  ASSERT_FALSE(verdict.admitted());
  EXPECT_EQ(verdict.refusal.reason, gateway_reason::kFleetRateLimit);
  EXPECT_FALSE(verdict.retry_after.has_value());
}

TEST_F(FleetLimitTest, AnAnswerWithoutACodeCountsAsNoAnswer) {
  service_.Answer(rls::RateLimitResponse());  // overall_code UNKNOWN
  options_.deny_when_unavailable = true;
  FleetRateLimit& gate = Gate();
  ExpectUnavailable(Admit(gate, Call()));
  EXPECT_EQ(gate.counts().failed_denied, 1u);
}

TEST_F(FleetLimitTest, AServiceErrorIsAllowedOrDeniedAsConfigured) {
  service_.Answer(rls::RateLimitResponse(),
                  grpc::Status(grpc::StatusCode::INTERNAL, "redis down"));
  {
    FleetRateLimit& gate = Gate();
    EXPECT_TRUE(Admit(gate, Call()).admitted());
    EXPECT_EQ(gate.counts().failed_allowed, 1u);
    EXPECT_EQ(gate.counts().failed_denied, 0u);
  }
  options_.deny_when_unavailable = true;
  FleetRateLimit& gate = Gate();
  GateVerdict verdict = Admit(gate, Call());
  ExpectUnavailable(verdict);
  EXPECT_NE(verdict.refusal.message.find("redis down"), std::string::npos)
      << verdict.refusal.message;
  EXPECT_EQ(gate.counts().failed_denied, 1u);
  EXPECT_EQ(gate.counts().failed_allowed, 0u);
}

TEST_F(FleetLimitTest, AnUnreachableServiceIsAllowedOrDeniedAsConfigured) {
  // A port nobody listens on any more.
  server_->Shutdown(absl::ToChronoTime(absl::Now()));
  server_->Wait();
  {
    FleetRateLimit& gate = Gate();
    EXPECT_TRUE(Admit(gate, Call()).admitted());
    EXPECT_EQ(gate.counts().failed_allowed, 1u);
  }
  options_.deny_when_unavailable = true;
  FleetRateLimit& gate = Gate();
  GateVerdict verdict = Admit(gate, Call());
  ExpectUnavailable(verdict);
  EXPECT_NE(verdict.refusal.message.find(options_.address), std::string::npos)
      << verdict.refusal.message;
}

TEST_F(FleetLimitTest, ASlowServiceIsCutOffAtTheTimeout) {
  service_.Hold();
  options_.timeout = absl::Milliseconds(50);
  options_.deny_when_unavailable = true;
  ExpectCutOff(Admit(Gate(), Call()));
}

TEST_F(FleetLimitTest, TheCallsDeadlineCutsTheQuestionShort) {
  service_.Hold();
  options_.timeout = absl::Hours(1);
  options_.deny_when_unavailable = true;
  ExpectCutOff(Admit(Gate(), Call(absl::Now() + absl::Milliseconds(50))));
}

TEST_F(FleetLimitTest, DestroyingTheGateEndsItsOpenQuestionsOnce) {
  service_.Hold();
  options_.timeout = absl::Hours(1);
  Gate();
  auto outcome = std::make_shared<Outcome>();
  ApiCall call = Call();
  gate_->Admit(call, [outcome](GateVerdict verdict) {
    outcome->verdict = std::move(verdict);
    ++outcome->times;
    outcome->arrived.Notify();
  });
  service_.WaitUntilAsked();
  EXPECT_FALSE(outcome->arrived.HasBeenNotified());
  gate_.reset();  // cancels, and waits for the verdict
  ASSERT_TRUE(outcome->arrived.HasBeenNotified());
  EXPECT_EQ(outcome->times, 1);
  EXPECT_TRUE(outcome->verdict->admitted());  // allow mode: it goes
  service_.Release();
}

TEST(FleetLimitOptionsTest, CreateRefusesWhatCannotWork) {
  EXPECT_FALSE(FleetRateLimit::Create({.address = "no-port"}, nullptr).ok());
  absl::StatusOr<std::unique_ptr<FleetRateLimit>> no_account =
      FleetRateLimit::Create({.address = "127.0.0.1:1"}, nullptr);
  ASSERT_FALSE(no_account.ok());
  EXPECT_NE(no_account.status().message().find("rate_limit_service_account"),
            std::string::npos);
  EXPECT_TRUE(FleetRateLimit::Create({.address = "127.0.0.1:1", .account = "a"},
                                     nullptr)
                  .ok());
  EXPECT_FALSE(FleetRateLimit::Create({.address = "127.0.0.1:1",
                                       .account = "a",
                                       .timeout = absl::ZeroDuration()},
                                      nullptr)
                   .ok());
}

TEST(FleetLimitOptionsTest, AddressesAreHostPortOrUnix) {
  for (const char* good :
       {"ratelimit:8081", "127.0.0.1:1", "[::1]:8081", "unix:/run/rls.sock",
        "ratelimit.infra.svc.cluster.local:65535"}) {
    EXPECT_TRUE(ValidateRateLimitServiceAddress(good).ok()) << good;
  }
  for (const char* bad :
       {"", "ratelimit", "ratelimit:", ":8081", "ratelimit:0",
        "ratelimit:65536", "ratelimit:80a", "ratelimit:+80", "[::1:8081",
        "http://ratelimit:8081", "unix:", "a b:80"}) {
    EXPECT_FALSE(ValidateRateLimitServiceAddress(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace envelope
