#ifndef GATEWAY_CREDENTIALS_PROFILE_H_
#define GATEWAY_CREDENTIALS_PROFILE_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/credentials/credentials.h"

namespace envelope::credentials_internal {

// section -> key -> value; keys lower-cased, keys and values trimmed.
using IniFile = std::map<std::string, std::map<std::string, std::string>>;

// A small ini dialect: `[section]`, `key = value` (or `key: value`),
// comments starting with `#` or `;`, blank lines. A line that is none of
// these is an error naming `path` and the line number, never the line (it
// may hold a secret).
absl::StatusOr<IniFile> ParseIni(const std::string& path,
                                 absl::string_view text);

// The credentials of profile `name` in the Tencent Cloud credentials file:
// secret_id, secret_key and optional token (or session_token). NOT_FOUND when
// the file or the section does not exist (the chain decides whether that
// means "absent"); any other problem is an error naming the file.
absl::StatusOr<Credentials> LoadProfile(const std::string& path,
                                        const std::string& name);

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_PROFILE_H_
