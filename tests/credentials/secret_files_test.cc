// A mounted Secret directory: first read, rotations (plain writes and the
// Kubernetes `..data` swap), half-written rotations, unreadable files.
//
// What a poll decides is awaited by counting polls (SecretFileSource::
// AwaitPolls), and settle_time is stepped over on a fake clock: a loaded
// machine polls less often than asked, so a test that slept "a dozen poll
// intervals" could see none.
#include "gateway/credentials/secret_files.h"

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

using ::envelope::credentials_internal::SecretFileSource;
using ::testing::HasSubstr;
using Pair = std::pair<std::string, std::string>;

// How long to wait for something that should happen at once: only a broken
// source takes this long, however slow the machine.
constexpr absl::Duration kPatience = absl::Seconds(30);

// Time for settle_time, moved only by the test.
class FakeClock {
 public:
  absl::Time Now() const {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ = absl::Now();
};

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
  // The directory as the gateway builds it: through the chain.
  std::unique_ptr<CredentialSource> Chain() {
    CredentialOptions options = TestOptions(env_, log_);
    options.secret_dir = dir_.path();
    options.file_poll_interval = absl::Milliseconds(50);
    auto chain = MakeCredentialChain(options);
    EXPECT_TRUE(chain.ok()) << chain.status();
    return chain.ok() ? *std::move(chain) : nullptr;
  }

  // The source itself, for its poll count, with settle_time on clock_.
  std::unique_ptr<SecretFileSource> Source() {
    auto source =
        SecretFileSource::Create({.dir = dir_.path(),
                                  .poll_interval = absl::Milliseconds(20),
                                  .settle_time = absl::Seconds(30),
                                  .log = log_.Logger(),
                                  .now = [this] { return clock_.Now(); }});
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? *std::move(source) : nullptr;
  }

  // Waits for `n` polls that all began after this call, so after whatever
  // the test wrote before calling it (the poll running at the time may have
  // read the directory before the write).
  static bool FreshPolls(const SecretFileSource& source, int n) {
    return source.AwaitPolls(source.PollsFinished() + 1 + n, kPatience);
  }

  static Pair PairOf(const CredentialSource& source) {
    auto credentials = source.Get();
    if (!credentials.ok()) return {"error", ""};
    return {credentials->secret_id, credentials->secret_key};
  }

  bool Serves(const CredentialSource& source, const Pair& pair) {
    return WaitFor([&] { return PairOf(source) == pair; }, kPatience);
  }

  TempDir dir_;
  FakeEnv env_;
  LogCapture log_;
  FakeClock clock_;
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
  // The line comes just after the swap that Serves saw.
  EXPECT_TRUE(
      WaitFor([&] { return log_.Count("picked up rotated credentials") == 1; },
              kPatience));
  log_.ExpectNoSecret("filekey");
}

TEST_F(SecretFilesTest, HalfWrittenRotationKeepsTheOldPair) {
  dir_.Write("secret_id", "AKIDfile1");
  dir_.Write("secret_key", "filekey1");
  auto source = Source();
  ASSERT_NE(source, nullptr);
  Sampler sampler(*source);
  const Pair old_pair("AKIDfile1", "filekey1");
  const Pair new_pair("AKIDfile22", "filekey22");
  dir_.Write("secret_id", "AKIDfile22");  // the key is not there yet
  // Two reads of the same half-rotation: stable, but not every value changed.
  ASSERT_TRUE(FreshPolls(*source, 2));
  EXPECT_EQ(PairOf(*source), old_pair);
  EXPECT_EQ(log_.Count("only some of"), 1);
  // However many polls see it (the fake clock keeps settle_time away).
  ASSERT_TRUE(FreshPolls(*source, 10));
  EXPECT_EQ(PairOf(*source), old_pair);
  EXPECT_EQ(log_.Count("only some of"), 1);
  // The rest arrives: two reads of the complete rotation publish it.
  dir_.Write("secret_key", "filekey22");
  ASSERT_TRUE(FreshPolls(*source, 2));
  EXPECT_EQ(PairOf(*source), new_pair);
  EXPECT_EQ(log_.Count("picked up rotated credentials"), 1);
  // The sampler runs on its own thread: wait until it has had its look.
  EXPECT_TRUE(
      WaitFor([&] { return sampler.Seen().count(new_pair) == 1; }, kPatience));
  sampler.Stop();
  EXPECT_EQ(sampler.Failures(), 0);
  EXPECT_THAT(sampler.Seen(),
              ::testing::UnorderedElementsAre(old_pair, new_pair));
}

TEST_F(SecretFilesTest, ChangeOfOnlyTheKeyIsServedAfterItSettles) {
  dir_.Write("secret_id", "AKIDfile1");
  dir_.Write("secret_key", "wrongkey1");
  auto source = Source();  // settle_time 30 s, on clock_
  ASSERT_NE(source, nullptr);
  dir_.Write("secret_key", "fixedkey11");
  ASSERT_TRUE(FreshPolls(*source, 2));
  EXPECT_EQ(PairOf(*source), Pair("AKIDfile1", "wrongkey1"));
  EXPECT_EQ(log_.Count("only some of"), 1);
  clock_.Advance(absl::Seconds(29));
  ASSERT_TRUE(FreshPolls(*source, 2));
  EXPECT_EQ(PairOf(*source), Pair("AKIDfile1", "wrongkey1"));
  clock_.Advance(absl::Seconds(1));
  // The first poll that sees the change 30 s old serves it.
  ASSERT_TRUE(FreshPolls(*source, 1));
  EXPECT_EQ(PairOf(*source), Pair("AKIDfile1", "fixedkey11"));
  EXPECT_EQ(log_.Count("after it settled"), 1);
  EXPECT_EQ(log_.Count("only some of"), 1);
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
  auto source = Source();
  ASSERT_NE(source, nullptr);
  dir_.Remove("secret_key");
  ASSERT_TRUE(FreshPolls(*source, 1));
  EXPECT_EQ(log_.Count("cannot read"), 1);
  // Every poll reads the broken directory again (to notice the repair) and
  // says nothing more.
  ASSERT_TRUE(FreshPolls(*source, 5));
  EXPECT_EQ(log_.Count("cannot read"), 1);
  EXPECT_EQ(PairOf(*source), Pair("AKIDfile1", "filekey1"));
  dir_.Write("secret_id", "AKIDfile22");
  dir_.Write("secret_key", "filekey22");
  ASSERT_TRUE(FreshPolls(*source, 2));
  EXPECT_EQ(PairOf(*source), Pair("AKIDfile22", "filekey22"));
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
  // Not the hour to the next poll; the margin is for a loaded machine.
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

}  // namespace
}  // namespace envelope::testing
