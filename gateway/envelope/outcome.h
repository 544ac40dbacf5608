#ifndef GATEWAY_ENVELOPE_OUTCOME_H_
#define GATEWAY_ENVELOPE_OUTCOME_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gateway/envelope/details.h"
#include "gateway/envelope/envelope.h"
#include "gateway/envelope/reason.h"
#include "gateway/envelope/status_table.h"

namespace envelope {

// How a gRPC call ends, as far as its status goes: what an upstream answer
// decides (Outcome) and what the call finally answers (GrpcResult, in
// gateway/route) both are one.
struct CallStatus {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;
  // Serialized google.rpc.Status for grpc-status-details-bin; empty: none.
  std::string details;
  // Trailers: x-tc-requestid and x-tc-error-code (empty: not sent).
  std::string request_id;
  std::string error_code;
  // A failure of the gateway's own (no API error): one of gateway_reason
  // (gateway/envelope/reason.h), for the ErrorInfo the caller gets.
  absl::string_view reason;

  bool ok() const { return code == absl::StatusCode::kOk; }
};

// How one upstream answer ends the gRPC call.
struct Outcome : CallStatus {
  // On OK with a success envelope: the envelope to transcode. Absent for
  // DryRunOperation (OK with an empty message).
  std::optional<Envelope> envelope;
};

// Interprets an HTTP answer (docs/errors.md, "Status codes"): an envelope
// wherever one parses, else the HTTP status mapping, else INTERNAL naming what
// was malformed.
Outcome InterpretResponse(long http_status, absl::string_view body,
                          const ErrorContext& context,
                          const StatusTable& table);

// docs/errors.md, "Status codes": the status for a non-200 answer whose body is
// no envelope.
absl::StatusCode HttpStatusToCode(long http_status);

}  // namespace envelope

#endif  // GATEWAY_ENVELOPE_OUTCOME_H_
