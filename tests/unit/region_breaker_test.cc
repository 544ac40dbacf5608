// The region breaker (gateway/route/region_breaker.h) on a clock the test
// moves: what counts as a failure; opening only when the window holds
// enough failures at a high enough share; failures leaving the window;
// open → half-open → closed or open again; bounded probes; the gate's
// refusal (UNAVAILABLE, REGION_BREAKER_OPEN, the time left open), its
// switch to the backup endpoint and back, and its bounded table.
#include "gateway/route/region_breaker.h"

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "gateway/envelope/reason.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

using Admission = EndpointBreaker::Admission;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);
const absl::Time kFar = kStart + absl::Hours(1);

RegionBreakerOptions Options() {
  return {.enabled = true,
          .window = absl::Seconds(10),
          .min_failures = 5,
          .failure_ratio = 0.75,
          .open_for = absl::Seconds(30)};
}

AttemptAnswer Http(long http_status) {
  return {.at = kStart, .http_status = http_status};
}

AttemptAnswer Transport(TransportFault fault) {
  return {.at = kStart, .transport = fault};
}

TEST(IsEndpointFailureTest, TransportFaultsAnd5xxOnly) {
  EXPECT_EQ(IsEndpointFailure(Transport(TransportFault::kUnreachable)), true);
  EXPECT_EQ(IsEndpointFailure(Transport(TransportFault::kTlsFailure)), true);
  EXPECT_EQ(IsEndpointFailure(Http(500)), true);
  EXPECT_EQ(IsEndpointFailure(Http(503)), true);
  EXPECT_EQ(IsEndpointFailure(Http(200)), false);  // envelopes included
  EXPECT_EQ(IsEndpointFailure(Http(404)), false);
  EXPECT_EQ(IsEndpointFailure(Http(429)), false);
  // Says nothing of the endpoint: the caller's deadline may be what was
  // short; the size limit is the gateway's.
  EXPECT_EQ(IsEndpointFailure(Transport(TransportFault::kTimeout)),
            std::nullopt);
  EXPECT_EQ(IsEndpointFailure(Transport(TransportFault::kTooLarge)),
            std::nullopt);
}

TEST(EndpointBreakerTest, OpensOnlyWithEnoughFailuresAtAHighEnoughShare) {
  const RegionBreakerOptions options = Options();
  EndpointBreaker breaker(options);
  // 4 failures: under min_failures however high the share.
  for (int i = 0; i < 4; ++i) breaker.OnAnswer(kStart, /*failed=*/true);
  EXPECT_EQ(breaker.State(kStart), BreakerState::kClosed);
  // 1 success: 4 of 5.
  breaker.OnAnswer(kStart, false);
  // The 5th failure: 5 of 6 = 0.83 >= 0.75.
  breaker.OnAnswer(kStart, true);
  EXPECT_EQ(breaker.State(kStart), BreakerState::kOpen);
  EXPECT_EQ(breaker.opened_by().failures, 5u);
  EXPECT_EQ(breaker.opened_by().attempts, 6u);
  EXPECT_EQ(breaker.open_until(), kStart + absl::Seconds(30));

  EndpointBreaker mostly_fine(options);
  for (int i = 0; i < 10; ++i) mostly_fine.OnAnswer(kStart, false);
  for (int i = 0; i < 20; ++i) mostly_fine.OnAnswer(kStart, true);
  // 20 of 30 = 0.67 < 0.75.
  EXPECT_EQ(mostly_fine.State(kStart), BreakerState::kClosed);
  mostly_fine.OnAnswer(kStart, true);
  mostly_fine.OnAnswer(kStart, true);
  // 22 of 32 = 0.69; 30 of 40 = 0.75 opens.
  EXPECT_EQ(mostly_fine.State(kStart), BreakerState::kClosed);
  for (int i = 0; i < 8; ++i) mostly_fine.OnAnswer(kStart, true);
  EXPECT_EQ(mostly_fine.State(kStart), BreakerState::kOpen);
}

