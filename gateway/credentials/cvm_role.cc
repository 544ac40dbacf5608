#include "gateway/credentials/cvm_role.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/credentials/files.h"
#include "gateway/credentials/http_fetch.h"
#include "gateway/credentials/json_fields.h"

namespace envelope::credentials_internal {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(5);

// CAM role names are [A-Za-z0-9+=,.@_-]; anything else would change the URL.
bool IsRoleName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        std::string("+=,.@_-").find(c) == std::string::npos) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::string> Fetch(const std::string& url, const char* what,
                                  const std::atomic<bool>& cancel) {
  absl::StatusOr<HttpResponse> response =
      HttpFetch({.url = url, .timeout = kTimeout, .use_proxy = false}, cancel);
  if (!response.ok()) return response.status();
  if (response->status == 404) {
    return absl::UnavailableError(
        absl::StrCat("the metadata service has no ", what, " (HTTP 404 from ",
                     url, "); is a CAM role bound to this instance?"));
  }
  if (response->status != 200) {
    return absl::UnavailableError(absl::StrCat(
        "the metadata service answered HTTP ", response->status, " for ", url));
  }
  return std::move(response->body);
}

absl::StatusOr<std::string> DiscoverRole(const std::string& base,
                                         const std::atomic<bool>& cancel) {
  absl::StatusOr<std::string> body =
      Fetch(absl::StrCat(base, "cam/security-credentials/"), "role", cancel);
  if (!body.ok()) return body.status();
  std::string role =
      Trimmed(absl::string_view(*body).substr(0, body->find('\n')));
  if (!IsRoleName(role)) {
    return absl::UnavailableError(
        "the metadata service's role list does not start with a role name");
  }
  return role;
}

absl::StatusOr<Fetched> FetchRole(const std::string& base,
                                  const std::string& fixed_role,
                                  const std::atomic<bool>& cancel) {
  absl::StatusOr<std::string> role =
      fixed_role.empty() ? DiscoverRole(base, cancel) : fixed_role;
  if (!role.ok()) return role.status();
  absl::StatusOr<std::string> body =
      Fetch(absl::StrCat(base, "cam/security-credentials/", *role),
            "credentials for this role", cancel);
  if (!body.ok()) return body.status();
  absl::StatusOr<Credentials> credentials = ParseRoleCredentialsAnswer(*body);
  if (!credentials.ok()) {
    return absl::UnavailableError(
        absl::StrCat("role ", *role, ": ", credentials.status().message()));
  }
  return Fetched{*std::move(credentials), absl::StrCat("cvm-role:", *role)};
}

}  // namespace

absl::StatusOr<FetchFunction> MakeCvmRoleFetch(std::string base_url,
                                               std::string role) {
  if (!role.empty() && !IsRoleName(role)) {
    return absl::InvalidArgumentError(
        "cvm-role: the configured role is not a CAM role name");
  }
  if (!absl::EndsWith(base_url, "/")) base_url.push_back('/');
  return FetchFunction([base = std::move(base_url), role = std::move(role)](
                           const std::atomic<bool>& cancel) {
    return FetchRole(base, role, cancel);
  });
}

}  // namespace envelope::credentials_internal
