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

absl::string_view ReasonOf(TransportFault fault) {
  switch (fault) {
    case TransportFault::kNone:
    case TransportFault::kUnreachable:
      return gateway_reason::kUpstreamUnreachable;
    case TransportFault::kTlsFailure:
      return gateway_reason::kUpstreamTlsFailure;
    case TransportFault::kTimeout:
      return gateway_reason::kUpstreamTimeout;
    case TransportFault::kTooLarge:
      return gateway_reason::kUpstreamResponseTooLarge;
    case TransportFault::kCancelled:
      return gateway_reason::kCancelled;
    case TransportFault::kStopping:
      return gateway_reason::kDraining;
    case TransportFault::kNoResources:
      return gateway_reason::kOverloaded;
    case TransportFault::kNoCredentials:
      return gateway_reason::kNoCredentials;
    case TransportFault::kNoRegion:
      return gateway_reason::kRegionRequired;
  }
  return gateway_reason::kUpstreamUnreachable;
}

GrpcResult TransportFailure(const HttpResponse& response) {
  GrpcResult result;
  result.code = response.transport.code();
  result.message = std::string(response.transport.message());
  result.reason = ReasonOf(response.fault);
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
        response.fault == TransportFault::kTlsFailure) {
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
  if (!response.transport.ok()) return TransportFailure(response);
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
      envelope.response, route.response_prototype->GetDescriptor(),
      &result.payload);
  if (!status.ok()) {
    result.payload.clear();
    result.code = absl::StatusCode::kInternal;
    result.reason = gateway_reason::kResponseNotTranscodable;
    result.message =
        Truncated(absl::StrCat("upstream response does not fit ",
                               route.response_type, ": ", status.message()),
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

void CallAttempts::Abort(CallStatus status) {
  HttpClient::TransferId transfer;
  {
    absl::MutexLock lock(&mu_);
    if (aborted_ || ended_) return;
    aborted_ = true;
    transfer = transfer_;
  }
  GrpcResult result;
  static_cast<CallStatus&>(result) = std::move(status);
  End(std::move(result));
  // Its answer (CANCELLED) finds the call ended; a retry timer still set
  // starts no attempt (Attempt sees `aborted_`).
  if (transfer != 0) setup_.upstream->Cancel(transfer);
}

void CallAttempts::Attempt(size_t index) {
  if (aborted()) return;  // ended by the Abort
  if (setup_.gates == nullptr || index == setup_.gates->size()) {
    Send();
    return;
  }
  auto self = shared_from_this();
  (*setup_.gates)[index]->Admit(setup_.api, [self, index](GateVerdict verdict) {
    self->OnVerdict(index, std::move(verdict));
  });
}

void CallAttempts::OnVerdict(size_t index, GateVerdict verdict) {
  if (!verdict.admitted()) {
    GrpcResult result;
    static_cast<CallStatus&>(result) = std::move(verdict.refusal);
    result.retry_after = verdict.retry_after;
    End(std::move(result));
    return;
  }
  if (verdict.wait <= absl::ZeroDuration()) {
    Attempt(index + 1);
    return;
  }
  auto self = shared_from_this();
  setup_.upstream->RunAfter(verdict.wait,
                            [self, index] { self->Attempt(index + 1); });
}

void CallAttempts::Send() {
  attempts_.fetch_add(1, std::memory_order_relaxed);
  // Each attempt is a span of its own, the parent the upstream sees in its
  // traceparent (docs/operations.md, "Traces"). Attempts run one at a time:
  // nothing else reads `setup_.api` meanwhile.
  if (setup_.api.trace.trace_id.valid()) {
    setup_.api.attempt_span_id = trace::NewSpanId();
    if (setup_.record_attempts) {
      absl::MutexLock lock(&mu_);
      attempt_log_.push_back(
          {.span_id = setup_.api.attempt_span_id, .start = absl::Now()});
    }
  }
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
  // Aborted between Send and here: the transfer id was not known yet.
  if (aborted_ && id != 0) setup_.upstream->Cancel(id);
}

void CallAttempts::TellGates(const HttpResponse& response, AttemptFault fault,
                             const GrpcResult& result) {
  if (setup_.gates == nullptr || setup_.gates->empty()) return;
  // Cut short by the call's own end, or never sent: says nothing of the API.
  if (response.fault == TransportFault::kCancelled ||
      response.fault == TransportFault::kStopping ||
      response.fault == TransportFault::kNoCredentials ||
      response.fault == TransportFault::kNoRegion ||
      response.fault == TransportFault::kNoResources) {
    return;
  }
  const AttemptAnswer answer{.at = absl::Now(),
                             .fault = fault,
                             .transport = response.fault,
                             .http_status = response.status,
                             .rate_limited = IsRateLimited(result.error_code)};
  for (AttemptGate* gate : *setup_.gates) gate->OnAnswer(setup_.api, answer);
}

bool CallAttempts::aborted() {
  absl::MutexLock lock(&mu_);
  return aborted_;
}

void CallAttempts::OnAnswer(HttpResponse response) {
  // libcurl's own re-sends count as attempts, and as transport retries.
  const int attempts =
      attempts_.fetch_add(response.resends, std::memory_order_relaxed) +
      response.resends;
  {
    absl::MutexLock lock(&mu_);
    transfer_ = 0;
    if (!response.host.empty()) upstream_host_ = std::move(response.host);
    http_status_ = response.status;
    transport_retries_ += response.resends;
  }
  // Should this answer be RequestLimitExceeded and the last, RetryInfo says
  // how long the gateway would have waited next: set before the one reading.
  setup_.context.retry_delay =
      setup_.policy->BackoffCap(AttemptFault::kRateLimited, attempts);
  GrpcResult result =
      ResultFromAnswer(*setup_.route, setup_.context, *setup_.table, response);
  if (setup_.record_attempts) RecordAnswer(response, result);
  const AttemptFault fault = ClassifyAttempt(response, result);
  TellGates(response, fault, result);
  if (RetryLater(fault)) return;
  End(std::move(result));
}

void CallAttempts::RecordAnswer(const HttpResponse& response,
                                const GrpcResult& result) {
  absl::MutexLock lock(&mu_);
  if (attempt_log_.empty() || ended_) return;
  AttemptRecord& record = attempt_log_.back();
  record.end = absl::Now();
  record.http_status = response.status;
  record.host = upstream_host_;
  record.request_id = result.request_id;
  record.error_code = result.error_code;
  record.code = result.code;
  if (!response.transport.ok()) {
    record.message = std::string(response.transport.message());
  }
}

bool CallAttempts::RetryLater(AttemptFault fault) {
  std::optional<absl::Duration> wait = setup_.policy->NextAttempt(
      fault, attempts_.load(std::memory_order_relaxed), setup_.may_send_twice,
      absl::Now(), setup_.api.deadline);
  if (!wait.has_value()) return false;
  {
    absl::MutexLock lock(&mu_);
    if (aborted_) return false;
    (fault == AttemptFault::kRateLimited ? rate_limit_retries_
                                         : transport_retries_)++;
  }
  auto self = shared_from_this();
  setup_.upstream->RunAfter(*wait, [self] { self->Attempt(); });
  return true;
}

void CallAttempts::End(GrpcResult result) {
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return;
    ended_ = true;
    result.http_status = http_status_;
    result.upstream_host = upstream_host_;
    result.transport_retries = transport_retries_;
    result.rate_limit_retries = rate_limit_retries_;
    // An attempt still in flight (the call was aborted) ends with the call.
    if (!attempt_log_.empty() && attempt_log_.back().end == absl::Time()) {
      attempt_log_.back().end = absl::Now();
      attempt_log_.back().code = result.code;
      attempt_log_.back().message = result.message;
    }
    result.attempt_log = std::move(attempt_log_);
  }
  result.attempts = attempts_.load(std::memory_order_relaxed);
  result.service = setup_.api.service;
  result.action = setup_.api.action;
  result.region = setup_.api.region;
  result.upstream_time = absl::Now() - start_;
  Dispatcher::Done done = std::move(setup_.done);
  std::move(done)(std::move(result));
}

}  // namespace envelope
