#include "gateway/credentials/chain.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/credentials/cvm_role.h"
#include "gateway/credentials/profile.h"
#include "gateway/credentials/refreshing_source.h"
#include "gateway/credentials/secret_files.h"
#include "gateway/credentials/static_source.h"
#include "gateway/credentials/tke_oidc.h"

namespace envelope {
namespace {

using SourceOrAbsent = absl::StatusOr<std::unique_ptr<CredentialSource>>;

constexpr const char* kKnownSources[] = {
    "config", "files", "env", "profile", "tke-oidc", "cvm-role", "none"};

std::string Env(const CredentialOptions& options, const char* name) {
  const char* value = options.getenv ? options.getenv(name) : nullptr;
  return value == nullptr ? "" : value;
}

SourceOrAbsent StaticOrAbsent(const std::string& name, const std::string& where,
                              std::string id, std::string key,
                              std::string token) {
  absl::StatusOr<std::optional<Credentials>> pair =
      credentials_internal::PairFromSettings(where, std::move(id),
                                             std::move(key), std::move(token));
  if (!pair.ok()) return pair.status();
  if (!pair->has_value()) return nullptr;
  return std::make_unique<credentials_internal::StaticSource>(name, **pair);
}

SourceOrAbsent FromConfig(const CredentialOptions& o) {
  return StaticOrAbsent("config", "config", o.secret_id, o.secret_key,
                        o.session_token);
}

SourceOrAbsent FromEnv(const CredentialOptions& o) {
  return StaticOrAbsent(
      "env", "env (TENCENTCLOUD_SECRET_ID/_SECRET_KEY/_SESSION_TOKEN)",
      Env(o, "TENCENTCLOUD_SECRET_ID"), Env(o, "TENCENTCLOUD_SECRET_KEY"),
      Env(o, "TENCENTCLOUD_SESSION_TOKEN"));
}

SourceOrAbsent FromFiles(const CredentialOptions& o) {
  if (o.secret_dir.empty()) return nullptr;
  auto source = credentials_internal::SecretFileSource::Create(
      {.dir = o.secret_dir,
       .poll_interval = o.file_poll_interval,
       .settle_time = o.file_settle_time,
       .log = o.log});
  if (!source.ok()) return source.status();
  return std::unique_ptr<CredentialSource>(*std::move(source));
}

// The first default location that exists; "" when none does.
std::string DefaultProfilePath(const CredentialOptions& o) {
  std::string home = Env(o, "HOME");
  for (const std::string& path :
       {home.empty() ? "" : absl::StrCat(home, "/.tencentcloud/credentials"),
        std::string("/etc/tencentcloud/credentials")}) {
    if (!path.empty() && access(path.c_str(), F_OK) == 0) return path;
  }
  return "";
}

// A file or profile that was named (option or env) must be there; at the
// default location a missing file or [default] section just means "absent".
SourceOrAbsent FromProfile(const CredentialOptions& o) {
  std::string path = o.profile_file;
  if (path.empty()) path = Env(o, "TENCENTCLOUD_CREDENTIALS_FILE");
  bool named = !path.empty();
  if (path.empty()) path = DefaultProfilePath(o);
  std::string name = o.profile_name;
  if (name.empty()) name = Env(o, "TENCENTCLOUD_PROFILE");
  named = named || !name.empty();
  if (name.empty()) name = "default";
  if (path.empty() && !named) return nullptr;
  if (path.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "profile: profile ", name,
        " was asked for but there is no ~/.tencentcloud/credentials"));
  }
  absl::StatusOr<Credentials> credentials =
      credentials_internal::LoadProfile(path, name);
  if (absl::IsNotFound(credentials.status()) && !named) return nullptr;
  if (!credentials.ok()) {
    return absl::Status(
        credentials.status().code(),
        absl::StrCat("profile: ", credentials.status().message()));
  }
  return std::make_unique<credentials_internal::StaticSource>(
      absl::StrCat("profile:", name), *std::move(credentials));
}

credentials_internal::RefreshOptions RefreshOptionsOf(
    const CredentialOptions& o) {
  return {.refresh_before_expiry = o.refresh_before_expiry,
          .initial_backoff = o.retry_initial_backoff,
          .max_backoff = o.retry_max_backoff,
          .log = o.log};
}

