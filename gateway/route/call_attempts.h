#ifndef GATEWAY_ROUTE_CALL_ATTEMPTS_H_
#define GATEWAY_ROUTE_CALL_ATTEMPTS_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "gateway/envelope/details.h"
#include "gateway/envelope/status_table.h"
#include "gateway/route/attempt_gate.h"
#include "gateway/route/dispatcher.h"
#include "gateway/route/retry_policy.h"
#include "gateway/route/work_queue.h"
#include "gateway/upstream/upstream.h"

namespace envelope {

// The upstream side of one gRPC call: passes each attempt through the gates
// (attempt_gate.h), sends it, sends it again when the retry policy allows
// and the deadline leaves room, stops when aborted, and ends with exactly
// one GrpcResult, which says how far the call got
// (attempts, the last HTTP status and host, retries by reason) however it
// ended.
class CallAttempts : public DispatchedCall,
                     public std::enable_shared_from_this<CallAttempts> {
 public:
  struct Setup {
    const MethodRoute* route = nullptr;
    ApiCall api;
    ErrorContext context;
    const StatusTable* table = nullptr;
    const RetryPolicy* policy = nullptr;
    UpstreamSender* upstream = nullptr;
    // Asked in order before each attempt; each hears its answer.
    const std::vector<AttemptGate*>* gates = nullptr;
    // Where large answers are handled; null: where they arrive.
    WorkQueue* completions = nullptr;
    bool may_send_twice = false;
    // Record each attempt for its span (GrpcResult::attempt_log).
    bool record_attempts = false;
    Dispatcher::Done done;
  };

  static std::shared_ptr<CallAttempts> Start(Setup setup);

  // Ends the call now with `status` and aborts the attempt in flight (or
  // the wait for the next).
  void Abort(CallStatus status) override;

 private:
  explicit CallAttempts(Setup setup) : setup_(std::move(setup)) {}

  // Asks gate `index` and the ones after it, then sends.
  void Attempt(size_t index = 0);
  void OnVerdict(size_t index, GateVerdict verdict);
  void Send();
  // Tells the gates what became of the attempt.
  void TellGates(const HttpResponse& response, AttemptFault fault,
                 const GrpcResult& result);
  void OnAnswer(HttpResponse response);
  // Schedules the next attempt if the policy and the deadline allow.
  bool RetryLater(AttemptFault fault);
  bool aborted();
  // Completes the attempt's record with what its answer said.
  void RecordAnswer(const HttpResponse& response, const GrpcResult& result);
  void End(GrpcResult result);

  Setup setup_;
  absl::Time start_;
  // Written by one attempt at a time, read by an Abort from any thread.
  std::atomic<int> attempts_{0};
  absl::Mutex mu_;
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  HttpClient::TransferId transfer_ ABSL_GUARDED_BY(mu_) = 0;
  // What the call's end reports of its attempts so far.
  long http_status_ ABSL_GUARDED_BY(mu_) = 0;
  std::string upstream_host_ ABSL_GUARDED_BY(mu_);
  int transport_retries_ ABSL_GUARDED_BY(mu_) = 0;
  int rate_limit_retries_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<AttemptRecord> attempt_log_ ABSL_GUARDED_BY(mu_);
};

// What went wrong with an attempt that got `response` and made `result` of
// it, as far as retrying is concerned.
//
// Example:
//
//   AttemptFault fault = ClassifyAttempt(response, result);
AttemptFault ClassifyAttempt(const HttpResponse& response,
                             const GrpcResult& result);

// The GrpcResult for one HTTP answer (docs/errors.md): the envelope read into
// the typed (or JsonApi) response, or the status with details, or the
// gateway's own reason for a failure without an envelope.
GrpcResult ResultFromAnswer(const MethodRoute& route,
                            const ErrorContext& context,
                            const StatusTable& table,
                            const HttpResponse& response);

}  // namespace envelope

#endif  // GATEWAY_ROUTE_CALL_ATTEMPTS_H_
