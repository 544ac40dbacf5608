// A mounted Secret directory: first read, rotations (plain writes and the
// Kubernetes `..data` swap), half-written rotations, unreadable files.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gateway/credentials/chain.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/credentials/test_support.h"

namespace envelope::testing {
namespace {

using ::testing::HasSubstr;
using Pair = std::pair<std::string, std::string>;

// Calls Get() in a loop on its own thread and keeps every (id, key) pair it
// saw, to prove that no mixed pair is ever served.
class Sampler {
 public:
  explicit Sampler(const CredentialSource& source)
      : thread_([this, &source] {
          while (!stop_.load()) {
            auto credentials = source.Get();
            absl::MutexLock lock(&mu_);
            if (!credentials.ok()) {
              ++failures_;
            } else {
              seen_.insert({credentials->secret_id, credentials->secret_key});
            }
          }
        }) {}
  ~Sampler() { Stop(); }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::set<Pair> Seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  int Failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::set<Pair> seen_;
  int failures_ = 0;
  std::thread thread_;
};

class SecretFilesTest : public ::testing::Test {
 protected:
  std::unique_ptr<CredentialSource> Chain(
      absl::Duration settle = absl::Seconds(30)) {
    CredentialOptions options = TestOptions(env_, log_);
    options.secret_dir = dir_.path();
    options.file_poll_interval = absl::Milliseconds(50);
    options.file_settle_time = settle;
    auto chain = MakeCredentialChain(options);
    EXPECT_TRUE(chain.ok()) << chain.status();
    return chain.ok() ? *std::move(chain) : nullptr;
  }

  static Pair PairOf(const CredentialSource& source) {
    auto credentials = source.Get();
    if (!credentials.ok()) return {"error", ""};
    return {credentials->secret_id, credentials->secret_key};
  }

  bool Serves(const CredentialSource& source, const Pair& pair) {
    return WaitFor([&] { return PairOf(source) == pair; }, absl::Seconds(3));
  }

  TempDir dir_;
  FakeEnv env_;
  LogCapture log_;
};

TEST_F(SecretFilesTest, ReadsTheFiles) {
  dir_.Write("secret_id", "AKIDfile1\n");  // kubectl --from-file keeps it
  dir_.Write("secret_key", "filekey1\n");
  dir_.Write("session_token", "filetoken1");
  auto chain = Chain();
  ASSERT_NE(chain, nullptr);
  EXPECT_EQ(chain->Describe(), "files:" + dir_.path());
  auto credentials = chain->Get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->secret_id, "AKIDfile1");
  EXPECT_EQ(credentials->secret_key, "filekey1");
  EXPECT_EQ(credentials->session_token, "filetoken1");
}

TEST_F(SecretFilesTest, AcceptsEnvStyleNames) {
  dir_.Write("TENCENTCLOUD_SECRET_ID", "AKIDenvstyle");
  dir_.Write("TENCENTCLOUD_SECRET_KEY", "envstylekey");
  auto chain = Chain();
  EXPECT_EQ(PairOf(*chain), Pair("AKIDenvstyle", "envstylekey"));
}

TEST_F(SecretFilesTest, MissingOrEmptyFilesAreStartUpErrors) {
  dir_.Write("secret_id", "AKIDfile1");
  CredentialOptions options = TestOptions(env_, log_);
  options.secret_dir = dir_.path();
  auto chain = MakeCredentialChain(options);
  ASSERT_FALSE(chain.ok());
  EXPECT_THAT(chain.status().message(), HasSubstr("secret_key"));
  EXPECT_THAT(chain.status().message(), HasSubstr(dir_.path()));

  dir_.Write("secret_key", "\n");
  chain = MakeCredentialChain(options);
  ASSERT_FALSE(chain.ok());
  EXPECT_THAT(chain.status().message(), HasSubstr("secret_key is empty"));

  options.secret_dir = dir_.path() + "/nowhere";
  EXPECT_FALSE(MakeCredentialChain(options).ok());
}

TEST_F(SecretFilesTest, PicksUpARotation) {
  dir_.Write("secret_id", "AKIDfile1");
  dir_.Write("secret_key", "filekey1");
  auto chain = Chain();
  dir_.Write("secret_id", "AKIDfile22");
  dir_.Write("secret_key", "filekey22");
  EXPECT_TRUE(Serves(*chain, {"AKIDfile22", "filekey22"}));
  EXPECT_EQ(log_.Count("picked up rotated credentials"), 1);
  log_.ExpectNoSecret("filekey");
}

TEST_F(SecretFilesTest, HalfWrittenRotationKeepsTheOldPair) {
  dir_.Write("secret_id", "AKIDfile1");
  dir_.Write("secret_key", "filekey1");
  auto chain = Chain();
  Sampler sampler(*chain);
  dir_.Write("secret_id", "AKIDfile22");    // the key is not there yet
  absl::SleepFor(absl::Milliseconds(600));  // a dozen polls
  EXPECT_EQ(PairOf(*chain), Pair("AKIDfile1", "filekey1"));
  EXPECT_EQ(log_.Count("only some of"), 1);
  dir_.Write("secret_key", "filekey22");
  EXPECT_TRUE(Serves(*chain, {"AKIDfile22", "filekey22"}));
  sampler.Stop();
  EXPECT_EQ(sampler.Failures(), 0);
  EXPECT_THAT(sampler.Seen(),
              ::testing::UnorderedElementsAre(Pair("AKIDfile1", "filekey1"),
                                              Pair("AKIDfile22", "filekey22")));
}

TEST_F(SecretFilesTest, ChangeOfOnlyTheKeyIsServedAfterItSettles) {
  dir_.Write("secret_id", "AKIDfile1");
  dir_.Write("secret_key", "wrongkey1");
  auto chain = Chain(absl::Milliseconds(700));
  dir_.Write("secret_key", "fixedkey11");
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(PairOf(*chain), Pair("AKIDfile1", "wrongkey1"));
  EXPECT_TRUE(Serves(*chain, {"AKIDfile1", "fixedkey11"}));
}

// Kubernetes writes each version into a fresh `..<timestamp>` directory,
// then renames a new `..data` link over the old one; the visible names are
// links through `..data`.
class KubernetesMount {
 public:
  explicit KubernetesMount(const TempDir& dir) : dir_(dir.path()) {
    for (const char* name : {"secret_id", "secret_key"}) {
      std::filesystem::create_symlink(absl::StrCat("..data/", name),
                                      absl::StrCat(dir_, "/", name));
    }
  }
  void Publish(const std::string& id, const std::string& key) {
    std::string version = absl::StrCat("..v", ++count_);
    std::filesystem::create_directory(absl::StrCat(dir_, "/", version));
    TempDir::WriteAt(absl::StrCat(dir_, "/", version, "/secret_id"), id);
    TempDir::WriteAt(absl::StrCat(dir_, "/", version, "/secret_key"), key);
    std::string temp = absl::StrCat(dir_, "/..data_tmp");
    std::filesystem::create_symlink(version, temp);
    std::filesystem::rename(temp, absl::StrCat(dir_, "/..data"));
    if (count_ > 1) {
      std::filesystem::remove_all(absl::StrCat(dir_, "/..v", count_ - 1));
    }
  }

