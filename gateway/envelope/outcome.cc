#include "gateway/envelope/outcome.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "gateway/envelope/text_limits.h"

namespace envelope {
namespace {

Outcome FromErrorEnvelope(const Envelope& envelope, const ErrorContext& context,
                          const StatusTable& table) {
  Outcome outcome;
  outcome.request_id = envelope.request_id;
  outcome.error_code = envelope.error_code;
  outcome.code = table.Lookup(envelope.error_code);
  if (outcome.ok()) return outcome;  // DryRunOperation: OK, empty response.
  // Bounded so that the status, the details and the trailers stay inside a
  // client's metadata limit (docs/errors.md, "Hostile input").
  outcome.message =
      Truncated(envelope.error_message.empty() ? envelope.error_code
                                               : envelope.error_message,
                kMaxErrorMessage);
  outcome.details =
      BuildErrorStatus(
          outcome.code, Truncated(envelope.error_code, kMaxMetadataValue),
          outcome.message, Truncated(envelope.request_id, kMaxMetadataValue),
          context)
          .SerializeAsString();
  return outcome;
}

// The RequestId a broken envelope still gave (ParseEnvelope's payload).
std::string RequestIdOf(const absl::Status& status) {
  // absl::optional (not std:: in Debian's Abseil).
  auto request_id = status.GetPayload(kRequestIdPayload);
  return request_id.has_value() ? std::string(*request_id) : "";
}

// A status with no (usable) envelope; a RequestId it carries still goes out.
Outcome FailureOutcome(const absl::Status& status) {
  Outcome outcome;
  outcome.code = status.code();
  outcome.message = std::string(status.message());
  outcome.request_id = RequestIdOf(status);
  outcome.reason = gateway_reason::kUpstreamMalformedResponse;
  return outcome;
}

}  // namespace

absl::StatusCode HttpStatusToCode(long http_status) {
  switch (http_status) {
    case 400:
      return absl::StatusCode::kInternal;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kUnknown;
  }
}

Outcome InterpretResponse(long http_status, absl::string_view body,
                          const ErrorContext& context,
                          const StatusTable& table) {
  absl::StatusOr<Envelope> envelope = ParseEnvelope(body);
  if (!envelope.ok()) {
    if (http_status != 200) {
      Outcome outcome;
      outcome.code = HttpStatusToCode(http_status);
      outcome.message = absl::StrCat("upstream answered HTTP ", http_status,
                                     " without an envelope");
      outcome.request_id = RequestIdOf(envelope.status());
      outcome.reason = gateway_reason::kUpstreamHttpStatus;
      return outcome;
    }
    return FailureOutcome(envelope.status());
  }
  if (envelope->is_error) return FromErrorEnvelope(*envelope, context, table);
  if (http_status < 200 || http_status > 299) {
    // A success envelope on a redirect or an error status is no success
    // (docs/errors.md): the HTTP status decides, the RequestId still goes out.
    Outcome outcome;
    outcome.code = HttpStatusToCode(http_status);
    outcome.message = absl::StrCat("upstream answered HTTP ", http_status,
                                   " with a success envelope");
    outcome.request_id = envelope->request_id;
    outcome.reason = gateway_reason::kUpstreamHttpStatus;
    return outcome;
  }
  Outcome outcome;
  outcome.request_id = envelope->request_id;
  outcome.envelope = std::move(*envelope);
  return outcome;
}

}  // namespace envelope
