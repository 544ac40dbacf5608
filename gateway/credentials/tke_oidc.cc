#include "gateway/credentials/tke_oidc.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/credentials/files.h"
#include "gateway/credentials/http_fetch.h"
#include "gateway/credentials/json_fields.h"
#include "gateway/transcode/transcode.h"

namespace envelope::credentials_internal {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(10);
constexpr int kDurationSeconds = 7200;

// The region goes into a header: [a-z0-9-] only, as the API spells regions.
bool IsRegion(const std::string& region) {
  if (region.empty() || region.size() > 64) return false;
  for (char c : region) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  absl::StatusOr<std::string> token = ReadSmallFile(path);
  if (!token.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("TKE_WEB_IDENTITY_TOKEN_FILE ", token.status().message()));
  }
  std::string trimmed = Trimmed(*token);
  if (trimmed.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("TKE_WEB_IDENTITY_TOKEN_FILE ", path, " is empty"));
  }
  return trimmed;
}

std::string RequestBody(const TkeOidcSettings& settings,
                        const std::string& token, int64_t now) {
  std::string body = "{\"ProviderId\":";
  AppendJsonString(settings.provider_id, &body);
  body.append(",\"WebIdentityToken\":");
  AppendJsonString(token, &body);
  body.append(",\"RoleArn\":");
  AppendJsonString(settings.role_arn, &body);
  absl::StrAppend(&body, ",\"RoleSessionName\":\"envelope-gateway-", now,
                  "\",\"DurationSeconds\":", kDurationSeconds, "}");
  return body;
}

absl::StatusOr<Fetched> AssumeRole(const TkeOidcSettings& settings,
                                   const std::atomic<bool>& cancel) {
  absl::StatusOr<std::string> token = ReadToken(settings.token_file);
  if (!token.ok()) return token.status();
  int64_t now = absl::ToUnixSeconds(absl::Now());
  HttpRequest request{
      .method = "POST",
      .url = settings.sts_endpoint,
      .headers = {"Content-Type: application/json",
                  "X-TC-Action: AssumeRoleWithWebIdentity",
                  "X-TC-Version: 2018-08-13",
                  absl::StrCat("X-TC-Region: ", settings.region),
                  absl::StrCat("X-TC-Timestamp: ", now), "Authorization: SKIP"},
      .body = RequestBody(settings, *token, now),
      .timeout = kTimeout};
  absl::StatusOr<HttpResponse> response = HttpFetch(request, cancel);
  if (!response.ok()) return response.status();
  absl::StatusOr<Credentials> credentials =
      ParseStsAnswer(response->status, response->body, *token);
  if (!credentials.ok()) return credentials.status();
  return Fetched{*std::move(credentials),
                 absl::StrCat("tke-oidc:", settings.role_arn)};
}

}  // namespace

absl::StatusOr<FetchFunction> MakeTkeOidcFetch(TkeOidcSettings settings) {
  if (!IsRegion(settings.region)) {
    return absl::InvalidArgumentError(
        "tke-oidc: TKE_REGION is not a region name like ap-guangzhou");
  }
  absl::StatusOr<std::string> token = ReadToken(settings.token_file);
  if (!token.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("tke-oidc: ", token.status().message()));
  }
  if (!absl::EndsWith(settings.sts_endpoint, "/")) {
    settings.sts_endpoint.push_back('/');
  }
  return FetchFunction(
      [settings = std::move(settings)](const std::atomic<bool>& cancel) {
        return AssumeRole(settings, cancel);
      });
}

}  // namespace envelope::credentials_internal
