// File: gateway_errors.h
// -----------------------------------------------------------------------------
//
// The details of the gateway's own failures. An API error comes with its own
// google.rpc.Status (an ErrorInfo in the API's domain, built from the
// envelope); every other failure (no credentials, the upstream unreachable,
// the drain, a request that does not parse, ...) gets one here, so that a
// program can tell them apart by ErrorInfo.reason instead of by the message.
// The reasons, their codes and their RetryInfo are the table "The gateway's
// own failures" in docs/errors.md.

#ifndef GATEWAY_ROUTE_GATEWAY_ERRORS_H_
#define GATEWAY_ROUTE_GATEWAY_ERRORS_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/route/dispatcher.h"

namespace envelope {

// Gives a failure without details a google.rpc.Status: an ErrorInfo in
// `domain` with the result's reason (INTERNAL when none was set) and the
// metadata service, action, region, attempts and http_status (those known),
// a RetryInfo when trying again later or elsewhere can help, and a
// RequestInfo when the upstream sent a RequestId. Leaves OK results and
// results with details as they are.
//
// Example:
//
//   GrpcResult result;
//   result.code = absl::StatusCode::kUnavailable;
//   result.reason = gateway_reason::kDraining;
//   AttachGatewayDetails("envelope-gateway", result);
//   // result.details: ErrorInfo{reason: "DRAINING"}, RetryInfo{0s}
void AttachGatewayDetails(absl::string_view domain, GrpcResult& result);

// How long a caller may wait before trying again after a failure for
// `reason` (with the upstream's `http_status`, when one came), or nothing
// when trying again is unlikely to help.
//
// Example:
//
//   RetryDelayFor(gateway_reason::kUpstreamUnreachable, 0);  // 1 s
//   RetryDelayFor(gateway_reason::kInvalidRequest, 0);       // nullopt
std::optional<absl::Duration> RetryDelayFor(absl::string_view reason,
                                            long http_status);

}  // namespace envelope

#endif  // GATEWAY_ROUTE_GATEWAY_ERRORS_H_
