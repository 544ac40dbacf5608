#ifndef GATEWAY_CREDENTIALS_TKE_OIDC_H_
#define GATEWAY_CREDENTIALS_TKE_OIDC_H_

#include <string>

#include "absl/status/statusor.h"
#include "gateway/credentials/refreshing_source.h"

namespace envelope::credentials_internal {

// TKE pod identity: the four TKE_* variables the TKE OIDC webhook injects.
struct TkeOidcSettings {
  std::string region;       // TKE_REGION
  std::string provider_id;  // TKE_PROVIDER_ID
  std::string token_file;   // TKE_WEB_IDENTITY_TOKEN_FILE
  std::string role_arn;     // TKE_ROLE_ARN
  std::string sts_endpoint;
};

// Exchanges the web identity token for temporary credentials with STS
// AssumeRoleWithWebIdentity (version 2018-08-13; the call is not signed:
// `Authorization: SKIP`). The token file is read again on every fetch since
// the kubelet rotates it. Checked now: the region and an existing, non-empty
// token file (INVALID_ARGUMENT / FAILED_PRECONDITION naming the setting).
absl::StatusOr<FetchFunction> MakeTkeOidcFetch(TkeOidcSettings settings);

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_TKE_OIDC_H_
