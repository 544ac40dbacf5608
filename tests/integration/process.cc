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

[[noreturn]] void ExecChild(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env) {
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

absl::StatusOr<std::unique_ptr<Process>> Process::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& env,
    absl::Duration timeout) {
  std::unique_ptr<Process> process(new Process());
  process->stderr_path_ = TempPath();
  int out[2];
  if (pipe(out) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    int err = open(process->stderr_path_.c_str(), O_WRONLY | O_TRUNC);
    dup2(err, STDERR_FILENO);
    close(out[0]);
    ExecChild(argv, env);
  }
  close(out[1]);
  process->pid_ = pid;
  process->stdout_fd_ = out[0];
  absl::Time deadline = absl::Now() + timeout;
  std::string& line = process->first_line_;
  while (line.empty() || line.back() != '\n') {
    int left =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p{out[0], POLLIN, 0};
    if (left <= 0 || poll(&p, 1, left) <= 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          argv[0], " printed no address line: ", process->Stderr()));
    }
    char c;
    if (read(out[0], &c, 1) != 1) {
      int code = process->WaitExit(absl::Seconds(5));
      process->pid_ = -1;
      return absl::FailedPreconditionError(absl::StrCat(
          argv[0], " exited with ", code, ": ", process->Stderr()));
    }
    line.push_back(c);
  }
  line.pop_back();
  return process;
}

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (!stderr_path_.empty()) unlink(stderr_path_.c_str());
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
  int status = 0;
  waitpid(pid, &status, 0);
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
