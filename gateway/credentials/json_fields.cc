#include "gateway/credentials/json_fields.h"

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gateway/json/json.h"

namespace envelope::credentials_internal {
namespace {

// The most of an answer's own text (a code, a message) quoted in an error.
constexpr size_t kMaxQuoted = 256;

// The answer's text as it may appear in a log line: escaped, bounded.
std::string Quoted(absl::string_view text) {
  return absl::CHexEscape(text.substr(0, kMaxQuoted));
}

absl::StatusOr<absl::Time> ExpiryOf(json::Element object) {
  if (std::optional<json::Element> expired =
          json::Member(object, "ExpiredTime")) {
    int64_t seconds = 0;
    if (expired->get_int64().get(seconds) == simdjson::SUCCESS) {
      return absl::FromUnixSeconds(seconds);
    }
    std::string_view text;
    if (expired->get_string().get(text) == simdjson::SUCCESS &&
        absl::SimpleAtoi(json::View(text), &seconds)) {
      return absl::FromUnixSeconds(seconds);
    }
  }
  absl::string_view expiration = json::StringMember(object, "Expiration");
  absl::Time time;
  std::string error;
  if (!expiration.empty() && expiration.size() < 64 &&
      absl::ParseTime(absl::RFC3339_full, std::string(expiration), &time,
                      &error)) {
    return time;
  }
  return absl::UnavailableError(
      "no usable ExpiredTime or Expiration in the answer");
}

// Credentials go into HTTP headers (Authorization, X-TC-Token): printable
// ASCII without blanks, or a header could be split.
bool IsHeaderSafe(absl::string_view value) {
  for (char c : value) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

absl::StatusOr<Credentials> TemporaryCredentialsOf(json::Element object,
                                                   absl::Time expiry) {
  Credentials credentials{
      std::string(json::StringMember(object, "TmpSecretId")),
      std::string(json::StringMember(object, "TmpSecretKey")),
      std::string(json::StringMember(object, "Token")), expiry};
  for (const auto& [name, value] :
       {std::pair{"TmpSecretId", &credentials.secret_id},
        std::pair{"TmpSecretKey", &credentials.secret_key},
        std::pair{"Token", &credentials.session_token}}) {
    if (value->empty()) {
      return absl::UnavailableError(
          absl::StrCat("no ", name, " string in the answer"));
    }
    if (!IsHeaderSafe(*value)) {
      return absl::UnavailableError(absl::StrCat(
          "the answer's ", name, " holds characters no HTTP header may carry"));
    }
  }
  return credentials;
}

}  // namespace

absl::StatusOr<Credentials> ParseRoleCredentialsAnswer(absl::string_view body) {
  absl::StatusOr<json::Document> answer = json::ParseObject(body);
  if (!answer.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the metadata service's answer is no JSON object (",
                     answer.status().message(), ")"));
  }
  absl::string_view code = json::StringMember(answer->root(), "Code");
  if (!code.empty() && code != "Success") {
    return absl::UnavailableError(
        absl::StrCat("the metadata service answered Code ", Quoted(code)));
  }
  absl::StatusOr<absl::Time> expiry = ExpiryOf(answer->root());
  if (!expiry.ok()) return expiry.status();
  return TemporaryCredentialsOf(answer->root(), *expiry);
}

absl::StatusOr<Credentials> ParseStsAnswer(long http_status,
                                           absl::string_view body,
                                           const std::string& token) {
  absl::StatusOr<json::Document> json = json::ParseObject(body);
  std::optional<json::Element> answer;
  if (json.ok()) answer = json::Member(json->root(), "Response");
  if (!answer.has_value() || !answer->is_object()) {
    return absl::UnavailableError(absl::StrCat(
        "STS answered HTTP ", http_status, " without a Response envelope"));
  }
  if (std::optional<json::Element> error = json::Member(*answer, "Error")) {
    // STS may echo a parameter in any member: never let the token through.
    const auto redacted = [&token](absl::string_view text) {
      std::string out(text);
      if (!token.empty())
        out = absl::StrReplaceAll(out, {{token, "<redacted>"}});
      return Quoted(out);
    };
    return absl::UnavailableError(absl::StrCat(
        "STS AssumeRoleWithWebIdentity failed: ",
        redacted(json::StringMember(*error, "Code")), ": ",
        redacted(json::StringMember(*error, "Message")), " (RequestId ",
        redacted(json::StringMember(*answer, "RequestId")), ")"));
  }
  std::optional<json::Element> credentials =
      json::Member(*answer, "Credentials");
  if (!credentials.has_value() || !credentials->is_object()) {
    return absl::UnavailableError("STS answer has no Credentials object");
  }
  absl::StatusOr<absl::Time> expiry = ExpiryOf(*answer);
  if (!expiry.ok()) {
    return absl::UnavailableError(
        absl::StrCat("STS answer: ", expiry.status().message()));
  }
  absl::StatusOr<Credentials> result =
      TemporaryCredentialsOf(*credentials, *expiry);
  if (!result.ok()) {
    return absl::UnavailableError(
        absl::StrCat("STS answer: ", result.status().message()));
  }
  return result;
}

}  // namespace envelope::credentials_internal
