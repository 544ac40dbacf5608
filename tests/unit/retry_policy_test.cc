// When a failed attempt is followed by another, and after how long
// (gateway/route/retry_policy.h).
#include "gateway/route/retry_policy.h"

#include "gtest/gtest.h"

namespace envelope {
namespace {

TEST(RetryPolicyTest, NextAttemptFollowsThePolicyInsideTheDeadline) {
  RetryPolicy policy{RetryOptions{}};
  const absl::Time now = absl::Now();
  const absl::Time later = now + absl::Seconds(30);
  EXPECT_FALSE(policy.NextAttempt(AttemptFault::kNone, 1, true, now, later));
  EXPECT_FALSE(
      policy.NextAttempt(AttemptFault::kPermanent, 1, true, now, later));
  EXPECT_FALSE(
      policy.NextAttempt(AttemptFault::kAfterSend, 1, false, now, later));
  EXPECT_TRUE(
      policy.NextAttempt(AttemptFault::kAfterSend, 1, true, now, later));
  EXPECT_FALSE(  // three attempts in all
      policy.NextAttempt(AttemptFault::kBeforeSend, 3, true, now, later));
  EXPECT_FALSE(policy.NextAttempt(AttemptFault::kRateLimited, 1, true, now,
                                  now + absl::Milliseconds(500)));
  EXPECT_EQ(policy.BackoffCap(AttemptFault::kBeforeSend, 2),
            absl::Milliseconds(200));
  EXPECT_EQ(policy.BackoffCap(AttemptFault::kRateLimited, 10),
            absl::Seconds(5));  // max_backoff
  for (int i = 0; i < 100; ++i) {
    absl::Duration wait = policy.Backoff(AttemptFault::kBeforeSend, 1);
    EXPECT_GE(wait, absl::Milliseconds(50));
    EXPECT_LE(wait, absl::Milliseconds(100));
  }
}

}  // namespace
}  // namespace envelope
