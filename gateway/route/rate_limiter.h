// File: rate_limiter.h
// -----------------------------------------------------------------------------
//
// Staying under the API's rate limits before the API has to say no. The API
// limits each action per account and second (most to 20 requests/s); a
// sidecar sees every call of its pod, so it can pace them. Each (service,
// action) gets a token bucket whose rate starts at its configured ceiling
// and adapts: halved when the API answers RequestLimitExceeded, raised
// again step by step while it does not, never above the ceiling. Calls are
// served first come, first served: each takes the next free slot, and one
// whose slot lies beyond its deadline is refused at once, with the wait it
// would have had (docs/operations.md, "Rate limits").

#ifndef GATEWAY_ROUTE_RATE_LIMITER_H_
#define GATEWAY_ROUTE_RATE_LIMITER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace envelope {

// How one bucket adapts.
struct AdaptiveRateOptions {
  double ceiling_per_second = 20;  // the configured rate: never exceeded
  double floor_per_second = 0.5;   // never paced slower than this
  double decrease_factor = 0.5;    // on RequestLimitExceeded
  // Added to the rate per second of answers without RequestLimitExceeded.
  double increase_per_second = 1;
  // Requests that may go at once after a quiet spell.
  double burst = 1;
};

// One token bucket (GCRA: the time the next request may go), adapting its
// rate (AIMD). Thread-safe.
//
// Example:
//
//   AdaptiveRate rate({.ceiling_per_second = 20});
//   absl::Duration wait;
//   std::optional<absl::Time> at = rate.Reserve(now, deadline, &wait);
//   if (!at) { /* refuse: the caller would wait `wait` */ }
//   ... send at *at; then rate.OnAnswer(now, rate_limited);
class AdaptiveRate {
 public:
  explicit AdaptiveRate(AdaptiveRateOptions options);

  // The time from which the caller may send, taking that slot; each later
  // reservation gets a later slot (first come, first served). Nothing
  // (and no slot taken) when the slot lies after `deadline`; `*wait` is
  // then the wait the caller would have had.
  std::optional<absl::Time> Reserve(absl::Time now, absl::Time deadline,
                                    absl::Duration* wait);
  // The API's answer to a request sent at a reserved slot: halves the rate
  // on RequestLimitExceeded (at most once per second: the answers of
  // requests already on their way say nothing new), else raises it.
  void OnAnswer(absl::Time now, bool rate_limited);

  double rate_per_second() const;
  // Requests that could go now without waiting (the bucket's tokens).
  double tokens(absl::Time now) const;

 private:
  const AdaptiveRateOptions options_;
  mutable absl::Mutex mu_;
  double rate_ ABSL_GUARDED_BY(mu_);
  // When the request after the last reserved one may go, at the current
  // rate, if no burst is allowed (GCRA's theoretical arrival time).
  absl::Time next_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_change_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_decrease_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Which rate an action gets. Entries as the allow-list's, with a rate:
// "DescribeInstances=10", "Describe*=15", "cvm:RunInstances=5",
// "cvm:*=20". The most specific entry wins: one naming the service over one
// that does not, then an exact action over a glob, then the glob with more
// literal text; among equals, the first. Unmatched actions get the
// default; a rate of 0 means "not paced".
class RateLimitRules {
 public:
  static absl::StatusOr<RateLimitRules> Parse(
      double default_per_second, const std::vector<std::string>& entries);

  double RateFor(absl::string_view service, absl::string_view action) const;

 private:
  struct Entry {
    std::string service;  // empty: any
    std::string action_glob;
    double per_second = 0;
    int specificity = 0;
  };
  double default_per_second_ = 0;
  std::vector<Entry> entries_;  // most specific first
};

// The buckets of every (service, action) called so far, each made on first
// use with the rules' rate. Thread-safe; the buckets live as long as this.
//
// Example:
//
//   RateLimiters limiters(rules, {});
//   AdaptiveRate* rate = limiters.For("cvm", "DescribeZones");  // null: not
//                                                              // paced
class RateLimiters {
 public:
  RateLimiters(RateLimitRules rules, AdaptiveRateOptions adapt);

  AdaptiveRate* For(absl::string_view service, absl::string_view action);

 private:
  const RateLimitRules rules_;
  const AdaptiveRateOptions adapt_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<AdaptiveRate>> buckets_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_RATE_LIMITER_H_
