// File: attempt_gate.h
// -----------------------------------------------------------------------------
//
// What an upstream attempt passes before it is sent. Each gate sees every
// attempt of every call (retries included) and says: go (maybe after a
// wait, maybe elsewhere), or end the call now with a status of the
// gateway's own. The gates are the region breaker, the local rate limiter
// and the fleet-wide rate limit service, asked in that order; each then
// hears what the API answered to the attempts it let go, which is what the
// limiter adapts by and the breaker counts (docs/operations.md, "Rate
// limits" and "Region breaker").
//
// A gate is shared by all calls and must be thread-safe. CallAttempts
// (call_attempts.h) asks them one after the other, waiting on the I/O
// loop's timers where a gate says wait.

#ifndef GATEWAY_ROUTE_ATTEMPT_GATE_H_
#define GATEWAY_ROUTE_ATTEMPT_GATE_H_

#include <optional>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "gateway/envelope/outcome.h"
#include "gateway/route/retry_policy.h"
#include "gateway/upstream/http_client.h"
#include "gateway/upstream/upstream.h"

namespace envelope {

// A gate's answer for one attempt.
struct GateVerdict {
  // OK: the attempt may go, after `wait`. Otherwise the call ends with this
  // status (a reason of gateway_reason, no details: the call's end adds
  // them), and no attempt is sent.
  CallStatus refusal;
  absl::Duration wait = absl::ZeroDuration();
  // A refusal's RetryInfo delay, when the gate knows it better than the
  // reason's default (gateway_errors.h): the wait the call would have had.
  std::optional<absl::Duration> retry_after;

  static GateVerdict Go(absl::Duration wait = absl::ZeroDuration()) {
    GateVerdict verdict;
    verdict.wait = wait;
    return verdict;
  }
  bool admitted() const { return refusal.ok(); }
};

// What became of an attempt a gate let go.
struct AttemptAnswer {
  absl::Time at;
  AttemptFault fault = AttemptFault::kNone;  // as the retry policy sees it
  TransportFault transport = TransportFault::kNone;
  long http_status = 0;  // 0: no HTTP answer
  // The API said RequestLimitExceeded (or one of its sub-codes).
  bool rate_limited = false;
};

// Example:
//
//   class Breaker : public AttemptGate {
//     void Admit(ApiCall& call, Verdict done) override {
//       std::move(done)(open_ ? Refuse(...) : GateVerdict::Go());
//     }
//   };
class AttemptGate {
 public:
  using Verdict = absl::AnyInvocable<void(GateVerdict) &&>;
  virtual ~AttemptGate() = default;

  // Decides on the next attempt of `call`. `done` runs exactly once: before
  // Admit returns, or later on another thread (`call` stays alive and
  // unchanged until then). A gate may send the attempt elsewhere by
  // changing `call.endpoint` (the region breaker's backup endpoint).
  virtual void Admit(ApiCall& call, Verdict done) = 0;

  // What the upstream answered to an attempt of `call` this gate let go.
  // Not called for attempts the call's own end (its deadline, a cancel)
  // cut short.
  virtual void OnAnswer(const ApiCall& call, const AttemptAnswer& answer) {}
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_ATTEMPT_GATE_H_
