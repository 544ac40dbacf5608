// The chain's order and the static sources: config, env, profile, none, and
// what happens when nothing (or something broken) is configured.
#include "gateway/credentials/chain.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/credentials/test_support.h"

namespace envelope::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ChainTest : public ::testing::Test {
 protected:
  ChainTest() { env_.Set("HOME", home_.path()); }

  CredentialOptions Options() { return TestOptions(env_, log_); }

  // The source the chain picks, and its credentials.
  std::unique_ptr<CredentialSource> Chain(const CredentialOptions& options) {
    auto chain = MakeCredentialChain(options);
    EXPECT_TRUE(chain.ok()) << chain.status();
    return chain.ok() ? *std::move(chain) : nullptr;
  }

  void WriteProfile(const std::string& text) {
    std::filesystem::create_directories(home_.path() + "/.tencentcloud");
    home_.Write(".tencentcloud/credentials", text);
  }

  TempDir home_;
  FakeEnv env_;
  LogCapture log_;
};

TEST_F(ChainTest, EnvSource) {
  env_.Set("TENCENTCLOUD_SECRET_ID", "AKIDenv");
  env_.Set("TENCENTCLOUD_SECRET_KEY", "envkey");
  env_.Set("TENCENTCLOUD_SESSION_TOKEN", "envtoken");
  auto chain = Chain(Options());
  ASSERT_NE(chain, nullptr);
  EXPECT_EQ(chain->Describe(), "env");
  auto credentials = chain->Get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->secret_id, "AKIDenv");
  EXPECT_EQ(credentials->secret_key, "envkey");
  EXPECT_EQ(credentials->session_token, "envtoken");
  EXPECT_EQ(credentials->expiry, absl::InfiniteFuture());
  EXPECT_TRUE(CheckCredentials(*chain).ready);
}

TEST_F(ChainTest, ConfigWinsOverFilesEnvAndProfile) {
  TempDir secrets;
  secrets.Write("secret_id", "AKIDfile");
  secrets.Write("secret_key", "filekey");
  env_.Set("TENCENTCLOUD_SECRET_ID", "AKIDenv");
  env_.Set("TENCENTCLOUD_SECRET_KEY", "envkey");
  WriteProfile("[default]\nsecret_id = AKIDprofile\nsecret_key = pkey\n");
  CredentialOptions options = Options();
  options.secret_id = "AKIDconfig";
  options.secret_key = "configkey";
  options.secret_dir = secrets.path();
  EXPECT_EQ(Chain(options)->Describe(), "config");
  options.secret_id = options.secret_key = "";
  EXPECT_EQ(Chain(options)->Describe(), "files:" + secrets.path());
  options.secret_dir = "";
  EXPECT_EQ(Chain(options)->Describe(), "env");
  env_.Set("TENCENTCLOUD_SECRET_ID", "");
  env_.Set("TENCENTCLOUD_SECRET_KEY", "");
  options.getenv = env_.Getenv();
  auto chain = Chain(options);
  EXPECT_EQ(chain->Describe(), "profile:default");
  EXPECT_EQ(chain->Get()->secret_id, "AKIDprofile");
}

TEST_F(ChainTest, ExplicitOrderWins) {
  env_.Set("TENCENTCLOUD_SECRET_ID", "AKIDenv");
  env_.Set("TENCENTCLOUD_SECRET_KEY", "envkey");
  WriteProfile("[default]\nsecret_id = AKIDprofile\nsecret_key = pkey\n");
  CredentialOptions options = Options();
  options.sources = {"profile", "env"};
  EXPECT_EQ(Chain(options)->Describe(), "profile:default");
  options.sources = {"env", "profile"};
  EXPECT_EQ(Chain(options)->Describe(), "env");
}

TEST_F(ChainTest, LaterBrokenSourceIsNotLookedAt) {
  env_.Set("TENCENTCLOUD_SECRET_ID", "AKIDenv");
  env_.Set("TENCENTCLOUD_SECRET_KEY", "envkey");
  env_.Set("TKE_REGION", "ap-guangzhou");  // the other TKE_* are missing
  WriteProfile("this is no ini\n");
  EXPECT_EQ(Chain(Options())->Describe(), "env");
}

TEST_F(ChainTest, ProfileByName) {
  WriteProfile(
      "# comment\n[default]\nsecret_id = AKIDdefault\nsecret_key = dkey\n\n"
      "[prod]\n; another comment\n  secret_id=AKIDprod  \nsecret_key = pkey\n"
      "token = ptoken\n");
  CredentialOptions options = Options();
  options.profile_name = "prod";
  auto chain = Chain(options);
  EXPECT_EQ(chain->Describe(), "profile:prod");
  auto credentials = chain->Get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->secret_id, "AKIDprod");
  EXPECT_EQ(credentials->secret_key, "pkey");
  EXPECT_EQ(credentials->session_token, "ptoken");

  env_.Set("TENCENTCLOUD_PROFILE", "prod");
  options = Options();
  EXPECT_EQ(Chain(options)->Describe(), "profile:prod");
}

