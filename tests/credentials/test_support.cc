#include "tests/credentials/test_support.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace envelope::testing {

TempDir::TempDir() {
  char pattern[] = "/tmp/envelope-cred-XXXXXX";
  path_ = mkdtemp(pattern);
}

TempDir::~TempDir() { std::filesystem::remove_all(path_); }

void TempDir::Write(const std::string& name, const std::string& content) const {
  WriteAt(path_ + "/" + name, content);
}

void TempDir::WriteAt(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

void TempDir::Replace(const std::string& name,
                      const std::string& content) const {
  const std::string temp = path_ + "/." + name + ".new";
  WriteAt(temp, content);
  std::filesystem::rename(temp, path_ + "/" + name);
}

void TempDir::Remove(const std::string& name) const {
  std::filesystem::remove(path_ + "/" + name);
}

std::function<const char*(const char*)> FakeEnv::Getenv() const {
  return [vars = vars_](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

CredentialLogger LogCapture::Logger() {
  return [this](const std::string& line) {
    absl::MutexLock lock(&mu_);
    lines_.push_back(line);
  };
}

std::vector<std::string> LogCapture::Lines() const {
  absl::MutexLock lock(&mu_);
  return lines_;
}

int LogCapture::Count(const std::string& needle) const {
  int count = 0;
  for (const std::string& line : Lines()) {
    if (absl::StrContains(line, needle)) ++count;
  }
  return count;
}

void LogCapture::ExpectNoSecret(const std::string& secret) const {
  for (const std::string& line : Lines()) {
    EXPECT_FALSE(absl::StrContains(line, secret)) << line;
  }
}

CredentialOptions TestOptions(const FakeEnv& env, LogCapture& log) {
  CredentialOptions options;
  options.getenv = env.Getenv();
  options.log = log.Logger();
  return options;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

std::unique_ptr<FakeCloud> FakeCloud::Start() {
  absl::StatusOr<std::unique_ptr<Process>> process =
      Process::Start({PYTHON3, FAKE_CLOUD_PY});
  if (!process.ok()) {
    ADD_FAILURE() << process.status();
    return nullptr;
  }
  auto cloud = std::unique_ptr<FakeCloud>(new FakeCloud());
  cloud->process_ = *std::move(process);
  return cloud;
}

void FakeCloud::Control(const std::string& json) const {
  HttpAnswer answer = Http("POST", base() + "/control", json);
  EXPECT_EQ(answer.status, 200) << json;
}

std::string FakeCloud::State() const {
  return Http("GET", base() + "/control").body;
}

int FakeCloud::Generation() const {
  rapidjson::Document json;
  json.Parse(State().c_str());
  return json.IsObject() ? json["generation"].GetInt() : -1;
}

int FakeCloud::RequestCount() const {
  rapidjson::Document json;
  json.Parse(State().c_str());
  return json.IsObject() ? static_cast<int>(json["requests"].Size()) : -1;
}

}  // namespace envelope::testing
