#include "gateway/route/call_attempts.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "envelope/gateway/v1/json_api.pb.h"
#include "gateway/envelope/outcome.h"
#include "gateway/envelope/text_limits.h"
#include "gateway/transcode/transcode.h"

namespace envelope {
namespace {

// Answers up to this size are read on the I/O thread (some microseconds
// each); larger ones on a completion thread.
constexpr size_t kInlineAnswerBytes = 16 << 10;

GrpcResult Failure(const absl::Status& status) {
  GrpcResult result;
  result.code = status.code();
  result.message = std::string(status.message());
  return result;
}

bool IsRateLimited(absl::string_view code) {
  return code == "RequestLimitExceeded" ||
         absl::StartsWith(code, "RequestLimitExceeded.");
}

GrpcResult FromOutcome(Outcome outcome) {
  GrpcResult result;
  static_cast<CallStatus&>(result) = std::move(outcome);
  return result;
}

}  // namespace

AttemptFault ClassifyAttempt(const HttpResponse& response,
                             const GrpcResult& result) {
  if (!response.transport.ok()) {
    if (response.transport.code() != absl::StatusCode::kUnavailable ||
        response.tls_failure) {
      return AttemptFault::kPermanent;
    }
    return response.request_sent ? AttemptFault::kAfterSend
                                 : AttemptFault::kBeforeSend;
  }
  if (IsRateLimited(result.error_code)) return AttemptFault::kRateLimited;
  // No envelope, and an HTTP status that says "busy, try later".
  if (result.error_code.empty() &&
      result.code == absl::StatusCode::kUnavailable) {
    return AttemptFault::kAfterSend;
  }
  return AttemptFault::kNone;
}

GrpcResult ResultFromAnswer(const MethodRoute& route,
                            const ErrorContext& context,
                            const StatusTable& table,
                            const HttpResponse& response) {
  if (!response.transport.ok()) return Failure(response.transport);
  Outcome outcome =
      InterpretResponse(response.status, response.body, context, table);
  if (!outcome.ok() || !outcome.envelope.has_value()) {
    return FromOutcome(std::move(outcome));
  }
  const Envelope& envelope = *outcome.envelope;
  GrpcResult result;
  result.request_id = envelope.request_id;
  if (route.untyped) {
    envelope::gateway::v1::CallResponse answer;
    answer.set_response_json(std::string(envelope.ResponseText()));
    answer.set_request_id(envelope.request_id);
    answer.SerializeToString(&result.payload);
    return result;
  }
  // Straight into the wire format: no message is built (docs/performance.md).
  // The wire format is mostly shorter than the JSON it comes from (names
  // become tags, numbers varints): the body's size usually holds it without
  // regrowing.
  result.payload.reserve(response.body.size());
  absl::Status status = JsonValueToWire(
      envelope.response, route.method->output_type(), &result.payload);
  if (!status.ok()) {
    result.payload.clear();
    result.code = absl::StatusCode::kInternal;
    result.message =
        Truncated(absl::StrCat("upstream response does not fit ",
                               route.method->output_type()->full_name(), ": ",
                               status.message()),
                  kMaxErrorMessage);
    return result;
  }
  return result;
}

std::shared_ptr<CallAttempts> CallAttempts::Start(Setup setup) {
  std::shared_ptr<CallAttempts> call(new CallAttempts(std::move(setup)));
  call->start_ = absl::Now();
  call->Attempt();
  return call;
}

void CallAttempts::Cancel() {
  HttpClient::TransferId transfer;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_ || ended_) return;
    cancelled_ = true;
    transfer = transfer_;
  }
  if (transfer != 0) {
    setup_.upstream->Cancel(transfer);  // its callback ends the call
  } else {
    // Waiting for a retry (or between attempts): end now rather than when
    // the timer fires; the attempt it would start sees `cancelled_`.
    End(Failure(absl::CancelledError("the call was cancelled")));
  }
}

void CallAttempts::Attempt() {
  if (cancelled()) {
    End(Failure(absl::CancelledError("the call was cancelled")));
    return;
  }
  ++attempts_;
  auto self = shared_from_this();
  HttpClient::TransferId id =
      setup_.upstream->Send(setup_.api, [self](HttpResponse response) {
        // A small answer is read where it arrived: handing it to another
        // thread costs more than reading it. A large one goes to a
        // completion thread, so that it cannot hold up every other transfer
        // of the I/O thread (docs/design.md).
        if (self->setup_.completions == nullptr ||
            response.body.size() <= kInlineAnswerBytes) {
          self->OnAnswer(std::move(response));
          return;
        }
        self->setup_.completions->Post(
            [self, response = std::move(response)]() mutable {
              self->OnAnswer(std::move(response));
            });
      });
  absl::MutexLock lock(&mu_);
  transfer_ = id;
  // Cancelled between Send and here: the transfer id was not known yet.
  if (cancelled_ && id != 0) setup_.upstream->Cancel(id);
}

bool CallAttempts::cancelled() {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

void CallAttempts::OnAnswer(HttpResponse response) {
  {
    absl::MutexLock lock(&mu_);
    transfer_ = 0;
  }
  attempts_ += response.resends;  // libcurl's own re-sends count too
  // Should this answer be RequestLimitExceeded and the last, RetryInfo says
  // how long the gateway would have waited next: set before the one reading.
  setup_.context.retry_delay =
      setup_.policy->BackoffCap(AttemptFault::kRateLimited, attempts_);
  GrpcResult result =
      ResultFromAnswer(*setup_.route, setup_.context, *setup_.table, response);
  if (RetryLater(ClassifyAttempt(response, result))) return;
  result.attempts = attempts_;
  End(std::move(result));
}

bool CallAttempts::RetryLater(AttemptFault fault) {
  std::optional<absl::Duration> wait =
      setup_.policy->NextAttempt(fault, attempts_, setup_.may_send_twice,
                                 absl::Now(), setup_.api.deadline);
  if (!wait.has_value() || cancelled()) return false;
  auto self = shared_from_this();
  setup_.upstream->RunAfter(*wait, [self] { self->Attempt(); });
  return true;
}

void CallAttempts::End(GrpcResult result) {
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return;
    ended_ = true;
  }
  result.service = setup_.api.service;
  result.action = setup_.api.action;
  result.region = setup_.api.region;
  result.upstream_time = absl::Now() - start_;
  Dispatcher::Done done = std::move(setup_.done);
  std::move(done)(std::move(result));
}

}  // namespace envelope
