#include "tests/integration/process.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace envelope::testing {
namespace {

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Tests run many gateways at once: unless a test picks its own admin
// address, each gets a free port instead of the default 127.0.0.1:9901.
std::vector<std::string> WithAdminPort(std::vector<std::string> argv) {
  if (argv.empty() || argv[0].find("envelope-gateway") == std::string::npos) {
    return argv;
  }
  for (const std::string& arg : argv) {
    if (arg.rfind("--admin-listen", 0) == 0 ||
        arg.rfind("--admin_listen", 0) == 0 || arg == "--help" ||
        arg == "--version" || arg.rfind("--check-config", 0) == 0) {
      return argv;
    }
  }
  argv.push_back("--admin-listen=127.0.0.1:0");
  return argv;
}

[[noreturn]] void ExecChild(const std::vector<std::string>& given_argv,
                            const std::vector<std::string>& env) {
  const std::vector<std::string> argv = WithAdminPort(given_argv);
  for (const std::string& entry : env) {
    size_t eq = entry.find('=');
    std::string name = entry.substr(0, eq);
    std::string value = entry.substr(eq + 1);
    if (value.empty()) {
      unsetenv(name.c_str());
    } else {
      setenv(name.c_str(), value.c_str(), 1);
    }
  }
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

std::string TempPath() {
  char path[] = "/tmp/envelope-test-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  return path;
}

}  // namespace

// Where the children's output goes: kept after the test (the suite's last
// test reads every gateway line for secrets), else a temporary file. The
// name is made unique by mkstemps, not the pid: tests in Bazel's sandbox
// each have their own pid namespace, and share the folder.
std::string OutputPath(const std::vector<std::string>& argv,
                       absl::string_view stream) {
  const char* dir = std::getenv("ENVELOPE_TEST_LOG_DIR");
  if (dir == nullptr || *dir == '\0') return TempPath();
  std::string name = argv[0].substr(argv[0].rfind('/') + 1);
  if (argv.size() > 1 && argv[1].find("emulator") != std::string::npos) {
    name = "emulator";
  }
  std::string path = absl::StrCat(dir, "/", name, "-XXXXXX.", stream);
  int fd = mkstemps(path.data(), static_cast<int>(stream.size()) + 1);
  if (fd < 0) return TempPath();
  close(fd);
  return path;
}

// The first line of `path` once it is complete, or empty.
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (std::getline(in, line) && !in.eof()) return line;
  return "";
}

absl::StatusOr<std::unique_ptr<Process>> Process::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& env,
    absl::Duration timeout) {
  std::unique_ptr<Process> process(new Process());
  // Files, not pipes: a child that logs a lot never blocks on a full pipe.
  process->stdout_path_ = OutputPath(argv, "out");
  process->stderr_path_ = OutputPath(argv, "err");
  pid_t pid = fork();
  if (pid == 0) {
    int out =
        open(process->stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    int err =
        open(process->stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(err, STDERR_FILENO);
    ExecChild(argv, env);
  }
  process->pid_ = pid;
  absl::Time deadline = absl::Now() + timeout;
  while ((process->first_line_ = FirstLine(process->stdout_path_)).empty()) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      process->pid_ = -1;
      return absl::FailedPreconditionError(absl::StrCat(
          argv[0], " exited with ", ExitCode(status), ": ", process->Stderr()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          argv[0], " printed no address line: ", process->Stderr()));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return process;
}

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  const char* dir = std::getenv("ENVELOPE_TEST_LOG_DIR");
  if (dir == nullptr || *dir == '\0') {
    unlink(stdout_path_.c_str());
    unlink(stderr_path_.c_str());
  }
}

std::string Process::address() const {
  std::vector<std::string> words = absl::StrSplit(first_line_, ' ');
  return words.empty() ? "" : words.back();
}

int Process::WaitExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return ExitCode(status);
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return -1;
}

int Process::Signal(int signal) { return pid_ > 0 ? kill(pid_, signal) : -1; }

int Process::Terminate(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  return WaitExit(timeout);
}

std::string Process::Stderr() const {
  std::ifstream in(stderr_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Process::Stdout() const {
  std::ifstream in(stdout_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::pair<int, std::string> RunToExit(const std::vector<std::string>& argv,
                                      const std::vector<std::string>& env) {
  std::string err_path = TempPath();
  pid_t pid = fork();
  if (pid == 0) {
    int err = open(err_path.c_str(), O_WRONLY | O_TRUNC);
    dup2(err, STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    ExecChild(argv, env);
  }
  // A process that should have stopped but runs on must not hang the suite
  // (60 s: one that is just slow to start on a loaded machine gets to end).
  int status = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  std::ifstream in(err_path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(err_path.c_str());
  return {ExitCode(status), text.str()};
}

namespace {
size_t Collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}
}  // namespace

HttpAnswer Http(const std::string& method, const std::string& url,
                const std::string& body) {
  HttpAnswer answer;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  }
  curl_easy_cleanup(curl);
  return answer;
}

}  // namespace envelope::testing
