#include "gateway/credentials/log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace envelope {

CredentialLogger StderrCredentialLogger() {
  return [](const std::string& line) {
    std::string text =
        absl::StrCat("envelope-gateway: credentials ", line, "\n");
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
  };
}

}  // namespace envelope
