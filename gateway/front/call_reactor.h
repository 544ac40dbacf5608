#ifndef GATEWAY_FRONT_CALL_REACTOR_H_
#define GATEWAY_FRONT_CALL_REACTOR_H_

#include <grpcpp/generic/async_generic_service.h>

#include <atomic>
#include <list>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/front/server.h"
#include "gateway/route/dispatcher.h"

namespace envelope {

// What a call refused or ended by the drain is told (UNAVAILABLE).
inline constexpr absl::string_view kShuttingDownMessage =
    "the gateway is shutting down; retry on another instance";

// A call between its start and its end, as the drain and the request timer
// see it.
class LiveCall {
 public:
  virtual ~LiveCall() = default;
  // Ends the call now with `code`, for `reason` (gateway_reason, in
  // gateway/envelope/reason.h), and aborts its upstream work, if any.
  virtual void Abort(absl::StatusCode code, absl::string_view why,
                     absl::string_view reason) = 0;
  // Keeps the call alive while the drain or the timer holds it outside the
  // lock.
  virtual void Ref() = 0;
  virtual void Unref() = 0;

  // Its place among the calls still waiting for their request message.
  // Guarded by FrontState::live_mu (an annotation cannot name it here).
  bool waiting = false;
  absl::Time waiting_since;
  std::list<LiveCall*>::iterator waiting_pos;
};

// What every call's reactor shares: where calls go, who hears of them, and
// the admission state (drain, in-flight cap, request timer).
struct FrontState {
  Dispatcher* dispatcher = nullptr;
  CallObserver* observer = nullptr;  // may be null
  // Calls whose request message has arrived and that have not ended count
  // here, and only those: a stream that has sent nothing costs the gateway
  // no upstream work, so it must not take a slot a real call needs.
  int max_in_flight = 1000;
  // How long a call may take to deliver its request message; zero: no bound.
  absl::Duration request_timeout = absl::Seconds(10);
  // Calls waiting for their request message at most. Each holds gRPC
  // memory (some 17 KB), and a client that never acknowledges the
  // gateway's SETTINGS is not held to the per-connection stream limit by
  // gRPC 1.51; beyond, the call waiting longest is ended. A real caller
  // sends its message with its headers, so it is never the one waiting
  // longest.
  size_t max_waiting = 4000;
  // Spans are exported: new traces are sampled, and sampled calls record
  // their attempts (docs/operations.md, "Traces").
  bool tracing = false;
  std::atomic<int> in_flight{0};
  std::atomic<bool> draining{false};
  // Calls between their start and OnDone; a call leaves before it is freed.
  absl::Mutex live_mu;
  absl::flat_hash_set<LiveCall*> live ABSL_GUARDED_BY(live_mu);
  // Calls whose request message has not arrived yet, oldest first. The
  // timeout is the same for every call, so the first is the next to expire
  // and the timer needs no heap.
  std::list<LiveCall*> waiting ABSL_GUARDED_BY(live_mu);
  bool timer_stopping ABSL_GUARDED_BY(live_mu) = false;
  absl::CondVar timer_wake;  // stop

  // Ends every call in flight with UNAVAILABLE (the drain's grace is over).
  void AbortAll(absl::string_view why);
  // Ends every call still waiting for its request message with UNAVAILABLE:
  // once draining, its message would be refused anyway, and nothing should
  // make the drain wait for a caller that sends nothing.
  void AbortWaiting(absl::string_view why);

  // A new call: live, and unless the gateway is draining, waiting for its
  // request message. False when draining (the call is live, not waiting).
  // Sets `*pushed_out` to the call that waited longest when there are more
  // than max_waiting, with a reference, to be ended outside the lock.
  bool Enter(LiveCall* call, LiveCall** pushed_out);
  // Takes `call` out of the waiting calls; false if the timer or the drain
  // already took it (and is ending it).
  bool StopWaiting(LiveCall* call);
  // The call is done: it leaves both sets.
  void Leave(LiveCall* call);

  // The request timer: ends each call that waits longer than
  // `request_timeout` for its request message with DEADLINE_EXCEEDED, at
  // most a tick (a tenth of the timeout, 10 ms to 1 s) late. Runs on its own
  // thread until StopTimer.
  void RunTimer();
  void StopTimer();
};

// The reactor of one unary call: read the request, dispatch, write the
// answer and finish. Deletes itself when gRPC and the dispatch are done.
grpc::ServerGenericBidiReactor* NewCallReactor(
    grpc::GenericCallbackServerContext* context, FrontState* state);

}  // namespace envelope

#endif  // GATEWAY_FRONT_CALL_REACTOR_H_
