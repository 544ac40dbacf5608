#include "gateway/route/retry_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"

namespace envelope {

bool RetryPolicy::MaySendTwice(absl::string_view action,
                               bool has_client_token) const {
  if (has_client_token) return true;
  const auto& o = options_;
  auto listed = [action](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), action) != names.end();
  };
  if (listed(o.non_idempotent_actions)) return false;
  if (listed(o.idempotent_actions)) return true;
  return std::any_of(
      o.idempotent_prefixes.begin(), o.idempotent_prefixes.end(),
      [action](const std::string& p) { return absl::StartsWith(action, p); });
}

bool RetryPolicy::ShouldRetry(AttemptFault fault, int attempts,
                              bool may_send_twice) const {
  if (attempts >= options_.max_attempts) return false;
  switch (fault) {
    case AttemptFault::kRateLimited:
      return options_.retry_rate_limited;
    case AttemptFault::kBeforeSend:
      return true;
    case AttemptFault::kAfterSend:
      return may_send_twice;
    case AttemptFault::kNone:
    case AttemptFault::kPermanent:
      return false;
  }
  return false;
}

absl::Duration RetryPolicy::BackoffCap(AttemptFault fault, int retry) const {
  absl::Duration base = fault == AttemptFault::kRateLimited
                            ? options_.rate_limit_backoff
                            : options_.initial_backoff;
  absl::Duration cap =
      base * std::pow(options_.multiplier, std::max(0, retry - 1));
  return std::min(cap, std::max(options_.max_backoff, base));
}

absl::Duration RetryPolicy::Backoff(AttemptFault fault, int retry) const {
  // Half fixed, half random: spreads callers out without ever retrying at
  // once (equal jitter).
  double fraction;
  {
    absl::MutexLock lock(&random_mu_);
    fraction = absl::Uniform(random_, 0.5, 1.0);
  }
  return BackoffCap(fault, retry) * fraction;
}

std::optional<absl::Duration> RetryPolicy::NextAttempt(
    AttemptFault fault, int attempts, bool may_send_twice, absl::Time now,
    absl::Time deadline) const {
  if (!ShouldRetry(fault, attempts, may_send_twice)) return std::nullopt;
  const absl::Duration wait = Backoff(fault, attempts);
  if (now + wait + kMinAttemptTime >= deadline) return std::nullopt;
  return wait;
}

}  // namespace envelope
