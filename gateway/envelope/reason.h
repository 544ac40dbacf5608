#ifndef GATEWAY_ENVELOPE_REASON_H_
#define GATEWAY_ENVELOPE_REASON_H_

#include <string>

#include "absl/strings/string_view.h"

namespace envelope {

// google.rpc.ErrorInfo.reason for an envelope error code: UPPER_SNAKE_CASE,
// [A-Z][A-Z0-9_]*[A-Z0-9], at most 63 characters (docs/errors.md, "Details").
// "AuthFailure.SignatureFailure" -> "AUTH_FAILURE_SIGNATURE_FAILURE",
// "InvalidParameterValue.VPCIdMalformed" ->
// "INVALID_PARAMETER_VALUE_VPC_ID_MALFORMED".
std::string ErrorReason(absl::string_view error_code);

// The reasons of the gateway's own failures: google.rpc.ErrorInfo.reason in
// the gateway's domain (`envelope-gateway`), one per way a call can fail
// without an API error. The catalogue, with what each means to a caller, is
// the table "The gateway's own failures" in docs/errors.md.
//
// Example:
//
//   if (!credentials.ok()) outcome.reason = gateway_reason::kNoCredentials;
namespace gateway_reason {
// The caller's call.
inline constexpr absl::string_view kUnknownMethod = "UNKNOWN_METHOD";
inline constexpr absl::string_view kInvalidRequest = "INVALID_REQUEST";
inline constexpr absl::string_view kInvalidMetadata = "INVALID_METADATA";
inline constexpr absl::string_view kRegionRequired = "REGION_REQUIRED";
inline constexpr absl::string_view kNoRequestMessage = "NO_REQUEST_MESSAGE";
inline constexpr absl::string_view kRequestMessageTimeout =
    "REQUEST_MESSAGE_TIMEOUT";
inline constexpr absl::string_view kActionNotAllowed = "ACTION_NOT_ALLOWED";
inline constexpr absl::string_view kDeadlineExceeded = "DEADLINE_EXCEEDED";
inline constexpr absl::string_view kCancelled = "CANCELLED";
// The gateway's state.
inline constexpr absl::string_view kDraining = "DRAINING";
inline constexpr absl::string_view kOverloaded = "OVERLOADED";
inline constexpr absl::string_view kNoCredentials = "NO_CREDENTIALS";
inline constexpr absl::string_view kInternal = "INTERNAL";
// Staying under the API's rate limits (docs/operations.md, "Rate limits").
inline constexpr absl::string_view kLocalRateLimit = "LOCAL_RATE_LIMIT";
inline constexpr absl::string_view kFleetRateLimit = "FLEET_RATE_LIMIT";
inline constexpr absl::string_view kRateLimitServiceUnavailable =
    "RATE_LIMIT_SERVICE_UNAVAILABLE";
inline constexpr absl::string_view kRegionBreakerOpen = "REGION_BREAKER_OPEN";
// The upstream.
inline constexpr absl::string_view kUpstreamUnreachable =
    "UPSTREAM_UNREACHABLE";
inline constexpr absl::string_view kUpstreamTlsFailure = "UPSTREAM_TLS_FAILURE";
inline constexpr absl::string_view kUpstreamTimeout = "UPSTREAM_TIMEOUT";
inline constexpr absl::string_view kUpstreamHttpStatus = "UPSTREAM_HTTP_STATUS";
inline constexpr absl::string_view kUpstreamMalformedResponse =
    "UPSTREAM_MALFORMED_RESPONSE";
inline constexpr absl::string_view kUpstreamResponseTooLarge =
    "UPSTREAM_RESPONSE_TOO_LARGE";
inline constexpr absl::string_view kResponseNotTranscodable =
    "RESPONSE_NOT_TRANSCODABLE";
}  // namespace gateway_reason

}  // namespace envelope

#endif  // GATEWAY_ENVELOPE_REASON_H_
