#include "gateway/credentials/json_fields.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace envelope::credentials_internal {

std::string StringMember(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return "";
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

absl::StatusOr<absl::Time> ExpiryOf(const rapidjson::Value& object) {
  auto it = object.FindMember("ExpiredTime");
  if (it != object.MemberEnd()) {
    if (it->value.IsInt64()) return absl::FromUnixSeconds(it->value.GetInt64());
    int64_t seconds = 0;
    if (it->value.IsString() &&
        absl::SimpleAtoi(it->value.GetString(), &seconds)) {
      return absl::FromUnixSeconds(seconds);
    }
  }
  std::string expiration = StringMember(object, "Expiration");
  absl::Time time;
  std::string error;
  if (!expiration.empty() &&
      absl::ParseTime(absl::RFC3339_full, expiration, &time, &error)) {
    return time;
  }
  return absl::InvalidArgumentError(
      "no usable ExpiredTime or Expiration in the answer");
}

absl::StatusOr<Credentials> TemporaryCredentialsOf(
    const rapidjson::Value& object, absl::Time expiry) {
  Credentials credentials{StringMember(object, "TmpSecretId"),
                          StringMember(object, "TmpSecretKey"),
                          StringMember(object, "Token"), expiry};
  for (const auto& [name, value] :
       {std::pair{"TmpSecretId", &credentials.secret_id},
        std::pair{"TmpSecretKey", &credentials.secret_key},
        std::pair{"Token", &credentials.session_token}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("no ", name, " string in the answer"));
    }
  }
  return credentials;
}

}  // namespace envelope::credentials_internal