 private:
  std::string dir_;
  int count_ = 0;
};

TEST_F(SecretFilesTest, KubernetesDataSwap) {
  KubernetesMount mount(dir_);
  mount.Publish("AKIDk8s1", "k8skey1");
  auto chain = Chain();
  EXPECT_EQ(PairOf(*chain), Pair("AKIDk8s1", "k8skey1"));
  Sampler sampler(*chain);
  for (int i = 2; i <= 6; ++i) {
    mount.Publish(absl::StrCat("AKIDk8s", i), absl::StrCat("k8skey", i));
    EXPECT_TRUE(Serves(
        *chain, {absl::StrCat("AKIDk8s", i), absl::StrCat("k8skey", i)}));
  }
  sampler.Stop();
  EXPECT_EQ(sampler.Failures(), 0);
  for (const Pair& pair : sampler.Seen()) {
    EXPECT_EQ(pair.first.substr(7), pair.second.substr(6)) << "mixed pair";
  }
}

TEST_F(SecretFilesTest, UnreadableFilesKeepTheOldPairAndLogOnce) {
  dir_.Write("secret_id", "AKIDfile1");
  dir_.Write("secret_key", "filekey1");
  auto chain = Chain();
  dir_.Remove("secret_key");
  EXPECT_TRUE(WaitFor([&] { return log_.Count("cannot read") == 1; }));
  absl::SleepFor(absl::Milliseconds(300));  // more polls, no more lines
  EXPECT_EQ(log_.Count("cannot read"), 1);
  EXPECT_EQ(PairOf(*chain), Pair("AKIDfile1", "filekey1"));
  dir_.Write("secret_id", "AKIDfile22");
  dir_.Write("secret_key", "filekey22");
  EXPECT_TRUE(Serves(*chain, {"AKIDfile22", "filekey22"}));
  EXPECT_EQ(log_.Count("readable again"), 1);
  log_.ExpectNoSecret("filekey");
}

TEST_F(SecretFilesTest, DestructorStopsThePollPromptly) {
  dir_.Write("secret_id", "AKIDfile1");
  dir_.Write("secret_key", "filekey1");
  CredentialOptions options = TestOptions(env_, log_);
  options.secret_dir = dir_.path();
  options.file_poll_interval = absl::Hours(1);
  auto chain = MakeCredentialChain(options);
  ASSERT_TRUE(chain.ok());
  absl::Time start = absl::Now();
  chain->reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

}  // namespace
}  // namespace envelope::testing