SourceOrAbsent FromTkeOidc(const CredentialOptions& o) {
  credentials_internal::TkeOidcSettings settings{
      Env(o, "TKE_REGION"), Env(o, "TKE_PROVIDER_ID"),
      Env(o, "TKE_WEB_IDENTITY_TOKEN_FILE"), Env(o, "TKE_ROLE_ARN"),
      o.sts_endpoint};
  std::vector<std::string> missing;
  for (const auto& [name, value] :
       {std::pair{"TKE_REGION", &settings.region},
        std::pair{"TKE_PROVIDER_ID", &settings.provider_id},
        std::pair{"TKE_WEB_IDENTITY_TOKEN_FILE", &settings.token_file},
        std::pair{"TKE_ROLE_ARN", &settings.role_arn}}) {
    if (value->empty()) missing.push_back(name);
  }
  if (missing.size() == 4) return nullptr;
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tke-oidc: some TKE_* variables are set but not ",
                     absl::StrJoin(missing, ", ")));
  }
  std::string describe = absl::StrCat("tke-oidc:", settings.role_arn);
  auto fetch = credentials_internal::MakeTkeOidcFetch(std::move(settings));
  if (!fetch.ok()) return fetch.status();
  return std::make_unique<credentials_internal::RefreshingSource>(
      describe, *std::move(fetch), RefreshOptionsOf(o));
}

SourceOrAbsent FromCvmRole(const CredentialOptions& o) {
  auto fetch =
      credentials_internal::MakeCvmRoleFetch(o.metadata_url, o.cvm_role);
  if (!fetch.ok()) return fetch.status();
  std::string describe =
      o.cvm_role.empty() ? "cvm-role" : absl::StrCat("cvm-role:", o.cvm_role);
  return std::make_unique<credentials_internal::RefreshingSource>(
      describe, *std::move(fetch), RefreshOptionsOf(o));
}

SourceOrAbsent FromSource(const std::string& name, const CredentialOptions& o) {
  if (name == "config") return FromConfig(o);
  if (name == "files") return FromFiles(o);
  if (name == "env") return FromEnv(o);
  if (name == "profile") return FromProfile(o);
  if (name == "tke-oidc") return FromTkeOidc(o);
  if (name == "cvm-role") return FromCvmRole(o);
  return std::make_unique<credentials_internal::NoneSource>();
}

absl::Status CheckOptions(const CredentialOptions& o,
                          const std::vector<std::string>& order) {
  for (const std::string& name : order) {
    if (std::find(std::begin(kKnownSources), std::end(kKnownSources), name) ==
        std::end(kKnownSources)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown credential source \"", name,
                       "\"; known: ", absl::StrJoin(kKnownSources, ", ")));
    }
  }
  if (o.file_poll_interval <= absl::ZeroDuration() ||
      o.retry_initial_backoff <= absl::ZeroDuration() ||
      o.retry_max_backoff < o.retry_initial_backoff ||
      o.refresh_before_expiry < absl::ZeroDuration() ||
      o.file_settle_time < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "credential intervals must be positive (and retry_max_backoff at "
        "least retry_initial_backoff)");
  }
  return absl::OkStatus();
}

std::vector<std::string> OrderOf(const CredentialOptions& o) {
  if (!o.sources.empty()) return o.sources;
  std::vector<std::string> order = {"config", "files", "env", "profile",
                                    "tke-oidc"};
  if (o.use_metadata) order.push_back("cvm-role");
  return order;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CredentialSource>> MakeCredentialChain(
    const CredentialOptions& options) {
  CredentialOptions o = options;
  if (!o.log) o.log = StderrCredentialLogger();
  std::vector<std::string> order = OrderOf(o);
  absl::Status status = CheckOptions(o, order);
  if (!status.ok()) return status;
  for (const std::string& name : order) {
    SourceOrAbsent source = FromSource(name, o);
    if (!source.ok() || *source != nullptr) return source;
  }
  return std::make_unique<credentials_internal::UnavailableSource>(absl::StrCat(
      "no credentials: none of the sources (", absl::StrJoin(order, ", "),
      ") is configured; set TENCENTCLOUD_SECRET_ID and "
      "TENCENTCLOUD_SECRET_KEY, mount a Secret directory, write a profile "
      "file, or enable the CVM role or TKE OIDC"));
}

CredentialState CheckCredentials(const CredentialSource& source) {
  CredentialState state;
  state.source = source.Describe();
  absl::StatusOr<Credentials> credentials = source.Get();
  state.ready = credentials.ok();
  if (credentials.ok()) {
    state.expiry = credentials->expiry;
  } else {
    state.message = std::string(credentials.status().message());
  }
  return state;
}

}  // namespace envelope
