#ifndef GATEWAY_ROUTE_CALL_ATTEMPTS_H_
#define GATEWAY_ROUTE_CALL_ATTEMPTS_H_

#include <memory>

#include "absl/synchronization/mutex.h"
#include "gateway/envelope/details.h"
#include "gateway/envelope/status_table.h"
#include "gateway/route/dispatcher.h"
#include "gateway/route/retry_policy.h"
#include "gateway/route/work_queue.h"
#include "gateway/upstream/upstream.h"

namespace envelope {

// The upstream side of one gRPC call: sends it, sends it again when the
// retry policy allows and the deadline leaves room, stops when cancelled,
// and ends with exactly one GrpcResult.
class CallAttempts : public std::enable_shared_from_this<CallAttempts> {
 public:
  struct Setup {
    const MethodRoute* route = nullptr;
    ApiCall api;
    ErrorContext context;
    const StatusTable* table = nullptr;
    const RetryPolicy* policy = nullptr;
    UpstreamSender* upstream = nullptr;
    // Where large answers are handled; null: where they arrive.
    WorkQueue* completions = nullptr;
    bool may_send_twice = false;
    Dispatcher::Done done;
  };

  static std::shared_ptr<CallAttempts> Start(Setup setup);

  // Aborts the attempt in flight (or the wait for the next); the call ends
  // with CANCELLED.
  void Cancel();

 private:
  explicit CallAttempts(Setup setup) : setup_(std::move(setup)) {}

  void Attempt();
  void OnAnswer(HttpResponse response);
  // Schedules the next attempt if the policy and the deadline allow.
  bool RetryLater(AttemptFault fault);
  bool cancelled();
  void End(GrpcResult result);

  Setup setup_;
  absl::Time start_;
  int attempts_ = 0;  // touched by one attempt at a time
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  HttpClient::TransferId transfer_ ABSL_GUARDED_BY(mu_) = 0;
};

// What went wrong with an attempt that got `response` and made `result` of
// it, as far as retrying is concerned.
//
// Example:
//
//   AttemptFault fault = ClassifyAttempt(response, result);
AttemptFault ClassifyAttempt(const HttpResponse& response,
                             const GrpcResult& result);

// The GrpcResult for one HTTP answer (SPEC §4, §5): the envelope read into
// the typed (or JsonApi) response, or the status with details.
GrpcResult ResultFromAnswer(const MethodRoute& route,
                            const ErrorContext& context,
                            const StatusTable& table,
                            const HttpResponse& response);

}  // namespace envelope

#endif  // GATEWAY_ROUTE_CALL_ATTEMPTS_H_