TEST(EndpointBreakerTest, FailuresLeaveTheWindow) {
  const RegionBreakerOptions options = Options();  // window 10 s
  EndpointBreaker breaker(options);
  for (int i = 0; i < 4; ++i) breaker.OnAnswer(kStart, true);
  EXPECT_EQ(breaker.window(kStart).failures, 4u);
  // Still within the window 9 s on: the 5th opens it.
  EndpointBreaker within(options);
  for (int i = 0; i < 4; ++i) within.OnAnswer(kStart, true);
  within.OnAnswer(kStart + absl::Seconds(9), true);
  EXPECT_EQ(within.State(kStart + absl::Seconds(9)), BreakerState::kOpen);
  // 11 s on, the first four have left it.
  const absl::Time later = kStart + absl::Seconds(11);
  EXPECT_EQ(breaker.window(later).failures, 0u);
  breaker.OnAnswer(later, true);
  EXPECT_EQ(breaker.State(later), BreakerState::kClosed);
  EXPECT_EQ(breaker.window(later).failures, 1u);
  EXPECT_TRUE(breaker.Idle(kStart + absl::Seconds(30)));
}

TEST(EndpointBreakerTest, OpenThenHalfOpenWithOneProbeThenClosed) {
  const RegionBreakerOptions options = Options();
  EndpointBreaker breaker(options);
  EXPECT_EQ(breaker.Admit(kStart, kFar), Admission::kGo);
  for (int i = 0; i < 5; ++i) breaker.OnAnswer(kStart, true);
  const absl::Time reopen = kStart + absl::Seconds(30);
  EXPECT_EQ(breaker.Admit(reopen - absl::Milliseconds(1), kFar),
            Admission::kRefused);
  EXPECT_EQ(breaker.Admit(reopen, kFar), Admission::kProbe);
  EXPECT_EQ(breaker.State(reopen), BreakerState::kHalfOpen);
  // One probe at a time.
  EXPECT_EQ(breaker.Admit(reopen, kFar), Admission::kRefused);
  breaker.OnAnswer(reopen + absl::Milliseconds(5), false);
  EXPECT_EQ(breaker.State(reopen), BreakerState::kClosed);
  EXPECT_EQ(breaker.Admit(reopen, kFar), Admission::kGo);
  // Closed counts afresh: the failures before it opened are gone.
  EXPECT_EQ(breaker.window(reopen).failures, 0u);
  const std::array<uint64_t, 3> expected = {1, 1, 1};
  EXPECT_EQ(breaker.transitions(), expected);
}

TEST(EndpointBreakerTest, AFailedProbeOpensItForAnotherOpenFor) {
  const RegionBreakerOptions options = Options();
  EndpointBreaker breaker(options);
  for (int i = 0; i < 5; ++i) breaker.OnAnswer(kStart, true);
  const absl::Time probe = kStart + absl::Seconds(30);
  ASSERT_EQ(breaker.Admit(probe, kFar), Admission::kProbe);
  breaker.OnAnswer(probe + absl::Seconds(1), true);
  EXPECT_EQ(breaker.State(probe + absl::Seconds(1)), BreakerState::kOpen);
  EXPECT_EQ(breaker.open_until(), probe + absl::Seconds(31));
  EXPECT_EQ(breaker.Admit(probe + absl::Seconds(30), kFar),
            Admission::kRefused);
  EXPECT_EQ(breaker.Admit(probe + absl::Seconds(31), kFar), Admission::kProbe);
}

