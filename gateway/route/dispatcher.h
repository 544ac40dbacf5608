#ifndef GATEWAY_ROUTE_DISPATCHER_H_
#define GATEWAY_ROUTE_DISPATCHER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gateway/envelope/outcome.h"
#include "gateway/envelope/status_table.h"
#include "gateway/route/allow_list.h"
#include "gateway/route/attempt_gate.h"
#include "gateway/route/retry_policy.h"
#include "gateway/route/router.h"
#include "gateway/route/work_queue.h"
#include "gateway/trace/trace_context.h"
#include "gateway/upstream/upstream.h"

namespace envelope {

// One gRPC call as the front end hands it over: no gRPC types below here.
struct GrpcCall {
  std::string method;    // "/pkg.Service/Method"
  std::string payload;   // serialized request message
  std::string region;    // x-tc-region metadata, may be empty
  std::string language;  // x-tc-language metadata, may be empty
  absl::Time deadline = absl::InfiniteFuture();
  // The call's place in its trace (traceparent/tracestate metadata, or a
  // new trace): each attempt forwards it (docs/operations.md, "Traces").
  trace::CallTrace trace;
  // Record each attempt in GrpcResult::attempt_log (spans are exported);
  // off, an attempt costs only its span id.
  bool record_attempts = false;
};

// One upstream attempt, for its span (recorded only when asked:
// GrpcCall::record_attempts).
struct AttemptRecord {
  uint64_t span_id = 0;  // the parent id its traceparent named
  absl::Time start;
  absl::Time end;
  long http_status = 0;  // 0: no answer
  std::string host;      // host[:port]
  std::string request_id;
  std::string error_code;                         // the envelope's Error.Code
  absl::StatusCode code = absl::StatusCode::kOk;  // what it made of the call
  std::string message;  // the transport failure, if any
};

// How the call ends: its status, and what the access log and metrics say
// of it.
struct GrpcResult : CallStatus {
  std::string payload;  // serialized response message, on OK
  int attempts = 0;     // upstream requests sent for the call
  // What the call was, as far as it got (for the access log and metrics).
  std::string service;
  std::string action;
  std::string region;
  absl::Duration upstream_time;  // all attempts and backoffs
  long http_status = 0;          // of the last upstream answer; 0: none
  std::string upstream_host;     // host[:port] of the last attempt
  // Attempts sent again, by why: a transport fault or a busy HTTP status
  // (libcurl's own re-sends included), or RequestLimitExceeded.
  int transport_retries = 0;
  int rate_limit_retries = 0;
  // RetryInfo's delay when the one who refused knows it (the wait a rate
  // limiter would have imposed); unset: the reason's own
  // (gateway_errors.h).
  std::optional<absl::Duration> retry_after;
  std::vector<AttemptRecord> attempt_log;  // GrpcCall::record_attempts only
  // Answered by an identical call's upstream request, which it joined
  // (docs/operations.md, "Coalesced reads"): the attempts, retries and host
  // are that request's.
  bool coalesced = false;
};

// A call the dispatcher has taken on, as the front holds it: to end it
// before its upstream work is done (the caller's deadline, a cancel, the
// drain).
class DispatchedCall {
 public:
  virtual ~DispatchedCall() = default;
  // Ends the call now with `status` unless it has ended: the call's `done`
  // runs at once, with `status` and what is known of the call so far
  // (service, action, region, attempts, ...); its upstream work is aborted.
  virtual void Abort(CallStatus status) = 0;
};

struct DispatcherOptions {
  std::string default_region;
  // Bound of the whole upstream exchange (retries included) when the caller
  // set no deadline.
  absl::Duration default_timeout = absl::Seconds(30);
  RetryOptions retry;
  // Threads that parse, transcode and answer upstream responses.
  int completion_threads = 2;
  std::string error_domain = "tencentcloudapi.com";
  // service -> ErrorInfo.domain, over error_domain (a route's own option
  // wins over both).
  absl::flat_hash_map<std::string, std::string> service_error_domains;
  // ErrorInfo.domain of the gateway's own refusals.
  std::string gateway_error_domain = "envelope-gateway";
  // Allow-list: "Action", "Glob*", "service:Action" or "service:Glob*";
  // empty allows every action.
  std::vector<std::string> allowed_actions;
  // Actions whose identical concurrent calls share one upstream request
  // (same globs as the allow-list); only idempotent actions qualify
  // (docs/operations.md, "Coalesced reads").
  std::vector<std::string> coalesced_actions;
  StatusTable status_table = StatusTable::Default();
};

class Coalescer;
struct CoalescerStats;

// Turns a gRPC call into an API call and its answer into the gRPC result:
// route, transcode, send, interpret the envelope.
class Dispatcher {
 public:
  using Done = absl::AnyInvocable<void(GrpcResult) &&>;

  // `gates` are asked, in order, before each upstream attempt
  // (attempt_gate.h); they must outlive the dispatcher.
  Dispatcher(const Router* router, Upstream* upstream,
             DispatcherOptions options, std::vector<AttemptGate*> gates = {});
  ~Dispatcher();

  // `done` runs exactly once, on the caller's thread, the I/O thread or a
  // completion thread. Returns the call while its upstream work runs (null
  // when `done` has run already); Abort may be called on it at any time,
  // also after `done`.
  std::shared_ptr<DispatchedCall> Dispatch(GrpcCall call, Done done);

  // Fills in what the method names (service, action) of a call that ended
  // before it was dispatched, for the access log and metrics.
  void Describe(absl::string_view method, GrpcResult& result) const;

  // The domain of the gateway's own failures' ErrorInfo.
  const std::string& gateway_error_domain() const {
    return options_.gateway_error_domain;
  }

  // Coalesced reads so far (docs/operations.md, "Coalesced reads").
  CoalescerStats coalescing() const;

  // Finishes the completions still queued (after the upstream has stopped:
  // its last answers come in as failures). Idempotent.
  void Shutdown() { completions_.Shutdown(); }

 private:
  const std::string& ErrorDomain(const MethodRoute& route,
                                 const std::string& service) const;
  // The API call a valid request message makes (metadata checked before).
  absl::StatusOr<ApiCall> PrepareCall(const MethodRoute& route,
                                      GrpcCall& call) const;

  const Router* router_;
  Upstream* upstream_;
  DispatcherOptions options_;
  RetryPolicy retry_policy_;
  AllowList allow_list_;
  const std::vector<AttemptGate*> gates_;
  const std::unique_ptr<Coalescer> coalescer_;
  // Last member: destroyed first, while what its tasks use still exists.
  WorkQueue completions_;
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_DISPATCHER_H_
