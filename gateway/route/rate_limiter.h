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
#include "gateway/route/attempt_gate.h"

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

// What the local limiter is told (docs/configuration.md).
struct RateLimitOptions {
  // Requests per second an action may send at most, unless a rule says
  // otherwise; 0: not paced.
  double default_per_second = 20;
  // RateLimitRules entries: "DescribeZones=10", "cvm:Run*=5", ...
  std::vector<std::string> rules;
  AdaptiveRateOptions adapt;  // its ceiling is each action's rate
  // Buckets at most: actions called beyond it are not paced (bounds the
  // memory a caller naming ever new actions through JsonApi can take).
  size_t max_buckets = 1000;
};

// One bucket as the metrics show it.
struct RateLimitSample {
  std::string service;
  std::string action;
  double rate_per_second = 0;
  double tokens = 0;
  uint64_t waits = 0;     // attempts that waited for their slot
  uint64_t refusals = 0;  // calls ended because their slot was too late
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
  RateLimiters(RateLimitRules rules, AdaptiveRateOptions adapt,
               size_t max_buckets = 1000);

  AdaptiveRate* For(absl::string_view service, absl::string_view action);

  // Counts what became of a call at its bucket.
  void CountWait(absl::string_view service, absl::string_view action);
  void CountRefusal(absl::string_view service, absl::string_view action);

  std::vector<RateLimitSample> Samples(absl::Time now) const;

 private:
  struct Bucket {
    std::string service;
    std::string action;
    std::unique_ptr<AdaptiveRate> rate;  // null: not paced
    uint64_t waits = 0;
    uint64_t refusals = 0;
  };
  Bucket* Find(absl::string_view service, absl::string_view action)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimitRules rules_;
  const AdaptiveRateOptions adapt_;
  const size_t max_buckets_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Bucket>> buckets_
      ABSL_GUARDED_BY(mu_);
};

// The local limiter as an attempt gate: each attempt (retries too) takes
// the next slot of its action's bucket and waits for it; one whose slot
// lies beyond what its deadline allows ends at once with
// RESOURCE_EXHAUSTED, reason LOCAL_RATE_LIMIT, and a RetryInfo of the wait
// it would have had. The API's answers adapt the bucket's rate.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<LocalRateLimit>> limit =
//       LocalRateLimit::Create({.default_per_second = 20});
class LocalRateLimit : public AttemptGate {
 public:
  static absl::StatusOr<std::unique_ptr<LocalRateLimit>> Create(
      const RateLimitOptions& options);

  void Admit(ApiCall& call, Verdict done) override;
  void OnAnswer(const ApiCall& call, const AttemptAnswer& answer) override;

  std::vector<RateLimitSample> Samples() const {
    return limiters_.Samples(absl::Now());
  }

 private:
  LocalRateLimit(RateLimitRules rules, const RateLimitOptions& options)
      : limiters_(std::move(rules), options.adapt, options.max_buckets) {}

  RateLimiters limiters_;
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_RATE_LIMITER_H_
