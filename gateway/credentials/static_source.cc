#include "gateway/credentials/static_source.h"

#include "absl/strings/str_cat.h"

namespace envelope::credentials_internal {
namespace {

bool IsHeaderSafe(const std::string& value) {
  for (char c : value) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

absl::Status CheckField(const std::string& where, const char* field,
                        const std::string& value, bool optional) {
  if (value.empty() && !optional) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", field, " is empty"));
  }
  if (!IsHeaderSafe(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", field, " holds whitespace or non-printable characters"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckCredentialValues(const std::string& where,
                                   const Credentials& credentials) {
  absl::Status status =
      CheckField(where, "secret_id", credentials.secret_id, false);
  if (status.ok()) {
    status = CheckField(where, "secret_key", credentials.secret_key, false);
  }
  if (status.ok()) {
    status =
        CheckField(where, "session_token", credentials.session_token, true);
  }
  return status;
}

absl::StatusOr<std::optional<Credentials>> PairFromSettings(
    const std::string& where, std::string secret_id, std::string secret_key,
    std::string session_token) {
  if (secret_id.empty() && secret_key.empty() && session_token.empty()) {
    return std::nullopt;
  }
  Credentials credentials{std::move(secret_id), std::move(secret_key),
                          std::move(session_token)};
  absl::Status status = CheckCredentialValues(where, credentials);
  if (!status.ok()) return status;
  return credentials;
}

}  // namespace envelope::credentials_internal
