// The adaptive pacing of API calls (gateway/route/rate_limiter.h), on a
// clock the test moves: slots first come, first served; refusals past the
// deadline with the wait; the rate halved on RequestLimitExceeded and raised
// again; the rules' precedence.
#include "gateway/route/rate_limiter.h"

#include "gateway/envelope/reason.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);
const absl::Time kFar = kStart + absl::Hours(1);

TEST(AdaptiveRateTest, SlotsAreSpacedAtTheRateInArrivalOrder) {
  AdaptiveRate rate({.ceiling_per_second = 20});
  absl::Duration wait;
  std::vector<absl::Time> slots;
  for (int i = 0; i < 5; ++i) {
    std::optional<absl::Time> slot = rate.Reserve(kStart, kFar, &wait);
    ASSERT_TRUE(slot.has_value());
    slots.push_back(*slot);
    EXPECT_EQ(wait, *slot - kStart);
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(slots[i], kStart + i * absl::Milliseconds(50)) << i;
  }
}

TEST(AdaptiveRateTest, ASlotPastTheDeadlineIsRefusedAndNotTaken) {
  AdaptiveRate rate({.ceiling_per_second = 10});
  absl::Duration wait;
  ASSERT_TRUE(rate.Reserve(kStart, kFar, &wait).has_value());  // now
  ASSERT_TRUE(rate.Reserve(kStart, kFar, &wait).has_value());  // +100 ms
  const absl::Time soon = kStart + absl::Milliseconds(150);
  EXPECT_FALSE(rate.Reserve(kStart, soon, &wait).has_value());  // +200 ms
  EXPECT_EQ(wait, absl::Milliseconds(200));
  // The refused caller took nothing: the next still gets +200 ms.
  std::optional<absl::Time> next = rate.Reserve(kStart, kFar, &wait);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, kStart + absl::Milliseconds(200));
}

TEST(AdaptiveRateTest, AQuietSpellAllowsTheBurstAtOnce) {
  AdaptiveRate rate({.ceiling_per_second = 10, .burst = 3});
  absl::Duration wait;
  const absl::Time later = kStart + absl::Seconds(10);
  EXPECT_DOUBLE_EQ(rate.tokens(later), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rate.Reserve(later, kFar, &wait), later) << i;
  }
  EXPECT_NEAR(rate.tokens(later), 0, 1e-9);
  EXPECT_EQ(rate.Reserve(later, kFar, &wait), later + absl::Milliseconds(100));
}

TEST(AdaptiveRateTest, HalvedOnRateLimitedOncePerSecondThenRaisedToCeiling) {
  AdaptiveRate rate({.ceiling_per_second = 20,
                     .floor_per_second = 1,
                     .decrease_factor = 0.5,
                     .increase_per_second = 2});
  rate.OnAnswer(kStart, /*rate_limited=*/true);
  EXPECT_DOUBLE_EQ(rate.rate_per_second(), 10);
  // Answers to requests already on their way: no further cut this second.
  rate.OnAnswer(kStart + absl::Milliseconds(500), true);
  EXPECT_DOUBLE_EQ(rate.rate_per_second(), 10);
  rate.OnAnswer(kStart + absl::Seconds(1), true);
  EXPECT_DOUBLE_EQ(rate.rate_per_second(), 5);
  // Two seconds of accepted answers: +2 per second.
  rate.OnAnswer(kStart + absl::Seconds(2), false);
  rate.OnAnswer(kStart + absl::Seconds(3), false);
  EXPECT_DOUBLE_EQ(rate.rate_per_second(), 9);
  rate.OnAnswer(kStart + absl::Seconds(60), false);
  EXPECT_DOUBLE_EQ(rate.rate_per_second(), 20);  // never above the ceiling
  for (int i = 0; i < 20; ++i) {
    rate.OnAnswer(kStart + absl::Seconds(61 + i), true);
  }
  EXPECT_DOUBLE_EQ(rate.rate_per_second(), 1);  // never below the floor
}

