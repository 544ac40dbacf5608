// The config file reader: ParseInvocation (gateway/config/config.h) with
// `--config FILE`, as the gateway starts with `--config gateway.yaml`.
//
// Input: the file's bytes. There is no parse-from-text entry point, so the
// bytes go into an in-memory file (memfd) that the reader opens by its
// /proc/self/fd path. yaml-cpp itself is Debian's, uninstrumented: coverage
// guides the fuzzer only through the gateway's side (key table, value
// parsers, endpoint and region checks).
//
// Property beyond "no crash, no sanitizer report, no escaping exception":
// an error is one line, as config.h promises (the gateway prints it as its
// one diagnostic line before exiting).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/config/config.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr char kHarness[] = "config_fuzzer";

int ConfigFile() {
  static const int fd = [] {
    const int fd = memfd_create("fuzz-config.yaml", 0);
    if (fd < 0) {
      std::perror("config_fuzzer: memfd_create");
      std::abort();
    }
    return fd;
  }();
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = ConfigFile();
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    std::perror("config_fuzzer: writing the memfd");
    std::abort();
  }
  std::string path = absl::StrCat("/proc/self/fd/", fd);
  std::string program = "envelope-gateway", flag = "--config";
  char* argv[] = {program.data(), flag.data(), path.data(), nullptr};
  absl::StatusOr<envelope::Invocation> invocation =
      envelope::ParseInvocation(3, argv);
  if (!invocation.ok()) {
    const absl::string_view message = invocation.status().message();
    FUZZ_CHECK(kHarness, !absl::StrContains(message, '\n'),
               "an error of more than one line: " + absl::CEscape(message));
  }
  return 0;
}
