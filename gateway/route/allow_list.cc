#include "gateway/route/allow_list.h"

namespace envelope {

bool GlobMatch(absl::string_view glob, absl::string_view text) {
  // Iterative match with backtracking to the last '*'.
  size_t g = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = t;
    } else if (g < glob.size() && glob[g] == text[t]) {
      ++g;
      ++t;
    } else if (star != absl::string_view::npos) {
      g = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

AllowList::AllowList(std::vector<std::string> entries) {
  for (const std::string& entry : entries) {
    size_t colon = entry.find(':');
    if (colon == std::string::npos) {
      entries_.push_back({"", entry});
    } else {
      entries_.push_back({entry.substr(0, colon), entry.substr(colon + 1)});
    }
  }
}

bool AllowList::Allows(absl::string_view service,
                       absl::string_view action) const {
  if (entries_.empty()) return true;
  for (const Entry& entry : entries_) {
    if ((entry.service.empty() || entry.service == service) &&
        GlobMatch(entry.action_glob, action)) {
      return true;
    }
  }
  return false;
}

}  // namespace envelope
