#include "gateway/credentials/tke_oidc.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gateway/credentials/files.h"
#include "gateway/credentials/http_fetch.h"
#include "gateway/credentials/json_fields.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

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
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  std::string session = absl::StrCat("envelope-gateway-", now);
  w.StartObject();
  w.Key("ProviderId");
  w.String(settings.provider_id.c_str(), settings.provider_id.size());
  w.Key("WebIdentityToken");
  w.String(token.c_str(), token.size());
  w.Key("RoleArn");
  w.String(settings.role_arn.c_str(), settings.role_arn.size());
  w.Key("RoleSessionName");
  w.String(session.c_str(), session.size());
  w.Key("DurationSeconds");
  w.Int(kDurationSeconds);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// STS error messages may quote a parameter: never let the token through.
std::string Redacted(const std::string& message, const std::string& token) {
  return absl::StrReplaceAll(message, {{token, "<redacted>"}});
}

absl::StatusOr<Credentials> ParseAnswer(const HttpResponse& response,
                                        const std::string& token) {
  rapidjson::Document json;
  json.Parse(response.body.data(), response.body.size());
  bool envelope = !json.HasParseError() && json.IsObject() &&
                  json.HasMember("Response") && json["Response"].IsObject();
  if (!envelope) {
    return absl::UnavailableError(absl::StrCat(
        "STS answered HTTP ", response.status, " without a Response envelope"));
  }
  const rapidjson::Value& answer = json["Response"];
  if (answer.HasMember("Error")) {
    const rapidjson::Value& error = answer["Error"];
    return absl::UnavailableError(absl::StrCat(
        "STS AssumeRoleWithWebIdentity failed: ", StringMember(error, "Code"),
        ": ", Redacted(StringMember(error, "Message"), token), " (RequestId ",
        StringMember(answer, "RequestId"), ")"));
  }
  auto credentials = answer.FindMember("Credentials");
  if (credentials == answer.MemberEnd() || !credentials->value.IsObject()) {
    return absl::UnavailableError("STS answer has no Credentials object");
  }
  absl::StatusOr<absl::Time> expiry = ExpiryOf(answer);
  if (!expiry.ok()) {
    return absl::UnavailableError(
        absl::StrCat("STS answer: ", expiry.status().message()));
  }
  absl::StatusOr<Credentials> result =
      TemporaryCredentialsOf(credentials->value, *expiry);
  if (!result.ok()) {
    return absl::UnavailableError(
        absl::StrCat("STS answer: ", result.status().message()));
  }
  return result;
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
  absl::StatusOr<Credentials> credentials = ParseAnswer(*response, *token);
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
