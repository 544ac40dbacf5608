#ifndef GATEWAY_CREDENTIALS_CHAIN_H_
#define GATEWAY_CREDENTIALS_CHAIN_H_

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/credentials/credentials.h"
#include "gateway/credentials/log.h"

namespace envelope {

// Where credentials may come from; docs/credentials.md has the
// details. Every field has a usable default.
struct CredentialOptions {
  // The sources to try, in order; the first one whose settings are present
  // wins. Names: "config", "files", "env", "profile", "tke-oidc",
  // "cvm-role", "none". Empty: the default order
  //   config, files, env, profile, tke-oidc, cvm-role (only if use_metadata)
  // which never includes "none": unsigned calls must be asked for.
  std::vector<std::string> sources;

  // "config": a static pair from the gateway's configuration.
  std::string secret_id;
  std::string secret_key;
  std::string session_token;

  // "files": a directory (a Kubernetes Secret mount) holding `secret_id`,
  // `secret_key` and optional `session_token` (or TENCENTCLOUD_SECRET_ID /
  // _SECRET_KEY / _SESSION_TOKEN), polled for rotations.
  std::string secret_dir;
  absl::Duration file_poll_interval = absl::Seconds(5);
  // How long a change of only some of the values (not a rotation, which
  // changes them all) must stay unchanged before it is served.
  absl::Duration file_settle_time = absl::Seconds(30);

  // "profile": empty means $TENCENTCLOUD_CREDENTIALS_FILE, else
  // $HOME/.tencentcloud/credentials, else /etc/tencentcloud/credentials.
  std::string profile_file;
  // Empty means $TENCENTCLOUD_PROFILE, else "default".
  std::string profile_name;

  // "cvm-role": probing the metadata service from a host that is no CVM
  // costs a failed connection, so the default order only includes it when
  // this is set (naming "cvm-role" in `sources` enables it too).
  bool use_metadata = false;
  std::string metadata_url = "http://metadata.tencentyun.com/latest/meta-data/";
  std::string cvm_role;  // empty: discover the instance's role

  // "tke-oidc": where AssumeRoleWithWebIdentity goes.
  std::string sts_endpoint = "https://sts.tencentcloudapi.com/";

  // Temporary credentials (cvm-role, tke-oidc) are fetched again this long
  // before they expire (or half-way through their life, if that is later).
  absl::Duration refresh_before_expiry = absl::Minutes(5);
  // A failed fetch is retried after this, doubling up to retry_max_backoff.
  absl::Duration retry_initial_backoff = absl::Seconds(1);
  absl::Duration retry_max_backoff = absl::Minutes(1);

  // The environment (TENCENTCLOUD_*, TKE_*, HOME); tests inject their own.
  std::function<const char*(const char*)> getenv = std::getenv;
  // Credential events; null means StderrCredentialLogger().
  CredentialLogger log;
};

// Builds the chain: walks `sources` in order and returns the first source
// whose settings are present, started (its refresh thread or file poll
// running). A source whose settings are simply absent is skipped; one whose
// settings are present but broken (half a key pair, an unreadable file, a
// bad ini line, some of the TKE_* variables) is an error naming it, and so
// is an unknown source name. With no source present, the result is a source
// whose Get() is UNAVAILABLE saying what was looked for: the gateway starts
// and reports not-ready.
absl::StatusOr<std::unique_ptr<CredentialSource>> MakeCredentialChain(
    const CredentialOptions& options);

// For readiness and status pages.
struct CredentialState {
  bool ready = false;   // Get() would succeed now
  std::string source;   // Describe()
  std::string message;  // why not ready (never a secret); empty when ready
  absl::Time expiry = absl::InfiniteFuture();  // when ready
};
CredentialState CheckCredentials(const CredentialSource& source);

// True for the empty credentials of the "none" source: send unsigned.
inline bool IsUnsigned(const Credentials& credentials) {
  return credentials.secret_id.empty();
}

}  // namespace envelope

#endif  // GATEWAY_CREDENTIALS_CHAIN_H_
