#ifndef GATEWAY_FRONT_CALL_REACTOR_H_
#define GATEWAY_FRONT_CALL_REACTOR_H_

#include <grpcpp/generic/async_generic_service.h>

#include <atomic>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "gateway/front/server.h"
#include "gateway/route/dispatcher.h"

namespace envelope {

// A call in flight, as the drain sees it.
class LiveCall {
 public:
  virtual ~LiveCall() = default;
  // Ends the call now with UNAVAILABLE and aborts its upstream work.
  virtual void Abort(absl::string_view why) = 0;
  // Keeps the call alive while the drain holds it outside the lock.
  virtual void Ref() = 0;
  virtual void Unref() = 0;
};

// What every call's reactor shares: where calls go, who hears of them, and
// the admission state (drain, in-flight cap).
struct FrontState {
  Dispatcher* dispatcher = nullptr;
  CallObserver* observer = nullptr;  // may be null
  int max_in_flight = 1000;
  std::atomic<int> in_flight{0};
  std::atomic<bool> draining{false};
  // Calls between their start and OnDone; a call leaves before it is freed.
  absl::Mutex live_mu;
  absl::flat_hash_set<LiveCall*> live ABSL_GUARDED_BY(live_mu);

  // Ends every call in flight with UNAVAILABLE (the drain's grace is over).
  void AbortAll(absl::string_view why);
};

// The reactor of one unary call: read the request, dispatch, write the
// answer and finish. Deletes itself when gRPC and the dispatch are done.
grpc::ServerGenericBidiReactor* NewCallReactor(
    grpc::GenericCallbackServerContext* context, FrontState* state);

}  // namespace envelope

#endif  // GATEWAY_FRONT_CALL_REACTOR_H_
