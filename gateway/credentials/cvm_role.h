#ifndef GATEWAY_CREDENTIALS_CVM_ROLE_H_
#define GATEWAY_CREDENTIALS_CVM_ROLE_H_

#include <string>

#include "absl/status/statusor.h"
#include "gateway/credentials/refreshing_source.h"

namespace envelope::credentials_internal {

// Fetches the CVM instance role's temporary credentials from the metadata
// service at `base_url` (".../latest/meta-data/"):
//   GET {base}cam/security-credentials/        -> the role name (first line)
//   GET {base}cam/security-credentials/{role}  -> {"TmpSecretId",
//       "TmpSecretKey", "Token", "ExpiredTime", "Expiration", "Code"}
// With `role` empty the role is discovered again on every fetch, so a role
// re-bound to the instance is picked up at the next refresh. An invalid
// `role` is INVALID_ARGUMENT.
absl::StatusOr<FetchFunction> MakeCvmRoleFetch(std::string base_url,
                                               std::string role);

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_CVM_ROLE_H_
