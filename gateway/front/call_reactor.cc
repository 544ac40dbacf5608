#include "gateway/front/call_reactor.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/synchronization/mutex.h"

namespace envelope {
namespace {

std::string Metadata(const grpc::GenericCallbackServerContext& context,
                     absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
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

class CallReactor : public grpc::ServerGenericBidiReactor, public LiveCall {
 public:
  CallReactor(grpc::GenericCallbackServerContext* context, FrontState* state)
      : context_(context), state_(state), start_(absl::Now()) {
    state_->in_flight.fetch_add(1);
    {
      absl::MutexLock lock(&state_->live_mu);
      state_->live.insert(this);
    }
    if (state_->observer != nullptr) state_->observer->OnCallStart();
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      End(Refusal(absl::StatusCode::kInvalidArgument,
                  "the call carried no request message"));
      Unref();  // no dispatch
      return;
    }
    if (state_->draining.load()) {
      End(Refusal(absl::StatusCode::kUnavailable,
                  "the gateway is shutting down; retry on another instance"));
      Unref();
      return;
    }
    if (state_->in_flight.load() > state_->max_in_flight) {
      End(Refusal(absl::StatusCode::kUnavailable,
                  "the gateway is at its limit of calls in flight"));
      Unref();
      return;
    }
    GrpcCall call;
    call.method = context_->method();
    call.region = Metadata(*context_, "x-tc-region");
    call.language = Metadata(*context_, "x-tc-language");
    call.deadline = Deadline(*context_);
    if (!ToString(request_, &call.payload)) {
      End(Refusal(absl::StatusCode::kInternal, "unreadable request"));
      Unref();
      return;
    }
    bytes_in_ = call.payload.size();
    // The call may end (and OnDone run) before Dispatch returns: hold a
    // reference until the canceller is stored.
    refs_.fetch_add(1);
    Dispatcher::Canceller cancel = state_->dispatcher->Dispatch(
        std::move(call), [this](GrpcResult result) {
          End(std::move(result));
          Unref();
        });
    StoreCanceller(std::move(cancel));
    Unref();
  }

  // The caller went away, or the server is past its shutdown grace: end the
  // call now and abort its upstream work.
  void OnCancel() override {
    // gRPC cancels the call when its deadline passes too; say which.
    if (Deadline(*context_) <= absl::Now()) {
      Abort(absl::StatusCode::kDeadlineExceeded,
            "the call's deadline passed before the upstream answered");
    } else {
      Abort(absl::StatusCode::kCancelled,
            "call cancelled before the upstream answered");
    }
  }

  void Abort(absl::string_view why) override {
    Abort(absl::StatusCode::kUnavailable, why);
  }

  void OnWriteDone(bool ok) override {}
  void OnDone() override {
    {
      absl::MutexLock lock(&state_->live_mu);
      state_->live.erase(this);
    }
    Unref();
  }

 private:
  void Abort(absl::StatusCode code, absl::string_view why) {
    End(Refusal(code, std::string(why)));
    Dispatcher::Canceller cancel;
    {
      absl::MutexLock lock(&cancel_mu_);
      cancelled_ = true;
      cancel = std::move(cancel_);
    }
    if (cancel) std::move(cancel)();
  }

  static GrpcResult Refusal(absl::StatusCode code, std::string message) {
    GrpcResult result;
    result.code = code;
    result.message = std::move(message);
    return result;
  }

  // OnCancel may already have run (on another thread) during Dispatch: then
  // cancel at once.
  void StoreCanceller(Dispatcher::Canceller cancel) {
    absl::MutexLock lock(&cancel_mu_);
    if (cancelled_) {
      std::move(cancel)();
    } else {
      cancel_ = std::move(cancel);
    }
  }

  // Owners: gRPC (until OnDone), the dispatch (until its callback), and a
  // drain while it aborts the call.
  void Ref() override { refs_.fetch_add(1); }
  void Unref() override {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // Finishes the call with `result`; only the first ending counts.
  void End(GrpcResult result) {
    if (finished_.exchange(true)) return;
    if (!result.request_id.empty()) {
      context_->AddTrailingMetadata("x-tc-requestid", result.request_id);
    }
    if (!result.error_code.empty()) {
      context_->AddTrailingMetadata("x-tc-error-code", result.error_code);
    }
    Report(result);
    state_->in_flight.fetch_sub(1);
    if (result.code != absl::StatusCode::kOk) {
      Finish(grpc::Status(static_cast<grpc::StatusCode>(result.code),
                          result.message, result.details));
      return;
    }
    grpc::Slice slice(result.payload);
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
    state_->observer->OnCallEnd(record);
  }

  grpc::GenericCallbackServerContext* context_;
  FrontState* state_;
  const absl::Time start_;
  std::atomic<size_t> bytes_in_{0};  // the drain may report from another thread
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::atomic<bool> finished_{false};
  std::atomic<int> refs_{2};
  absl::Mutex cancel_mu_;
  bool cancelled_ ABSL_GUARDED_BY(cancel_mu_) = false;
  Dispatcher::Canceller cancel_ ABSL_GUARDED_BY(cancel_mu_);
};

}  // namespace

void FrontState::AbortAll(absl::string_view why) {
  // Abort outside the lock: ending a call may run its OnDone inline, which
  // takes the lock.
  std::vector<LiveCall*> calls;
  {
    absl::MutexLock lock(&live_mu);
    for (LiveCall* call : live) {
      call->Ref();
      calls.push_back(call);
    }
  }
  for (LiveCall* call : calls) {
    call->Abort(why);
    call->Unref();
  }
}

grpc::ServerGenericBidiReactor* NewCallReactor(
    grpc::GenericCallbackServerContext* context, FrontState* state) {
  return new CallReactor(context, state);
}

}  // namespace envelope