TEST(EndpointBreakerTest, AllProbesMustSucceedAndEachHoldsItsPlace) {
  RegionBreakerOptions options = Options();
  options.half_open_probes = 2;
  EndpointBreaker breaker(options);
  for (int i = 0; i < 5; ++i) breaker.OnAnswer(kStart, true);
  const absl::Time t = kStart + absl::Seconds(30);
  const absl::Time probe_deadline = t + absl::Seconds(2);
  EXPECT_EQ(breaker.Admit(t, probe_deadline), Admission::kProbe);
  EXPECT_EQ(breaker.Admit(t, kFar), Admission::kProbe);
  EXPECT_EQ(breaker.Admit(t, kFar), Admission::kRefused);
  breaker.OnAnswer(t, false);
  // One success of two: the place it held is not given again.
  EXPECT_EQ(breaker.State(t), BreakerState::kHalfOpen);
  EXPECT_EQ(breaker.Admit(t, kFar), Admission::kRefused);
  // The other probe never answers (its call ended): its place is free once
  // its deadline has passed.
  EXPECT_EQ(breaker.Admit(probe_deadline - absl::Milliseconds(1), kFar),
            Admission::kRefused);
  EXPECT_EQ(breaker.Admit(probe_deadline, kFar), Admission::kProbe);
  breaker.OnAnswer(probe_deadline, false);
  EXPECT_EQ(breaker.State(probe_deadline), BreakerState::kClosed);
}

TEST(EndpointBreakerTest, AnswersOfAttemptsLetThroughBeforeItOpenedAreIgnored) {
  const RegionBreakerOptions options = Options();
  EndpointBreaker breaker(options);
  for (int i = 0; i < 5; ++i) breaker.OnAnswer(kStart, true);
  breaker.OnAnswer(kStart + absl::Seconds(1), false);  // while open
  EXPECT_EQ(breaker.State(kStart + absl::Seconds(1)), BreakerState::kOpen);
  // Half-open, no probe sent yet: an old attempt's success closes nothing.
  const absl::Time t = kStart + absl::Seconds(30);
  breaker.OnAnswer(t, false);
  EXPECT_EQ(breaker.State(t), BreakerState::kHalfOpen);
  EXPECT_EQ(breaker.Admit(t, kFar), Admission::kProbe);
}

// The gate, with endpoints resolved as Upstream does.
class RegionBreakerTest : public ::testing::Test {
 protected:
  void Make(RegionBreakerOptions options) {
    absl::StatusOr<std::unique_ptr<RegionBreaker>> made = RegionBreaker::Create(
        std::move(options),
        [](const ApiCall& call) -> absl::StatusOr<std::string> {
          if (call.region.empty()) {
            return absl::InvalidArgumentError("no region");
          }
          return absl::StrReplaceAll(
              call.endpoint.empty() ? "https://{service}.{region}.example.com"
                                    : call.endpoint,
              {{"{service}", call.service}, {"{region}", call.region}});
        },
        [this] { return now_; });
    ASSERT_TRUE(made.ok()) << made.status();
    breaker_ = *std::move(made);
  }

  static ApiCall Call(std::string service, std::string region) {
    ApiCall call;
    call.service = std::move(service);
    call.region = std::move(region);
    call.action = "DescribeZones";
    call.deadline = kFar;
    return call;
  }

  GateVerdict Admit(ApiCall& call) {
    std::optional<GateVerdict> verdict;
    breaker_->Admit(call,
                    [&verdict](GateVerdict v) { verdict = std::move(v); });
    EXPECT_TRUE(verdict.has_value())
        << "done did not run before Admit returned";
    return verdict.value_or(GateVerdict::Go());
  }

  // Sends and fails `call` until its endpoint's breaker is open.
  void Fail(ApiCall call, int times = 5) {
    for (int i = 0; i < times; ++i) {
      ASSERT_TRUE(Admit(call).admitted());
      breaker_->OnAnswer(call, Http(503));
    }
  }

  // A breaker with `backup`, and a call whose endpoint's breaker is open.
  ApiCall OpenWithBackup(std::string backup) {
    RegionBreakerOptions options = Options();
    options.backup_endpoint = std::move(backup);
    Make(options);
    ApiCall call = Call("cvm", "ap-a");
    Fail(call);
    return call;
  }

  const RegionBreakerSample* Sample(absl::string_view endpoint) {
    samples_ = breaker_->Samples();
    for (const RegionBreakerSample& sample : samples_) {
      if (sample.endpoint == endpoint) return &sample;
    }
    return nullptr;
  }

