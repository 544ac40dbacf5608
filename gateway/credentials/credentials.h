#ifndef GATEWAY_CREDENTIALS_CREDENTIALS_H_
#define GATEWAY_CREDENTIALS_CREDENTIALS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace envelope {

// A key pair to sign with (docs/credentials.md); temporary ones carry a token
// and expire.
struct Credentials {
  std::string secret_id;
  std::string secret_key;
  std::string session_token;  // temporary credentials only: X-TC-Token
  absl::Time expiry = absl::InfiniteFuture();
};

// Where the gateway's credentials come from. Implementations refresh off the
// request path (their own thread or file watch); Get() never does I/O and is
// safe from any thread.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;

  // The credentials to sign with now, or UNAVAILABLE with a message saying
  // which source failed and why (never a secret).
  virtual absl::StatusOr<Credentials> Get() const = 0;

  // For logs and readiness: "env", "profile:default", "cvm-role:MyRole", ...
  virtual std::string Describe() const = 0;
};

// Process-wide counts of credential events, for the metrics: new
// credentials taken (a refresh of temporary ones, a rotation of files) and
// failed attempts to get them.
struct CredentialEventCounts {
  int64_t refreshes = 0;
  int64_t failures = 0;
};
CredentialEventCounts CredentialEvents();

}  // namespace envelope

#endif  // GATEWAY_CREDENTIALS_CREDENTIALS_H_
