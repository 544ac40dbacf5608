// File: coalescer.h
// -----------------------------------------------------------------------------
//
// Coalesced reads: identical calls of an idempotent action that are in
// flight at the same time share one upstream request. The first call of a
// kind starts the request (its CallAttempts: gates, attempts, retries); an
// identical call arriving while it runs joins it instead of sending its
// own, and every member gets a copy of the one answer, the API's RequestId
// included. Each member stays a call of its own: its front may end it (its
// deadline, a cancel, the drain) without disturbing the others, and the
// shared request is aborted only when every member has left
// (docs/operations.md, "Coalesced reads").
//
// Identical means the same upstream request and the same answer format:
// the route (a typed method or JsonApi), service, version, action, region,
// language, endpoint and JSON body, byte for byte. The gateway renders a
// typed request message deterministically (fields in declaration order);
// a JsonApi caller's params_json is compared as sent, not canonicalized. A
// gateway signs every call with its one credential source, so the
// credential is the same for all calls it could share.

#ifndef GATEWAY_ROUTE_COALESCER_H_
#define GATEWAY_ROUTE_COALESCER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/route/allow_list.h"
#include "gateway/route/call_attempts.h"
#include "gateway/route/retry_policy.h"

namespace envelope {

struct CoalescerOptions {
  // Actions whose calls may share (globs as in the allow-list); empty:
  // none.
  std::vector<std::string> actions;
  // A call joins a request in flight whose deadline is not earlier than
  // its own by more than this: callers with equal timeouts arriving one
  // after the other have deadlines a little apart.
  absl::Duration deadline_slack = absl::Seconds(1);
  // Bounds: members of one shared request, shared requests in the table.
  // A call that finds either full sends its own request.
  size_t max_members = 1000;
  size_t max_groups = 10000;
};

// What the coalescer has done, for /metrics.
struct CoalescerStats {
  // Calls that joined a request in flight instead of sending their own:
  // upstream requests saved.
  uint64_t saved_requests = 0;
  // Shared requests in flight, and the calls waiting on them.
  uint64_t groups = 0;
  uint64_t members = 0;
};

// The table of shared requests in flight. Thread-safe: calls start and
// leave on gRPC threads, answers arrive on the I/O thread or completion
// threads. No call's `done` runs while the table's lock is held.
//
// Example:
//
//   Coalescer coalescer({.actions = {"Describe*"}}, &retry_policy);
//   if (coalescer.Covers(setup.api, has_client_token)) {
//     return coalescer.Start(std::move(setup));
//   }
//   return CallAttempts::Start(std::move(setup));
class Coalescer {
 public:
  // `policy` (which actions are idempotent) must outlive the coalescer.
  Coalescer(CoalescerOptions options, const RetryPolicy* policy);
  Coalescer(const Coalescer&) = delete;
  Coalescer& operator=(const Coalescer&) = delete;

  // Whether calls of `api` may share a request: the action is listed and
  // idempotent by name, and the call is a read (no ClientToken).
  //
  // Example:
  //
  //   bool shared = coalescer.Covers(api, /*has_client_token=*/false);
  bool Covers(const ApiCall& api, bool has_client_token) const;

  // Joins `setup`'s call to an identical one in flight, or starts it (as
  // CallAttempts::Start does) for others to join. `setup.done` runs
  // exactly once, with the shared answer or with what Abort of the
  // returned call said.
  //
  // Example:
  //
  //   std::shared_ptr<DispatchedCall> call = coalescer.Start(std::move(setup));
  //   call->Abort(status);  // ends this call only
  std::shared_ptr<DispatchedCall> Start(CallAttempts::Setup setup);

  // Example:
  //
  //   uint64_t saved = coalescer.stats().saved_requests;
  CoalescerStats stats() const;

 private:
  struct Group;
  class Member;

  // The table key of a call: everything its upstream request and the form
  // of its answer depend on.
  static std::string Key(const CallAttempts::Setup& setup);
  // The shared request's answer: to every member still waiting.
  void Finish(const std::shared_ptr<Group>& group, GrpcResult result);
  // A member's Abort.
  void Leave(Member& member, CallStatus status);

  const CoalescerOptions options_;
  const AllowList actions_;
  const RetryPolicy* policy_;
  mutable absl::Mutex mu_;
  // Joinable requests by key (the group owns the key's text). A request
  // that gave its place to one with a later deadline, or to one that found
  // it full, runs on outside the table.
  absl::flat_hash_map<absl::string_view, std::shared_ptr<Group>> table_
      ABSL_GUARDED_BY(mu_);
  CoalescerStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_COALESCER_H_