  absl::Time now_ = kStart;  // set before any thread reads it
  std::unique_ptr<RegionBreaker> breaker_;
  std::vector<RegionBreakerSample> samples_;
};

TEST_F(RegionBreakerTest, OpenFailsFastWithTheTimeLeftOnlyForThatEndpoint) {
  Make(Options());
  ApiCall call = Call("cvm", "ap-a");
  Fail(call);
  now_ = kStart + absl::Seconds(10);
  GateVerdict verdict = Admit(call);
  ASSERT_FALSE(verdict.admitted());
  EXPECT_EQ(verdict.refusal.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(verdict.refusal.reason, gateway_reason::kRegionBreakerOpen);
  EXPECT_TRUE(absl::StrContains(verdict.refusal.message,
                                "cvm.ap-a.example.com is open: 5 of 5"))
      << verdict.refusal.message;
  ASSERT_TRUE(verdict.retry_after.has_value());
  EXPECT_EQ(*verdict.retry_after, absl::Seconds(20));
  EXPECT_TRUE(call.endpoint.empty());  // not sent elsewhere
  // Another region, and another service in the same region, are other
  // hosts: they go.
  ApiCall other_region = Call("cvm", "ap-b");
  ApiCall other_service = Call("vpc", "ap-a");
  EXPECT_TRUE(Admit(other_region).admitted());
  EXPECT_TRUE(Admit(other_service).admitted());
  const RegionBreakerSample* sample = Sample("cvm.ap-a.example.com");
  ASSERT_NE(sample, nullptr);
  EXPECT_EQ(sample->state, BreakerState::kOpen);
  EXPECT_EQ(sample->rejected, 1u);
  EXPECT_EQ(sample->backup_attempts, 0u);
}

TEST_F(RegionBreakerTest, OpenSendsToTheBackupThenBackToTheClosedPrimary) {
  const std::string backup_endpoint = "http://{service}.backup.example:8080";
  ApiCall call = OpenWithBackup(backup_endpoint);
  // Open: the attempt goes to the backup, and its answers count there.
  ASSERT_TRUE(Admit(call).admitted());
  EXPECT_EQ(call.endpoint, backup_endpoint);
  breaker_->OnAnswer(call, Http(200));
  const RegionBreakerSample* backup = Sample("cvm.backup.example:8080");
  ASSERT_NE(backup, nullptr);
  EXPECT_EQ(backup->state, BreakerState::kClosed);
  EXPECT_EQ(Sample("cvm.ap-a.example.com")->backup_attempts, 1u);
  // open_for later, the same call's next attempt is the primary's probe.
  now_ = kStart + absl::Seconds(30);
  ASSERT_TRUE(Admit(call).admitted());
  EXPECT_TRUE(call.endpoint.empty());
  // Other attempts meanwhile go to the backup (the probe is on its way).
  ApiCall meanwhile = Call("cvm", "ap-a");
  ASSERT_TRUE(Admit(meanwhile).admitted());
  EXPECT_EQ(meanwhile.endpoint, backup_endpoint);
  breaker_->OnAnswer(call, Http(200));  // the probe succeeded
  EXPECT_EQ(Sample("cvm.ap-a.example.com")->state, BreakerState::kClosed);
  ASSERT_TRUE(Admit(meanwhile).admitted());
  EXPECT_TRUE(meanwhile.endpoint.empty());
}

TEST_F(RegionBreakerTest, BothOpenFailsFastNamingBoth) {
  ApiCall call = OpenWithBackup("http://{service}.backup.example:8080");
  Fail(call);  // these went to the backup, and failed there
  ASSERT_EQ(Sample("cvm.backup.example:8080")->state, BreakerState::kOpen);
  GateVerdict verdict = Admit(call);
  ASSERT_FALSE(verdict.admitted());
  EXPECT_EQ(verdict.refusal.reason, gateway_reason::kRegionBreakerOpen);
  EXPECT_TRUE(absl::StrContains(verdict.refusal.message,
                                "(cvm.backup.example:8080) is not closed"))
      << verdict.refusal.message;
  EXPECT_TRUE(call.endpoint.empty());
}

TEST_F(RegionBreakerTest, NoSwitchForARouteEndpointOrABackupOnTheSameHost) {
  ApiCall call = OpenWithBackup("https://{service}.{region}.example.com");
  // The backup resolves to the same host: refused, not switched.
  EXPECT_FALSE(Admit(call).admitted());
  EXPECT_TRUE(call.endpoint.empty());

  OpenWithBackup("https://backup.example");
  ApiCall own = Call("acme", "ap-a");
  own.endpoint = "https://api.acme.example";
  Fail(own);
  GateVerdict verdict = Admit(own);
  EXPECT_FALSE(verdict.admitted());
  EXPECT_EQ(own.endpoint, "https://api.acme.example");
}

TEST_F(RegionBreakerTest, CallsWithoutAUrlGoUncounted) {
  Make(Options());
  ApiCall call = Call("cvm", "");
  EXPECT_TRUE(Admit(call).admitted());
  EXPECT_TRUE(breaker_->Samples().empty());
}

TEST_F(RegionBreakerTest, TheTableIsBoundedAndIdleEndpointsGiveWay) {
  RegionBreakerOptions options = Options();
  options.max_endpoints = 2;
  Make(options);
  for (const char* region : {"ap-a", "ap-b"}) {
    ApiCall call = Call("cvm", region);
    Fail(call, 1);  // a failure in the window: not idle
  }
  ApiCall third = Call("cvm", "ap-c");
  Fail(third);  // goes, untracked: five failures open nothing
  EXPECT_TRUE(Admit(third).admitted());
  EXPECT_EQ(breaker_->Samples().size(), 2u);
  EXPECT_EQ(Sample("cvm.ap-c.example.com"), nullptr);
  // Once their failures left the window, they give way.
  now_ = kStart + absl::Seconds(11);
  Fail(third);
  EXPECT_FALSE(Admit(third).admitted());
  EXPECT_EQ(breaker_->Samples().size(), 2u);
  ASSERT_NE(Sample("cvm.ap-c.example.com"), nullptr);
}

TEST_F(RegionBreakerTest, ConcurrentAttemptsGetOneProbe) {
  Make(Options());
  Fail(Call("cvm", "ap-a"));
  now_ = kStart + absl::Seconds(30);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([this, &admitted] {
      for (int j = 0; j < 100; ++j) {
        ApiCall call = Call("cvm", "ap-a");
        breaker_->Admit(call, [&admitted](GateVerdict verdict) {
          if (verdict.admitted()) admitted.fetch_add(1);
        });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 1);
  EXPECT_EQ(Sample("cvm.ap-a.example.com")->rejected, 799u);
}

TEST(RegionBreakerCreateTest, RefusesWhatCannotWork) {
  auto url_of = [](const ApiCall&) -> absl::StatusOr<std::string> {
    return std::string("https://x.example");
  };
  RegionBreakerOptions options = Options();
  options.backup_endpoint = "ap-guangzhou.tencentcloudapi.com";  // no scheme
  absl::StatusOr<std::unique_ptr<RegionBreaker>> made =
      RegionBreaker::Create(options, url_of);
  ASSERT_FALSE(made.ok());
  EXPECT_TRUE(absl::StrContains(made.status().message(),
                                "\"ap-guangzhou.tencentcloudapi.com\""))
      << made.status();
  options = Options();
  options.open_for = absl::ZeroDuration();
  EXPECT_FALSE(RegionBreaker::Create(options, url_of).ok());
  options = Options();
  options.half_open_probes = 0;
  EXPECT_FALSE(RegionBreaker::Create(options, url_of).ok());
  options = Options();
  options.backup_endpoint =
      "https://{service}.ap-guangzhou.tencentcloudapi.com";
  EXPECT_TRUE(RegionBreaker::Create(options, url_of).ok());
}

}  // namespace
}  // namespace envelope
