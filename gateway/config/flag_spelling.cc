#include "gateway/config/flag_spelling.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace envelope {
namespace {

std::string Underscored(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"-", "_"}});
}

// Levenshtein distance: insertions, deletions and substitutions.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string FlagSpelling(absl::string_view key) {
  return absl::StrCat("--", absl::StrReplaceAll(key, {{"_", "-"}}));
}

std::string NearestName(absl::string_view name,
                        const std::vector<std::string>& known) {
  const std::string typed = Underscored(name);
  const size_t allowed = std::max<size_t>(2, typed.size() / 3);
  std::string nearest;
  size_t best = std::numeric_limits<size_t>::max();
  for (const std::string& candidate : known) {
    // The difference in length is a lower bound of the distance: a name
    // that cannot be near is not measured, so a long unknown key (a config
    // file is outside input) costs its length, not length × every name.
    const size_t length_gap = typed.size() > candidate.size()
                                  ? typed.size() - candidate.size()
                                  : candidate.size() - typed.size();
    if (length_gap > allowed || length_gap >= best) continue;
    const size_t distance = EditDistance(typed, Underscored(candidate));
    if (distance < best) {
      best = distance;
      nearest = candidate;
    }
  }
  return best <= allowed ? nearest : std::string();
}

std::string UnknownFlagMessage(absl::string_view name,
                               const std::vector<std::string>& known) {
  std::string message = absl::StrCat("unknown flag ", FlagSpelling(name));
  const std::string nearest = NearestName(name, known);
  if (!nearest.empty()) {
    absl::StrAppend(&message, " (did you mean ", FlagSpelling(nearest), "?)");
  }
  return message;
}

}  // namespace envelope
