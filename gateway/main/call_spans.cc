#include "gateway/main/call_spans.h"

#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"

namespace envelope {
namespace {

using trace::Attribute;
using trace::Span;

void Add(std::vector<Attribute>& attributes, absl::string_view key,
         absl::string_view value) {
  if (value.empty()) return;
  attributes.push_back({std::string(key), std::string(value)});
}

void Add(std::vector<Attribute>& attributes, absl::string_view key,
         int64_t value) {
  attributes.push_back({std::string(key), value});
}

// OpenTelemetry's gRPC server spans are errors for the codes that say the
// server failed, not the caller.
bool ServerError(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

// "host[:port]" as server.address and server.port.
void AddServer(std::vector<Attribute>& attributes, absl::string_view host) {
  if (host.empty()) return;
  absl::string_view address = host;
  int port = 0;
  const size_t colon = host.rfind(':');
  // Not inside an IPv6 literal's brackets.
  if (colon != absl::string_view::npos &&
      host.find(']', colon) == absl::string_view::npos &&
      absl::SimpleAtoi(host.substr(colon + 1), &port)) {
    address = host.substr(0, colon);
  }
  Add(attributes, "server.address", address);
  if (port != 0) Add(attributes, "server.port", port);
}

}  // namespace

std::vector<Span> CallSpans(const CallRecord& record) {
  std::vector<Span> spans;
  if (record.trace == nullptr || !record.trace->sampled()) return spans;
  const trace::CallTrace& context = *record.trace;
  const GrpcResult& result = *record.result;
  spans.reserve(1 + result.attempt_log.size());

  Span& call = spans.emplace_back();
  call.trace_id = context.trace_id;
  call.span_id = context.span_id;
  call.parent_id = context.parent_id;
  call.parent_remote = context.parent_id != 0;
  call.trace_flags = context.flags;
  call.tracestate = context.tracestate;
  // "/pkg.Service/Method" -> "pkg.Service/Method" (the RPC conventions).
  absl::string_view method = record.method;
  if (!method.empty() && method[0] == '/') method.remove_prefix(1);
  call.name = std::string(method);
  call.kind = trace::SpanKind::kServer;
  call.start = record.start;
  call.end = record.start + record.latency;
  call.error = ServerError(result.code);
  if (call.error) call.status_message = result.message;
  std::vector<Attribute>& a = call.attributes;
  Add(a, "rpc.system", "grpc");
  const size_t slash = method.find('/');
  if (slash != absl::string_view::npos) {
    Add(a, "rpc.service", method.substr(0, slash));
    Add(a, "rpc.method", method.substr(slash + 1));
  }
  Add(a, "rpc.grpc.status_code", static_cast<int64_t>(result.code));
  Add(a, "tencentcloud.service", result.service);
  Add(a, "tencentcloud.action", result.action);
  Add(a, "tencentcloud.region", result.region);
  Add(a, "tencentcloud.request_id", result.request_id);
  Add(a, "tencentcloud.error_code", result.error_code);
  Add(a, "envelope_gateway.reason", result.reason);
  Add(a, "envelope_gateway.attempts", result.attempts);

  for (size_t i = 0; i < result.attempt_log.size(); ++i) {
    const AttemptRecord& attempt = result.attempt_log[i];
    Span& span = spans.emplace_back();
    span.trace_id = context.trace_id;
    span.span_id = attempt.span_id;
    span.parent_id = context.span_id;
    span.trace_flags = context.flags;
    span.tracestate = context.tracestate;
    span.name = "POST";  // the HTTP client convention: the method
    span.kind = trace::SpanKind::kClient;
    span.start = attempt.start;
    span.end = attempt.end;
    std::vector<Attribute>& b = span.attributes;
    Add(b, "http.request.method", "POST");
    if (attempt.http_status != 0) {
      Add(b, "http.response.status_code",
          static_cast<int64_t>(attempt.http_status));
    }
    AddServer(b, attempt.host);
    Add(b, "envelope_gateway.attempt", static_cast<int64_t>(i + 1));
    if (i > 0) Add(b, "http.request.resend_count", static_cast<int64_t>(i));
    Add(b, "tencentcloud.request_id", attempt.request_id);
    Add(b, "tencentcloud.error_code", attempt.error_code);
    if (attempt.code != absl::StatusCode::kOk) {
      span.error = true;
      span.status_message =
          attempt.message.empty() ? attempt.error_code : attempt.message;
      Add(b, "error.type",
          !attempt.error_code.empty() ? attempt.error_code
          : attempt.http_status >= 400
              ? std::to_string(attempt.http_status)
              : absl::StatusCodeToString(attempt.code));
    }
  }
  return spans;
}

}  // namespace envelope
