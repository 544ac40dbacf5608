// File: region_breaker.h
// -----------------------------------------------------------------------------
//
// The region breaker: after repeated transport failures or 5xx answers from
// a regional endpoint, fail fast (or go to a backup endpoint) instead of
// sending every call into the failing region, as the official Go SDK's
// common/circuit_breaker.go does (docs/operations.md, "Region breaker").
//
// One state machine per endpoint host (the URL authority an attempt goes
// to, e.g. cvm.ap-guangzhou.tencentcloudapi.com): closed counts the
// attempts and failures of a sliding window and opens when both
// thresholds are met; open refuses (or sends to the backup) for
// `open_for`; half-open lets a few probe attempts through, closing when
// they all succeed and opening again on the first failure.
//
// EndpointBreaker is that state machine (not thread-safe); RegionBreaker is
// the attempt gate holding one per host, thread-safe.

#ifndef GATEWAY_ROUTE_REGION_BREAKER_H_
#define GATEWAY_ROUTE_REGION_BREAKER_H_

#include <array>
#include <cstdint>
#include <functional>
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

// What the region breaker is told (docs/configuration.md). Off by default.
struct RegionBreakerOptions {
  bool enabled = false;
  // Failures are counted over this window (sliding, in tenths).
  absl::Duration window = absl::Seconds(60);
  // It opens once the window holds at least this many failures making at
  // least this share of the attempts.
  int min_failures = 5;
  double failure_ratio = 0.75;
  // Open this long, then half-open: a few attempts try the region again.
  absl::Duration open_for = absl::Seconds(60);
  // Attempts let through at once while half-open; all of them must succeed
  // for the breaker to close.
  int half_open_probes = 1;
  // Where attempts go while it is open (an endpoint template, as
  // --endpoint); empty: calls fail fast with UNAVAILABLE.
  std::string backup_endpoint;
  // Endpoint hosts tracked at most (a caller may name any region).
  size_t max_endpoints = 256;
};

// The states, numbered as the state metric shows them.
enum class BreakerState { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

// "closed", "open", "half_open".
//
// Example:
//
//   BreakerStateName(BreakerState::kHalfOpen);  // "half_open"
absl::string_view BreakerStateName(BreakerState state);

// Whether an attempt's answer counts as a failure of its endpoint: a
// transport fault that says the endpoint could not be reached or spoken to
// (refused, reset, DNS, a short answer, TLS) or an HTTP status of 500 or
// more. Nothing (std::nullopt) for what says nothing of the endpoint: a
// timeout (the caller's deadline may be what was short) or an answer over
// the size limit.
//
// Example:
//
//   std::optional<bool> failed = IsEndpointFailure(answer);
std::optional<bool> IsEndpointFailure(const AttemptAnswer& answer);

// One endpoint's state machine. Not thread-safe; times are passed in.
//
// Example:
//
//   EndpointBreaker breaker(options);
//   switch (breaker.Admit(now, now + absl::Seconds(30))) { ... }
//   breaker.OnAnswer(later, /*failed=*/true);
class EndpointBreaker {
 public:
  enum class Admission {
    kGo,       // closed: go
    kProbe,    // half-open: go as one of the probes
    kRefused,  // open, or half-open with all its probes on their way
  };
  // Attempts and failures counted.
  struct Counts {
    uint64_t attempts = 0;
    uint64_t failures = 0;
  };

  // `options` must outlive it.
  explicit EndpointBreaker(const RegionBreakerOptions& options);

  // Decides on one attempt. A probe holds its place until its answer comes
  // or `probe_until` passes (its call may end without an answer).
  Admission Admit(absl::Time now, absl::Time probe_until);
  // What the endpoint answered to an attempt it admitted.
  void OnAnswer(absl::Time now, bool failed);

  // The state at `now` (open turns half-open when its time is up).
  BreakerState State(absl::Time now);
  // When an open breaker turns half-open.
  absl::Time open_until() const { return open_until_; }
  // The window's counts that opened it last.
  Counts opened_by() const { return opened_by_; }
  // The window's counts now.
  Counts window(absl::Time now) const;
  // Times it went to each state, by BreakerState.
  const std::array<uint64_t, 3>& transitions() const { return transitions_; }
  // Closed, and no failure in the window: nothing is lost by forgetting it.
  bool Idle(absl::Time now);

 private:
  static constexpr int kSlices = 10;
  struct Slice {
    int64_t number = -1;  // which slice of time it counts
    Counts counts;
  };

  void Enter(BreakerState state, absl::Time now);
  int64_t SliceNumber(absl::Time now) const;

  const RegionBreakerOptions& options_;
  const absl::Duration slice_;
  BreakerState state_ = BreakerState::kClosed;
  std::array<Slice, kSlices> slices_;
  absl::Time open_until_ = absl::InfinitePast();
  Counts opened_by_;
  // Half-open: when each probe on its way stops holding its place.
  std::vector<absl::Time> probes_;
  int probe_successes_ = 0;
  std::array<uint64_t, 3> transitions_ = {};
};

// One endpoint as the metrics show it.
struct RegionBreakerSample {
  std::string endpoint;  // host[:port]
  BreakerState state = BreakerState::kClosed;
  std::array<uint64_t, 3> transitions = {};  // by BreakerState
  uint64_t rejected = 0;         // calls ended with REGION_BREAKER_OPEN
  uint64_t backup_attempts = 0;  // attempts sent to the backup instead
};

// The region breaker as an attempt gate (the first one): each attempt's
// endpoint host has a breaker; while it is open, the attempt goes to the
// backup endpoint (when one is set, the call's route names no endpoint of
// its own, and the backup's own breaker lets it) or the call ends with
// UNAVAILABLE, reason REGION_BREAKER_OPEN and a RetryInfo of the time left
// open. Answers are counted against the host they came from.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<RegionBreaker>> breaker =
//       RegionBreaker::Create(config.region_breaker,
//                             [&upstream](const ApiCall& call) {
//                               return upstream->EndpointUrl(call);
//                             });
class RegionBreaker : public AttemptGate {
 public:
  // The URL an attempt of `call` goes to (as Upstream::EndpointUrl).
  using UrlOf = std::function<absl::StatusOr<std::string>(const ApiCall& call)>;
  using Clock = std::function<absl::Time()>;

  static absl::StatusOr<std::unique_ptr<RegionBreaker>> Create(
      RegionBreakerOptions options, UrlOf url_of, Clock clock = absl::Now);

  void Admit(ApiCall& call, Verdict done) override;
  void OnAnswer(const ApiCall& call, const AttemptAnswer& answer) override;

  // Not const: a breaker whose open time is up turns half-open here too.
  std::vector<RegionBreakerSample> Samples();

 private:
  struct Tracked {
    explicit Tracked(const RegionBreakerOptions& options) : breaker(options) {}
    EndpointBreaker breaker;
    uint64_t rejected = 0;
    uint64_t backup_attempts = 0;
  };

  RegionBreaker(RegionBreakerOptions options, UrlOf url_of, Clock clock);

  // The host an attempt of `call` goes to; empty when it has no URL.
  std::string HostOf(const ApiCall& call) const;
  // The host's breaker, made on first use; null when the table is full of
  // endpoints that are not idle.
  Tracked* Find(const std::string& host, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  GateVerdict Refusal(const std::string& host, Tracked& tracked, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RegionBreakerOptions options_;
  const UrlOf url_of_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  // Pointers stay valid while the entry is in the map.
  absl::flat_hash_map<std::string, std::unique_ptr<Tracked>> endpoints_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_REGION_BREAKER_H_
