#ifndef GATEWAY_ROUTE_RETRY_POLICY_H_
#define GATEWAY_ROUTE_RETRY_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace envelope {

// When a call is sent again, and after how long. Everything stays inside the
// call's deadline (the dispatcher checks).
struct RetryOptions {
  // Attempts in all, the first included; 1 turns retries off.
  int max_attempts = 3;
  // Backoff before retry n (1-based) is drawn from
  // [cap/2, cap], cap = min(max_backoff, initial_backoff * multiplier^(n-1)).
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  double multiplier = 2.0;
  // RequestLimitExceeded*: retried (any action: the API refused it without
  // doing it), first wait `rate_limit_backoff` (API limits are per second).
  bool retry_rate_limited = true;
  absl::Duration rate_limit_backoff = absl::Seconds(1);
  // Actions that may be repeated after the request left: by prefix, unless
  // listed in `non_idempotent_actions`; plus any listed here by name.
  std::vector<std::string> idempotent_prefixes = {"Describe", "List", "Get",
                                                  "Query"};
  std::vector<std::string> idempotent_actions;
  std::vector<std::string> non_idempotent_actions;
};

// What went wrong with one attempt, as far as retrying is concerned.
enum class AttemptFault {
  kNone,         // an answer to keep (success or a failure envelope)
  kRateLimited,  // RequestLimitExceeded*
  kBeforeSend,   // no byte of the request left: safe for any action
  kAfterSend,    // the request may have been acted on
  kPermanent,    // TLS verification, size limit, deadline: never
};

// An attempt needs at least this much of the deadline to be worth starting.
inline constexpr absl::Duration kMinAttemptTime = absl::Milliseconds(20);

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options) : options_(std::move(options)) {}

  // An action may be sent twice when it is idempotent or carries a
  // ClientToken (the API deduplicates by it).
  bool MaySendTwice(absl::string_view action, bool has_client_token) const;

  // Whether attempt `attempts` (1-based, just failed) is followed by another.
  bool ShouldRetry(AttemptFault fault, int attempts, bool may_send_twice) const;

  // The wait before retry number `retry` (1-based): BackoffCap with equal
  // jitter (between half of it and all of it).
  absl::Duration Backoff(AttemptFault fault, int retry) const;

  // The longest wait before retry `retry`, without jitter: what RetryInfo
  // tells a caller the gateway would have waited next.
  absl::Duration BackoffCap(AttemptFault fault, int retry) const;

  // After attempt `attempts` (1-based) ended with `fault` at `now`: the wait
  // before the next attempt, or nullopt when the call ends with this one
  // (the policy says no, or after the wait less than kMinAttemptTime would
  // be left before `deadline`).
  //
  // Example:
  //
  //   std::optional<absl::Duration> wait = policy.NextAttempt(
  //       AttemptFault::kBeforeSend, 1, false, absl::Now(), deadline);
  std::optional<absl::Duration> NextAttempt(AttemptFault fault, int attempts,
                                            bool may_send_twice, absl::Time now,
                                            absl::Time deadline) const;

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
  mutable absl::BitGen random_;  // absl::BitGen is thread-compatible only
  mutable absl::Mutex random_mu_;
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_RETRY_POLICY_H_
