#ifndef GATEWAY_CREDENTIALS_JSON_FIELDS_H_
#define GATEWAY_CREDENTIALS_JSON_FIELDS_H_

// The JSON answers of the CVM metadata service and of STS, read with the
// gateway's one JSON reader (gateway/json). Every answer is outside input:
// errors quote its text only escaped and bounded, and credentials that
// would not fit an HTTP header are refused.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/credentials/credentials.h"

namespace envelope::credentials_internal {

// The metadata service's answer for a role
// (cam/security-credentials/<role>): TmpSecretId, TmpSecretKey, Token and
// ExpiredTime or Expiration. Errors are UNAVAILABLE.
//
// Example:
//
//   absl::StatusOr<Credentials> c = ParseRoleCredentialsAnswer(body);
absl::StatusOr<Credentials> ParseRoleCredentialsAnswer(absl::string_view body);

// STS AssumeRoleWithWebIdentity's answer, an API 3.0 envelope with
// Response.Credentials. `token` (the web identity token sent) is redacted
// from any error message STS wrote. Errors are UNAVAILABLE.
//
// Example:
//
//   absl::StatusOr<Credentials> c = ParseStsAnswer(200, body, token);
absl::StatusOr<Credentials> ParseStsAnswer(long http_status,
                                           absl::string_view body,
                                           const std::string& token);

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_JSON_FIELDS_H_
