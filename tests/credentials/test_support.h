#ifndef TESTS_CREDENTIALS_TEST_SUPPORT_H_
#define TESTS_CREDENTIALS_TEST_SUPPORT_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/credentials/chain.h"
#include "tests/integration/process.h"

namespace envelope::testing {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name (in place, not atomically).
  void Write(const std::string& name, const std::string& content) const;
  // Writes `content` beside path()/name and renames it over, as the kubelet
  // replaces a projected token: a reader sees the old or the new file whole.
  void Replace(const std::string& name, const std::string& content) const;
  void Remove(const std::string& name) const;
  static void WriteAt(const std::string& path, const std::string& content);

 private:
  std::string path_;
};

// An environment for CredentialOptions::getenv that tests fill in.
class FakeEnv {
 public:
  void Set(const std::string& name, const std::string& value) {
    vars_[name] = value;
  }
  std::function<const char*(const char*)> Getenv() const;

 private:
  std::map<std::string, std::string> vars_;
};

// Collects CredentialOptions::log lines from any thread.
class LogCapture {
 public:
  CredentialLogger Logger();
  std::vector<std::string> Lines() const;
  int Count(const std::string& needle) const;
  // Fails the test if any line holds `secret`.
  void ExpectNoSecret(const std::string& secret) const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

// Options that read only `env` and log into `log` (nothing from the real
// environment leaks into a test).
CredentialOptions TestOptions(const FakeEnv& env, LogCapture& log);

// Polls `done` until it holds or `timeout` passes. The default is for
// things that should happen at once: only a failing test waits that long,
// and a loaded machine (a sandboxed Bazel run on two busy cores) can take
// seconds for what normally takes milliseconds.
bool WaitFor(const std::function<bool()>& done,
             absl::Duration timeout = absl::Seconds(30));

// tests/credentials/fake_cloud.py as a real process.
class FakeCloud {
 public:
  static std::unique_ptr<FakeCloud> Start();
  std::string base() const { return process_->address(); }
  std::string metadata_url() const { return base() + "/latest/meta-data/"; }
  std::string sts_url() const { return base() + "/"; }
  // POST /control with this JSON object.
  void Control(const std::string& json) const;
  int Generation() const;
  // The JSON text of every request seen so far (GET /control).
  std::string State() const;
  int RequestCount() const;

 private:
  std::unique_ptr<Process> process_;
};

}  // namespace envelope::testing

#endif  // TESTS_CREDENTIALS_TEST_SUPPORT_H_