TEST_F(ChainTest, ProfileFileFromEnv) {
  TempDir other;
  other.Write("creds.ini", "[default]\nsecret_id = AKIDx\nsecret_key = k\n");
  env_.Set("TENCENTCLOUD_CREDENTIALS_FILE", other.path() + "/creds.ini");
  auto chain = Chain(Options());
  EXPECT_EQ(chain->Get()->secret_id, "AKIDx");
  CredentialOptions options = Options();
  options.profile_file = other.path() + "/missing.ini";
  auto broken = MakeCredentialChain(options);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("missing.ini"));
}

TEST_F(ChainTest, MissingNamedProfileIsAnError) {
  WriteProfile("[default]\nsecret_id = AKIDdefault\nsecret_key = dkey\n");
  CredentialOptions options = Options();
  options.profile_name = "staging";
  auto chain = MakeCredentialChain(options);
  ASSERT_FALSE(chain.ok());
  EXPECT_THAT(chain.status().message(), HasSubstr("[staging]"));
}

TEST_F(ChainTest, DefaultProfileFileWithoutDefaultSectionIsAbsent) {
  WriteProfile("[prod]\nsecret_id = AKIDprod\nsecret_key = pkey\n");
  auto chain = Chain(Options());
  EXPECT_EQ(chain->Describe(), "unavailable");
}

TEST_F(ChainTest, BadIniIsAnErrorWithoutTheLine) {
  WriteProfile("[default]\nsecret_id = AKIDx\nsupersecretvalue\n");
  auto chain = MakeCredentialChain(Options());
  ASSERT_FALSE(chain.ok());
  EXPECT_THAT(chain.status().message(), HasSubstr("line 3"));
  EXPECT_THAT(chain.status().message(), Not(HasSubstr("supersecret")));
}

TEST_F(ChainTest, HalfAPairIsAnError) {
  env_.Set("TENCENTCLOUD_SECRET_ID", "AKIDonly");
  auto chain = MakeCredentialChain(Options());
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(chain.status().message(), HasSubstr("secret_key is empty"));
  EXPECT_THAT(chain.status().message(), HasSubstr("TENCENTCLOUD_"));
  EXPECT_THAT(chain.status().message(), Not(HasSubstr("AKIDonly")));

  CredentialOptions options = Options();
  options.secret_key = "lonelykey";
  chain = MakeCredentialChain(options);
  ASSERT_FALSE(chain.ok());
  EXPECT_THAT(chain.status().message(), HasSubstr("config: secret_id"));
  EXPECT_THAT(chain.status().message(), Not(HasSubstr("lonelykey")));
}

TEST_F(ChainTest, ValueThatWouldInjectAHeaderIsAnError) {
  CredentialOptions options = Options();
  options.secret_id = "AKIDx";
  options.secret_key = "key";
  options.session_token = "tok\r\nX-Evil: 1";
  auto chain = MakeCredentialChain(options);
  ASSERT_FALSE(chain.ok());
  EXPECT_THAT(chain.status().message(), HasSubstr("session_token"));
  EXPECT_THAT(chain.status().message(), Not(HasSubstr("Evil")));
}

TEST_F(ChainTest, NothingConfiguredIsUnavailableAndNotReady) {
  auto chain = Chain(Options());
  ASSERT_NE(chain, nullptr);
  auto credentials = chain->Get();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(credentials.status().message(), HasSubstr("no credentials"));
  EXPECT_THAT(credentials.status().message(),
              HasSubstr("TENCENTCLOUD_SECRET_ID"));
  CredentialState state = CheckCredentials(*chain);
  EXPECT_FALSE(state.ready);
  EXPECT_EQ(state.source, "unavailable");
  EXPECT_THAT(state.message, HasSubstr("no credentials"));
}

TEST_F(ChainTest, NoneSignsNothingAndIsReady) {
  CredentialOptions options = Options();
  options.sources = {"none"};
  auto chain = Chain(options);
  EXPECT_EQ(chain->Describe(), "none");
  auto credentials = chain->Get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_TRUE(IsUnsigned(*credentials));
  EXPECT_TRUE(CheckCredentials(*chain).ready);

  // "none" ends a chain: what comes first still wins when present.
  options.sources = {"env", "none"};
  EXPECT_EQ(Chain(options)->Describe(), "none");
  env_.Set("TENCENTCLOUD_SECRET_ID", "AKIDenv");
  env_.Set("TENCENTCLOUD_SECRET_KEY", "envkey");
  options.getenv = env_.Getenv();
  EXPECT_EQ(Chain(options)->Describe(), "env");
}

TEST_F(ChainTest, UnknownSourceNameIsAnError) {
  CredentialOptions options = Options();
  options.sources = {"env", "vault"};
  auto chain = MakeCredentialChain(options);
  ASSERT_FALSE(chain.ok());
  EXPECT_THAT(chain.status().message(), HasSubstr("\"vault\""));
}

TEST_F(ChainTest, CvmRoleOnlyWhenEnabled) {
  // The default order leaves the metadata service alone (a non-CVM host
  // would pay a connection timeout), so nothing is found here.
  CredentialOptions options = Options();
  options.metadata_url = "http://127.0.0.1:1/latest/meta-data/";
  EXPECT_EQ(Chain(options)->Describe(), "unavailable");
  options.use_metadata = true;
  EXPECT_EQ(Chain(options)->Describe(), "cvm-role");
}

}  // namespace
}  // namespace envelope::testing