TEST(AdaptiveRateTest, ASlowerRateSpacesTheNextSlotsWider) {
  AdaptiveRate rate({.ceiling_per_second = 20});
  rate.OnAnswer(kStart, true);  // 10 per second
  absl::Duration wait;
  ASSERT_EQ(rate.Reserve(kStart, kFar, &wait), kStart);
  EXPECT_EQ(rate.Reserve(kStart, kFar, &wait),
            kStart + absl::Milliseconds(100));
}

TEST(RateLimitRulesTest, TheMostSpecificEntryWins) {
  auto rules = RateLimitRules::Parse(
      20, {"Describe*=15", "cvm:*=12", "DescribeZones=8", "cvm:Describe*=6",
           "cvm:DescribeZones=4", "RunInstances=0"});
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->RateFor("cvm", "DescribeZones"), 4);
  EXPECT_EQ(rules->RateFor("cvm", "DescribeRegions"), 6);
  EXPECT_EQ(rules->RateFor("cvm", "RunInstances"), 12);  // cvm's own first
  EXPECT_EQ(rules->RateFor("vpc", "RunInstances"), 0);
  EXPECT_EQ(rules->RateFor("cvm", "StopInstances"), 12);
  EXPECT_EQ(rules->RateFor("vpc", "DescribeZones"), 8);
  EXPECT_EQ(rules->RateFor("vpc", "DescribeVpcs"), 15);
  EXPECT_EQ(rules->RateFor("vpc", "CreateVpc"), 20);
}

TEST(RateLimitRulesTest, MalformedEntriesAreRefusedNamingThem) {
  for (const char* bad : {"DescribeZones", "DescribeZones=fast",
                          "DescribeZones=-1", "cvm:=5", "=5"}) {
    auto rules = RateLimitRules::Parse(20, {bad});
    EXPECT_FALSE(rules.ok()) << bad;
    EXPECT_NE(rules.status().message().find(bad), std::string::npos)
        << rules.status();
  }
  EXPECT_FALSE(RateLimitRules::Parse(-1, {}).ok());
}

TEST(RateLimitersTest, OneBucketPerActionAndNoneWhereNotPaced) {
  auto rules = RateLimitRules::Parse(20, {"RunInstances=0", "cvm:*=5"});
  ASSERT_TRUE(rules.ok());
  RateLimiters limiters(*std::move(rules), {});
  AdaptiveRate* zones = limiters.For("cvm", "DescribeZones");
  ASSERT_NE(zones, nullptr);
  EXPECT_EQ(limiters.For("cvm", "DescribeZones"), zones);
  EXPECT_NE(limiters.For("cvm", "DescribeRegions"), zones);
  EXPECT_DOUBLE_EQ(zones->rate_per_second(), 5);
  EXPECT_EQ(limiters.For("vpc", "RunInstances"), nullptr);
  EXPECT_DOUBLE_EQ(limiters.For("vpc", "DescribeVpcs")->rate_per_second(), 20);
}

TEST(RateLimitersTest, BucketsBeyondTheCapAreNotPacedAndSamplesShowThePaced) {
  auto rules = RateLimitRules::Parse(20, {"DescribeRegions=0"});
  ASSERT_TRUE(rules.ok());
  RateLimiters limiters(*std::move(rules), {}, /*max_buckets=*/2);
  ASSERT_NE(limiters.For("cvm", "DescribeZones"), nullptr);
  EXPECT_EQ(limiters.For("cvm", "DescribeRegions"), nullptr);  // =0
  EXPECT_EQ(limiters.For("cvm", "DescribeImages"), nullptr);   // over the cap
  limiters.CountWait("cvm", "DescribeZones");
  limiters.CountRefusal("cvm", "DescribeZones");
  limiters.CountRefusal("cvm", "DescribeZones");
  std::vector<RateLimitSample> samples = limiters.Samples(kStart);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].service, "cvm");
  EXPECT_EQ(samples[0].action, "DescribeZones");
  EXPECT_DOUBLE_EQ(samples[0].rate_per_second, 20);
  EXPECT_DOUBLE_EQ(samples[0].tokens, 1);
  EXPECT_EQ(samples[0].waits, 1u);
  EXPECT_EQ(samples[0].refusals, 2u);
}

