#include "gateway/main/diagnostics.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace envelope {

Diagnostics::Diagnostics(absl::string_view level)
    : threshold_(level == "debug"     ? 0
                 : level == "warning" ? 2
                 : level == "error"   ? 3
                                      : 1) {}

void Diagnostics::Write(int level, absl::string_view name,
                        absl::string_view text) const {
  if (level < threshold_) return;
  // One write per line, so lines of several threads never interleave.
  std::string line = absl::StrCat("envelope-gateway: ", name, ": ", text, "\n");
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace envelope
