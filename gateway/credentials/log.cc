#include "gateway/credentials/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gateway/credentials/credentials.h"

namespace envelope {

CredentialLogger StderrCredentialLogger() {
  return [](const std::string& line) {
    std::string text =
        absl::StrCat("envelope-gateway: credentials ", line, "\n");
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
  };
}

namespace {
std::atomic<int64_t> refreshes{0};
std::atomic<int64_t> failures{0};
}  // namespace

void CountCredentialRefresh() { refreshes.fetch_add(1); }
void CountCredentialFailure() { failures.fetch_add(1); }

CredentialEventCounts CredentialEvents() {
  return {refreshes.load(), failures.load()};
}

}  // namespace envelope
