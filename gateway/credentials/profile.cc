#include "gateway/credentials/profile.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/credentials/files.h"
#include "gateway/credentials/static_source.h"

namespace envelope::credentials_internal {
namespace {

bool IsComment(absl::string_view line) {
  return line.empty() || line[0] == '#' || line[0] == ';';
}

std::string Value(const std::map<std::string, std::string>& section,
                  const char* key, const char* alias = nullptr) {
  auto it = section.find(key);
  if (it == section.end() && alias != nullptr) it = section.find(alias);
  return it == section.end() ? "" : it->second;
}

}  // namespace

absl::StatusOr<IniFile> ParseIni(const std::string& path,
                                 absl::string_view text) {
  IniFile ini;
  std::string section;
  int number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (IsComment(line)) continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trimmed(line.substr(1, line.size() - 2));
      ini[section];
      continue;
    }
    size_t sep = line.find_first_of("=:");
    if (sep == absl::string_view::npos || sep == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " line ", number, ": expected [section] or key = value"));
    }
    std::string key = absl::AsciiStrToLower(Trimmed(line.substr(0, sep)));
    ini[section][key] = Trimmed(line.substr(sep + 1));
  }
  return ini;
}

absl::StatusOr<Credentials> LoadProfile(const std::string& path,
                                        const std::string& name) {
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<IniFile> ini = ParseIni(path, *text);
  if (!ini.ok()) return ini.status();
  auto section = ini->find(name);
  if (section == ini->end()) {
    return absl::NotFoundError(
        absl::StrCat(path, " has no profile [", name, "]"));
  }
  std::string where = absl::StrCat(path, " [", name, "]");
  absl::StatusOr<std::optional<Credentials>> pair =
      PairFromSettings(where, Value(section->second, "secret_id"),
                       Value(section->second, "secret_key"),
                       Value(section->second, "token", "session_token"));
  if (!pair.ok()) return pair.status();
  if (!pair->has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": no secret_id and secret_key"));
  }
  return **pair;
}

}  // namespace envelope::credentials_internal
