#ifndef GATEWAY_ENVELOPE_REASON_H_
#define GATEWAY_ENVELOPE_REASON_H_

#include <string>

#include "absl/strings/string_view.h"

namespace envelope {

// google.rpc.ErrorInfo.reason for an envelope error code: UPPER_SNAKE_CASE,
// [A-Z][A-Z0-9_]*[A-Z0-9], at most 63 characters (SPEC §5).
// "AuthFailure.SignatureFailure" -> "AUTH_FAILURE_SIGNATURE_FAILURE",
// "InvalidParameterValue.VPCIdMalformed" ->
// "INVALID_PARAMETER_VALUE_VPC_ID_MALFORMED".
std::string ErrorReason(absl::string_view error_code);

}  // namespace envelope

#endif  // GATEWAY_ENVELOPE_REASON_H_
