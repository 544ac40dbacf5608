#include "gateway/metrics/names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace envelope::metrics {
namespace {

bool IsNameChar(char c, bool first) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (!first && absl::ascii_isdigit(static_cast<unsigned char>(c)));
}

absl::Status Validate(absl::string_view kind, absl::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("empty ", kind, " name"));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid ", kind, " name \"", name,
                       "\": must match [a-zA-Z_][a-zA-Z0-9_]*"));
    }
  }
  if (absl::StartsWith(name, "__")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ", kind, " name \"", name, "\": \"__\" is reserved"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateMetricName(absl::string_view name) {
  return Validate("metric", name);
}

absl::Status ValidateLabelName(absl::string_view name) {
  return Validate("label", name);
}

}  // namespace envelope::metrics
