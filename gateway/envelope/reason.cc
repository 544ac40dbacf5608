#include "gateway/envelope/reason.h"

#include "absl/strings/ascii.h"

namespace envelope {
namespace {

constexpr size_t kMaxReasonLength = 63;

// A word starts at an upper-case letter that follows a lower-case letter or
// digit ("AuthFailure"), or that ends an acronym ("VPCId": the "I").
bool StartsWord(absl::string_view s, size_t i) {
  if (i == 0 || !absl::ascii_isupper(s[i])) return false;
  char prev = s[i - 1];
  if (absl::ascii_islower(prev) || absl::ascii_isdigit(prev)) return true;
  return absl::ascii_isupper(prev) && i + 1 < s.size() &&
         absl::ascii_islower(s[i + 1]);
}

}  // namespace

std::string ErrorReason(absl::string_view error_code) {
  std::string reason;
  reason.reserve(error_code.size() + 8);
  for (size_t i = 0; i < error_code.size(); ++i) {
    char c = error_code[i];
    if (!absl::ascii_isalnum(c)) {
      if (!reason.empty() && reason.back() != '_') reason.push_back('_');
      continue;
    }
    if (StartsWord(error_code, i) && !reason.empty() && reason.back() != '_') {
      reason.push_back('_');
    }
    reason.push_back(absl::ascii_toupper(c));
  }
  // Must start with a letter and end with a letter or digit.
  while (!reason.empty() && !absl::ascii_isupper(reason.front())) {
    reason.erase(reason.begin());
  }
  if (reason.size() > kMaxReasonLength) reason.resize(kMaxReasonLength);
  while (!reason.empty() && reason.back() == '_') reason.pop_back();
  return reason.empty() ? "UNKNOWN" : reason;
}

}  // namespace envelope