// The gate as CallAttempts asks it, on the real clock: the deadlines are far
// from the slots, so the test does not depend on its own speed.
struct Verdicts {
  std::vector<GateVerdict> got;
  AttemptGate::Verdict Sink() {
    return [this](GateVerdict verdict) { got.push_back(std::move(verdict)); };
  }
};

ApiCall Zones(absl::Duration deadline) {
  ApiCall call;
  call.service = "cvm";
  call.action = "DescribeZones";
  call.deadline = absl::Now() + deadline;
  return call;
}

TEST(LocalRateLimitTest, WaitsForTheSlotOrRefusesWithTheWaitItWouldHaveHad) {
  auto limit = LocalRateLimit::Create({.default_per_second = 1});
  ASSERT_TRUE(limit.ok()) << limit.status();
  Verdicts verdicts;
  for (int i = 0; i < 3; ++i) {
    ApiCall call = Zones(absl::Milliseconds(1500));
    (*limit)->Admit(call, verdicts.Sink());
  }
  ASSERT_EQ(verdicts.got.size(), 3u);
  EXPECT_TRUE(verdicts.got[0].admitted());
  EXPECT_EQ(verdicts.got[0].wait, absl::ZeroDuration());
  EXPECT_TRUE(verdicts.got[1].admitted());
  EXPECT_GT(verdicts.got[1].wait, absl::Milliseconds(500));
  EXPECT_LE(verdicts.got[1].wait, absl::Seconds(1));

  const GateVerdict& refused = verdicts.got[2];
  EXPECT_FALSE(refused.admitted());
  EXPECT_EQ(refused.refusal.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.refusal.reason, gateway_reason::kLocalRateLimit);
  EXPECT_NE(refused.refusal.message.find("cvm:DescribeZones"),
            std::string::npos)
      << refused.refusal.message;
  ASSERT_TRUE(refused.retry_after.has_value());
  EXPECT_GT(*refused.retry_after, absl::Milliseconds(1500));
  EXPECT_LE(*refused.retry_after, absl::Seconds(2));

  std::vector<RateLimitSample> samples = (*limit)->Samples();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].waits, 1u);
  EXPECT_EQ(samples[0].refusals, 1u);
}

TEST(LocalRateLimitTest, TheApisRefusalsSlowTheActionDown) {
  auto limit = LocalRateLimit::Create({.default_per_second = 20});
  ASSERT_TRUE(limit.ok());
  ApiCall call = Zones(absl::Seconds(30));
  Verdicts verdicts;
  (*limit)->Admit(call, verdicts.Sink());
  (*limit)->OnAnswer(call, {.at = absl::Now(), .rate_limited = true});
  EXPECT_DOUBLE_EQ((*limit)->Samples()[0].rate_per_second, 10);
  // Unpaced actions are let through at once, and learn nothing.
  auto unpaced = LocalRateLimit::Create({.default_per_second = 0});
  ASSERT_TRUE(unpaced.ok());
  for (int i = 0; i < 100; ++i) (*unpaced)->Admit(call, verdicts.Sink());
  (*unpaced)->OnAnswer(call, {.at = absl::Now(), .rate_limited = true});
  EXPECT_TRUE((*unpaced)->Samples().empty());
  EXPECT_EQ(verdicts.got.size(), 101u);
  for (const GateVerdict& verdict : verdicts.got) {
    EXPECT_TRUE(verdict.admitted());
  }
}

TEST(LocalRateLimitTest, MalformedRulesAreRefusedAtCreation) {
  EXPECT_FALSE(LocalRateLimit::Create({.rules = {"DescribeZones"}}).ok());
}

}  // namespace
}  // namespace envelope
