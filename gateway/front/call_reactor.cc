#include "gateway/front/call_reactor.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/envelope/reason.h"
#include "gateway/envelope/text_limits.h"
#include "gateway/route/gateway_errors.h"

namespace envelope {
namespace {

std::string Metadata(const grpc::GenericCallbackServerContext& context,
                     absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// A value the caller must send at most once: empty when absent or repeated
// (W3C Trace Context: several traceparent headers make the context invalid).
std::string OneMetadata(const grpc::GenericCallbackServerContext& context,
                        absl::string_view key) {
  auto [first, last] = context.client_metadata().equal_range(
      grpc::string_ref(key.data(), key.size()));
  if (first == last || std::next(first) != last) return "";
  return std::string(first->second.data(), first->second.size());
}

absl::Time Deadline(const grpc::GenericCallbackServerContext& context) {
  auto deadline = context.deadline();
  // gRPC reports "no deadline" as a time far in the future.
  if (deadline >
      std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

bool ToString(const grpc::ByteBuffer& buffer, std::string* out) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  out->clear();
  for (const auto& slice : slices) {
    out->append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return true;
}

// Ends `calls` (each holding a reference) with `code`, outside the lock:
// ending a call may run its OnDone inline, which takes the lock.
void EndEach(const std::vector<LiveCall*>& calls, absl::StatusCode code,
             absl::string_view why, absl::string_view reason) {
  for (LiveCall* call : calls) {
    call->Abort(code, why, reason);
    call->Unref();
  }
}

class CallReactor : public grpc::ServerGenericBidiReactor, public LiveCall {
 public:
  CallReactor(grpc::GenericCallbackServerContext* context, FrontState* state)
      : context_(context),
        state_(state),
        start_(absl::Now()),
        // Before anything can end the call: every ending logs its trace.
        trace_(trace::StartCallTrace(OneMetadata(*context, "traceparent"),
                                     Metadata(*context, "tracestate"),
                                     state->tracing)) {
    if (state_->observer != nullptr) state_->observer->OnCallStart();
    LiveCall* pushed_out = nullptr;
    const bool entered = state_->Enter(this, &pushed_out);
    if (pushed_out != nullptr) {
      EndEach({pushed_out}, absl::StatusCode::kUnavailable,
              "the gateway is at its limit of calls waiting for their request "
              "message",
              gateway_reason::kOverloaded);
    }
    if (!entered) {
      // Draining: its message would be refused anyway, and the drain should
      // not wait for a caller to send it. gRPC holds the ending until the
      // reactor is bound to the call.
      End(Refusal(absl::StatusCode::kUnavailable,
                  std::string(kShuttingDownMessage),
                  gateway_reason::kDraining));
      Unref();  // no read, no dispatch
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!state_->StopWaiting(this)) {
      Unref();  // the request timer or the drain has ended the call
      return;
    }
    if (!ok) {
      End(Refusal(absl::StatusCode::kInvalidArgument,
                  "the call carried no request message",
                  gateway_reason::kNoRequestMessage));
      Unref();  // no dispatch
      return;
    }
    // Only now does the call take a slot of the cap: streams that never
    // send their message cannot starve the callers that do.
    if (state_->in_flight.fetch_add(1) >= state_->max_in_flight) {
      state_->in_flight.fetch_sub(1);
      End(Refusal(absl::StatusCode::kUnavailable,
                  "the gateway is at its limit of calls in flight",
                  gateway_reason::kOverloaded));
      Unref();
      return;
    }
    Phase waiting = Phase::kWaiting;
    if (!phase_.compare_exchange_strong(waiting, Phase::kAdmitted)) {
      state_->in_flight.fetch_sub(1);  // cancelled meanwhile: already ended
      Unref();
      return;
    }
    // Checked after the slot is taken: a drain that has begun either sees
    // this call among those in flight or is seen here.
    if (state_->draining.load()) {
      End(Refusal(absl::StatusCode::kUnavailable,
                  std::string(kShuttingDownMessage),
                  gateway_reason::kDraining));
      Unref();
      return;
    }
    GrpcCall call;
    call.method = context_->method();
    call.region = Metadata(*context_, "x-tc-region");
    call.language = Metadata(*context_, "x-tc-language");
    call.deadline = Deadline(*context_);
    call.trace = trace_;
    call.record_attempts = state_->tracing && trace_.sampled();
    if (!ToString(request_, &call.payload)) {
      End(Refusal(absl::StatusCode::kInternal, "unreadable request",
                  gateway_reason::kInternal));
      Unref();
      return;
    }
    bytes_in_ = call.payload.size();
    // The call may end (and OnDone run) before Dispatch returns: hold a
    // reference until the dispatched call is stored.
    refs_.fetch_add(1);
    StoreDispatched(state_->dispatcher->Dispatch(std::move(call),
                                                 [this](GrpcResult result) {
                                                   End(std::move(result));
                                                   Unref();
                                                 }));
    Unref();
  }

  // The caller went away, or the server is past its shutdown grace: end the
  // call now and abort its upstream work.
  void OnCancel() override {
    const bool sent_nothing = phase_.load() == Phase::kWaiting;
    // gRPC cancels the call when its deadline passes too; say which.
    if (Deadline(*context_) <= absl::Now()) {
      Abort(absl::StatusCode::kDeadlineExceeded,
            sent_nothing
                ? "the call's deadline passed before its request message "
                  "arrived"
                : "the call's deadline passed before the upstream answered",
            gateway_reason::kDeadlineExceeded);
    } else {
      Abort(absl::StatusCode::kCancelled,
            sent_nothing ? "call cancelled before its request message arrived"
                         : "call cancelled before the upstream answered",
            gateway_reason::kCancelled);
    }
  }

  void Abort(absl::StatusCode code, absl::string_view why,
             absl::string_view reason) override {
    GrpcResult refusal = Refusal(code, std::string(why), reason);
    std::shared_ptr<DispatchedCall> dispatched;
    {
      absl::MutexLock lock(&abort_mu_);
      if (!aborted_.has_value()) aborted_ = refusal;
      dispatched = dispatched_;
    }
    // A dispatched call ends through its dispatch, which knows how far it
    // got (service, action, attempts: docs/operations.md, "Logs"); any
    // other ends here, at once.
    if (dispatched != nullptr) dispatched->Abort(refusal);
    End(std::move(refusal));
  }

  void OnWriteDone(bool ok) override {}
  void OnDone() override {
    state_->Leave(this);
    Unref();
  }

 private:
  // kWaiting: no request message yet, no slot of the cap. kAdmitted: holds a
  // slot. kEnded: finished; whoever ends an admitted call gives the slot
  // back, exactly once.
  enum class Phase { kWaiting, kAdmitted, kEnded };

  static GrpcResult Refusal(absl::StatusCode code, std::string message,
                            absl::string_view reason) {
    GrpcResult result;
    result.code = code;
    result.message = std::move(message);
    result.reason = reason;
    return result;
  }

  // An Abort may already have run (on another thread) during Dispatch:
  // then the dispatched call is aborted at once, and what it ends with is
  // not heard (the call has ended).
  void StoreDispatched(std::shared_ptr<DispatchedCall> dispatched) {
    if (dispatched == nullptr) return;
    std::optional<GrpcResult> aborted;
    {
      absl::MutexLock lock(&abort_mu_);
      aborted = aborted_;
      if (!aborted.has_value()) dispatched_ = std::move(dispatched);
    }
    if (aborted.has_value()) dispatched->Abort(*std::move(aborted));
  }

  // Owners: gRPC (until OnDone), the read and then the dispatch (until its
  // callback), and a drain or the request timer while it ends the call.
  void Ref() override { refs_.fetch_add(1); }
  void Unref() override {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // Finishes the call with `result`; only the first ending counts.
  void End(GrpcResult result) {
    const Phase before = phase_.exchange(Phase::kEnded);
    if (before == Phase::kEnded) return;
    if (result.service.empty()) {
      state_->dispatcher->Describe(context_->method(), result);
    }
    AttachGatewayDetails(state_->dispatcher->gateway_error_domain(), result);
    if (!result.request_id.empty()) {
      // Upstream text: made valid, bounded metadata (docs/errors.md); gRPC
      // aborts the process on a value that is not printable ASCII.
      context_->AddTrailingMetadata("x-tc-requestid",
                                    MetadataValue(result.request_id));
    }
    if (!result.error_code.empty()) {
      context_->AddTrailingMetadata("x-tc-error-code",
                                    MetadataValue(result.error_code));
    }
    Report(result);
    if (before == Phase::kAdmitted) state_->in_flight.fetch_sub(1);
    if (result.code != absl::StatusCode::kOk) {
      Finish(grpc::Status(static_cast<grpc::StatusCode>(result.code),
                          result.message, result.details));
      return;
    }
    // The slice takes the payload over rather than copying it.
    auto* payload = new std::string(std::move(result.payload));
    grpc::Slice slice(
        payload->data(), payload->size(),
        [](void* owned) { delete static_cast<std::string*>(owned); }, payload);
    response_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void Report(const GrpcResult& result) {
    if (state_->observer == nullptr) return;
    CallRecord record;
    record.method = context_->method();
    record.result = &result;
    record.latency = absl::Now() - start_;
    record.bytes_in = bytes_in_;
    record.bytes_out = result.payload.size();
    record.peer = context_->peer();
    record.user_agent = Metadata(*context_, "user-agent");
    record.x_request_id = Metadata(*context_, "x-request-id");
    record.trace = &trace_;
    record.start = start_;
    state_->observer->OnCallEnd(record);
  }

  grpc::GenericCallbackServerContext* context_;
  FrontState* state_;
  const absl::Time start_;
  const trace::CallTrace trace_;
  std::atomic<size_t> bytes_in_{0};  // the drain may report from another thread
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::atomic<Phase> phase_{Phase::kWaiting};
  std::atomic<int> refs_{2};
  absl::Mutex abort_mu_;
  // How an Abort ended the call, if one did.
  std::optional<GrpcResult> aborted_ ABSL_GUARDED_BY(abort_mu_);
  std::shared_ptr<DispatchedCall> dispatched_ ABSL_GUARDED_BY(abort_mu_);
};

}  // namespace

void FrontState::AbortAll(absl::string_view why) {
  std::vector<LiveCall*> calls;
  {
    absl::MutexLock lock(&live_mu);
    for (LiveCall* call : live) {
      call->Ref();
      calls.push_back(call);
    }
  }
  EndEach(calls, absl::StatusCode::kUnavailable, why,
          gateway_reason::kDraining);
}

void FrontState::AbortWaiting(absl::string_view why) {
  std::vector<LiveCall*> calls;
  {
    absl::MutexLock lock(&live_mu);
    for (LiveCall* call : waiting) {
      call->waiting = false;
      call->Ref();
      calls.push_back(call);
    }
    waiting.clear();
  }
  EndEach(calls, absl::StatusCode::kUnavailable, why,
          gateway_reason::kDraining);
}

bool FrontState::Enter(LiveCall* call, LiveCall** pushed_out) {
  absl::MutexLock lock(&live_mu);
  live.insert(call);
  // Read under the lock that AbortWaiting takes after setting it: a call
  // either sees the drain or is in the list the drain empties.
  if (draining.load()) return false;
  call->waiting = true;
  call->waiting_since = absl::Now();
  // The timer is not woken: it looks again within a tick (RunTimer), which
  // spares every call a wake-up of that thread.
  call->waiting_pos = waiting.insert(waiting.end(), call);
  if (waiting.size() > max_waiting) {
    LiveCall* oldest = waiting.front();
    waiting.pop_front();
    oldest->waiting = false;
    oldest->Ref();
    *pushed_out = oldest;
  }
  return true;
}

bool FrontState::StopWaiting(LiveCall* call) {
  absl::MutexLock lock(&live_mu);
  if (!call->waiting) return false;
  call->waiting = false;
  waiting.erase(call->waiting_pos);
  return true;
}

void FrontState::Leave(LiveCall* call) {
  absl::MutexLock lock(&live_mu);
  live.erase(call);
  if (call->waiting) {  // cancelled before its read completed
    call->waiting = false;
    waiting.erase(call->waiting_pos);
  }
}

void FrontState::RunTimer() {
  const std::string why =
      absl::StrCat("the request message did not arrive within ",
                   absl::FormatDuration(request_timeout));
  const absl::Duration tick = std::clamp(
      request_timeout / 10, absl::Milliseconds(10), absl::Seconds(1));
  std::vector<LiveCall*> expired;
  while (true) {
    {
      absl::MutexLock lock(&live_mu);
      while (!timer_stopping) {
        // Calls come and go by the thousand per second, mostly waiting for
        // microseconds: rather than be woken by each, the timer looks at
        // the oldest at least once a tick, so a call overstays by at most
        // one tick.
        const absl::Time next_look = absl::Now() + tick;
        if (waiting.empty()) {
          timer_wake.WaitWithDeadline(&live_mu, next_look);
          continue;
        }
        const absl::Time due = waiting.front()->waiting_since + request_timeout;
        if (absl::Now() >= due) break;
        timer_wake.WaitWithDeadline(&live_mu, std::min(due, next_look));
      }
      if (timer_stopping) return;
      const absl::Time now = absl::Now();
      while (!waiting.empty() &&
             waiting.front()->waiting_since + request_timeout <= now) {
        LiveCall* call = waiting.front();
        waiting.pop_front();
        call->waiting = false;
        call->Ref();
        expired.push_back(call);
      }
    }
    EndEach(expired, absl::StatusCode::kDeadlineExceeded, why,
            gateway_reason::kRequestMessageTimeout);
    expired.clear();
  }
}

void FrontState::StopTimer() {
  absl::MutexLock lock(&live_mu);
  timer_stopping = true;
  timer_wake.Signal();
}

grpc::ServerGenericBidiReactor* NewCallReactor(
    grpc::GenericCallbackServerContext* context, FrontState* state) {
  return new CallReactor(context, state);
}

}  // namespace envelope
