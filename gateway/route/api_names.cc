#include "gateway/route/api_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace envelope {
namespace {

bool Digit(char c) {
  return absl::ascii_isdigit(static_cast<unsigned char>(c));
}

bool AllOf(absl::string_view s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

bool LowerDigitDash(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
}
bool ActionChar(char c) { return absl::ascii_isalnum(c); }

std::string Quoted(absl::string_view value) {
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, 64)), "\"");
}

absl::Status ValidateName(absl::string_view what, absl::string_view value,
                          bool (*ok)(char)) {
  if (!value.empty() && value.size() <= 64 && AllOf(value, ok)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, " ", Quoted(value), " is not valid"));
}

}  // namespace

absl::Status ValidateService(absl::string_view service) {
  return ValidateName("service", service, LowerDigitDash);
}

absl::Status ValidateVersion(absl::string_view v) {
  bool ok = v.size() == 10 && v[4] == '-' && v[7] == '-' &&
            AllOf(v.substr(0, 4), Digit) && AllOf(v.substr(5, 2), Digit) &&
            AllOf(v.substr(8, 2), Digit);
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("version ", Quoted(v), " is not YYYY-MM-DD"));
}

absl::Status ValidateAction(absl::string_view action) {
  return ValidateName("action", action, ActionChar);
}

absl::Status ValidateRegion(absl::string_view region) {
  if (region.empty()) return absl::OkStatus();
  return ValidateName("region", region, LowerDigitDash);
}

absl::Status ValidateLanguage(absl::string_view language) {
  if (language.empty() || language == "zh-CN" || language == "en-US") {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "x-tc-language ", Quoted(language), " is not zh-CN or en-US"));
}

}  // namespace envelope
