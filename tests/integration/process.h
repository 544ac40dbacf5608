#ifndef TESTS_INTEGRATION_PROCESS_H_
#define TESTS_INTEGRATION_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace envelope::testing {

// A real child process whose first stdout line says where it listens (the
// emulator and the gateway both print one). Killed when destroyed.
class Process {
 public:
  // Starts argv with the extra environment (NAME=value, or NAME= to unset)
  // and waits up to `timeout` for the first stdout line. A process that exits
  // first is an error carrying its exit status and stderr. Only a failing
  // start waits the whole default, which leaves a loaded machine (a
  // sandboxed Bazel run on two busy cores) seconds to spare.
  static absl::StatusOr<std::unique_ptr<Process>> Start(
      const std::vector<std::string>& argv,
      const std::vector<std::string>& env = {},
      absl::Duration timeout = absl::Seconds(60));
  ~Process();

  const std::string& first_line() const { return first_line_; }
  // The last word of the first line: "127.0.0.1:50051" or "http://...".
  std::string address() const;

  // SIGTERM, then the exit code (128+signal when killed by one).
  int Terminate(absl::Duration timeout = absl::Seconds(30));
  // kill(2); returns its result.
  int Signal(int signal);
  // Waits for an exit that happens on its own; -1 on timeout.
  int WaitExit(absl::Duration timeout);
  std::string Stderr() const;
  // Everything printed so far (the address line, then e.g. the access log).
  std::string Stdout() const;

 private:
  Process() = default;
  pid_t pid_ = -1;
  std::string stdout_path_;
  std::string stderr_path_;
  std::string first_line_;
};

// Runs argv to completion; returns {exit code, stderr}.
std::pair<int, std::string> RunToExit(const std::vector<std::string>& argv,
                                      const std::vector<std::string>& env = {});

// Plain HTTP for the emulator's control endpoints.
struct HttpAnswer {
  long status = 0;
  std::string body;
};
HttpAnswer Http(const std::string& method, const std::string& url,
                const std::string& body = "");

}  // namespace envelope::testing

#endif  // TESTS_INTEGRATION_PROCESS_H_
