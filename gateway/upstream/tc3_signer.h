#ifndef GATEWAY_UPSTREAM_TC3_SIGNER_H_
#define GATEWAY_UPSTREAM_TC3_SIGNER_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "gateway/credentials/credentials.h"

namespace envelope {

// What TC3-HMAC-SHA256 signs: the headers content-type and host, and the
// body (docs/credentials.md).
struct Tc3Input {
  absl::string_view service;
  absl::string_view host;
  absl::string_view content_type;
  absl::string_view body;
  int64_t timestamp = 0;  // unix seconds, also sent as X-TC-Timestamp
};

// Every step, so that tests can check each against the published vector.
struct Tc3Signature {
  std::string canonical_request;
  std::string credential_scope;  // date/service/tc3_request
  std::string string_to_sign;
  std::string signature;      // hex
  std::string authorization;  // the Authorization header's value
};

Tc3Signature SignTc3(const Credentials& credentials, const Tc3Input& input);

// The same signature, only the Authorization header's value (what a request
// needs; the intermediate strings are not kept).
std::string Tc3Authorization(const Credentials& credentials,
                             const Tc3Input& input);

// Lower-case hex of SHA-256.
std::string Sha256Hex(absl::string_view data);

namespace tc3_internal {

// Signing keys derived so far (misses of the signing-key cache), for tests
// that check that the cache is used.
int64_t SigningKeyDerivations();

}  // namespace tc3_internal

}  // namespace envelope

#endif  // GATEWAY_UPSTREAM_TC3_SIGNER_H_
