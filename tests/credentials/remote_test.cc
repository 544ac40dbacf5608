// Temporary credentials from real HTTP servers: the CVM role through the
// instance metadata service and TKE OIDC through STS, both played by
// fake_cloud.py. Expiries of a few seconds exercise refresh and expiry.
//
// Tests wait for what they look for (WaitFor), never for a fixed time. Where
// time is the point (a refresh must come before expiry), lifetimes leave
// seconds of margin for a loaded machine to be late by.
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/credentials/chain.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/credentials/test_support.h"

namespace envelope::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class RemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cloud_ = FakeCloud::Start();
    ASSERT_NE(cloud_, nullptr);
  }

  CredentialOptions Options() {
    CredentialOptions options = TestOptions(env_, log_);
    options.metadata_url = cloud_->metadata_url();
    options.sts_endpoint = cloud_->sts_url();
    options.refresh_before_expiry = absl::Seconds(2);
    options.retry_initial_backoff = absl::Milliseconds(100);
    options.retry_max_backoff = absl::Milliseconds(400);
    return options;
  }

  CredentialOptions CvmOptions() {
    CredentialOptions options = Options();
    options.sources = {"cvm-role"};
    return options;
  }

  // TKE_* as the TKE OIDC webhook injects them, the token in a file.
  CredentialOptions TkeOptions(const std::string& token) {
    tokens_.Write("token", token);
    env_.Set("TKE_REGION", "ap-guangzhou");
    env_.Set("TKE_PROVIDER_ID", "cls-provider");
    env_.Set("TKE_WEB_IDENTITY_TOKEN_FILE", tokens_.path() + "/token");
    env_.Set("TKE_ROLE_ARN", "qcs::cam::uin/100000000001:roleName/pod-role");
    return Options();
  }

  std::unique_ptr<CredentialSource> Chain(const CredentialOptions& options) {
    auto chain = MakeCredentialChain(options);
    EXPECT_TRUE(chain.ok()) << chain.status();
    return chain.ok() ? *std::move(chain) : nullptr;
  }

  static bool Ready(const CredentialSource& source) {
    return source.Get().ok();
  }

  static std::string IdOf(const CredentialSource& source) {
    auto credentials = source.Get();
    return credentials.ok() ? credentials->secret_id : "";
  }

  // The last request the fake saw, parsed.
  rapidjson::Document LastRequest() {
    rapidjson::Document state;
    state.Parse(cloud_->State().c_str());
    rapidjson::Document last;
    const rapidjson::Value& requests = state["requests"];
    if (requests.Size() > 0) {
      last.CopyFrom(requests[requests.Size() - 1], last.GetAllocator());
    }
    return last;
  }

  // The WebIdentityToken of the last request the fake saw; "" if none.
  std::string LastToken() {
    rapidjson::Document request = LastRequest();
    if (!request.IsObject() || !request.HasMember("body")) return "";
    rapidjson::Document body;
    body.Parse(request["body"].GetString());
    if (!body.IsObject() || !body.HasMember("WebIdentityToken")) return "";
    return body["WebIdentityToken"].GetString();
  }

  // Credentials of 5 to 6 s (the fake's expiry is in whole seconds),
  // refreshed 3 s ahead of it or half-way, whichever is later: a refresh
  // late by up to 2.5 s still comes before expiry.
  CredentialOptions ShortLivedCvmOptions() {
    cloud_->Control(R"({"ttl": 6})");
    CredentialOptions options = CvmOptions();
    options.refresh_before_expiry = absl::Seconds(3);
    return options;
  }

  std::unique_ptr<FakeCloud> cloud_;
  FakeEnv env_;
  LogCapture log_;
  TempDir tokens_;
};

TEST_F(RemoteTest, CvmRoleDiscoveryAndCredentials) {
  auto chain = Chain(CvmOptions());
  ASSERT_TRUE(WaitFor([&] { return Ready(*chain); }));
  auto credentials = chain->Get();
  EXPECT_EQ(credentials->secret_id, "AKIDtmp1");
  EXPECT_EQ(credentials->secret_key, "tmpkey1");
  EXPECT_EQ(credentials->session_token, "token1");
  EXPECT_GT(credentials->expiry, absl::Now() + absl::Minutes(59));
  EXPECT_EQ(chain->Describe(), "cvm-role:EnvelopeTestRole");
  std::string state = cloud_->State();
  EXPECT_THAT(state,
              HasSubstr("\"/latest/meta-data/cam/security-credentials/\""));
  EXPECT_THAT(
      state,
      HasSubstr(
          "\"/latest/meta-data/cam/security-credentials/EnvelopeTestRole\""));
}

TEST_F(RemoteTest, CvmRoleEnabledInTheDefaultOrder) {
  CredentialOptions options = Options();
  options.use_metadata = true;
  auto chain = Chain(options);
  EXPECT_TRUE(WaitFor([&] { return Ready(*chain); }));
}

TEST_F(RemoteTest, DefaultOrderLeavesTheMetadataServiceAlone) {
  auto chain = Chain(Options());
  EXPECT_EQ(chain->Describe(), "unavailable");
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(cloud_->RequestCount(), 0);
}

TEST_F(RemoteTest, CvmRoleRefreshedBeforeExpiry) {
  auto chain = Chain(ShortLivedCvmOptions());
  ASSERT_TRUE(WaitFor([&] { return Ready(*chain); }));
  // Every Get() until the third generation succeeds: each refresh came
  // before the credentials it replaced expired.
  std::set<std::string> ids;
  absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (ids.size() < 3 && absl::Now() < give_up) {
    absl::Time asked = absl::Now();
    auto credentials = chain->Get();
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    ASSERT_GT(credentials->expiry, asked);
    ids.insert(credentials->secret_id);
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(log_.Lines().empty());
}

TEST_F(RemoteTest, CvmConfiguredRoleSkipsDiscovery) {
  CredentialOptions options = CvmOptions();
  options.cvm_role = "EnvelopeTestRole";
  auto chain = Chain(options);
  ASSERT_TRUE(WaitFor([&] { return Ready(*chain); }));
  EXPECT_THAT(
      cloud_->State(),
      Not(HasSubstr("\"/latest/meta-data/cam/security-credentials/\"")));
  options.cvm_role = "bad/role";
  EXPECT_FALSE(MakeCredentialChain(options).ok());
}

TEST_F(RemoteTest, CvmWithoutRoleIsUnavailableAndLogsOnce) {
  cloud_->Control(R"({"role": ""})");
  auto chain = Chain(CvmOptions());
  ASSERT_TRUE(WaitFor([&] { return cloud_->RequestCount() >= 4; }));
  auto credentials = chain->Get();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(credentials.status().message(), HasSubstr("CAM role"));
  EXPECT_FALSE(CheckCredentials(*chain).ready);
  EXPECT_EQ(log_.Lines().size(), 1u);
  EXPECT_THAT(log_.Lines()[0], HasSubstr("no credentials yet"));
  // Binding a role ends the episode.
  cloud_->Control(R"({"role": "LateRole"})");
  ASSERT_TRUE(WaitFor([&] { return Ready(*chain); }));
  EXPECT_EQ(chain->Describe(), "cvm-role:LateRole");
  // The line comes just after the swap that made Ready() true.
  EXPECT_TRUE(WaitFor([&] { return log_.Count("refreshed again") == 1; }));
}

TEST_F(RemoteTest, RefreshFailureKeepsOldCredentialsUntilExpiry) {
  auto chain = Chain(ShortLivedCvmOptions());
  ASSERT_TRUE(WaitFor([&] { return Ready(*chain); }));
  cloud_->Control(R"({"fail": "http500"})");
  // Every fetch fails from now on. The credentials kept are the last ones
  // issued: a refresh may have been answered just before.
  const std::string kept = absl::StrCat("AKIDtmp", cloud_->Generation());
  ASSERT_TRUE(WaitFor([&] { return IdOf(*chain) == kept; }));
  auto first = chain->Get();
  ASSERT_TRUE(first.ok()) << first.status();
  // The old credentials serve through failed tries (the second try is only
  // sent once the first one's failure has been taken in)...
  const int requests = cloud_->RequestCount();
  ASSERT_TRUE(WaitFor([&] { return cloud_->RequestCount() >= requests + 2; }));
  auto late = chain->Get();
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->secret_id, kept);
  // ... until they expire, and not before.
  ASSERT_TRUE(WaitFor([&] { return !Ready(*chain); }));
  EXPECT_GE(absl::Now(), first->expiry);
  auto expired = chain->Get();
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(expired.status().message(), HasSubstr("expired"));
  EXPECT_THAT(expired.status().message(), HasSubstr("HTTP 500"));
  EXPECT_EQ(log_.Count("refresh failed"), 1);
  EXPECT_THAT(log_.Lines()[0], HasSubstr("keeping the current credentials"));
  // The service comes back: fresh credentials, one recovery line.
  cloud_->Control(R"({"fail": null, "ttl": 3600})");
  ASSERT_TRUE(WaitFor([&] { return Ready(*chain); }));
  EXPECT_TRUE(WaitFor([&] { return log_.Count("refreshed again") == 1; }));
  EXPECT_EQ(log_.Lines().size(), 2u);
  for (int i = 1; i <= cloud_->Generation(); ++i) {
    log_.ExpectNoSecret(absl::StrCat("tmpkey", i));
    log_.ExpectNoSecret(absl::StrCat("token", i));
  }
}

TEST_F(RemoteTest, CvmGarbageAnswerIsAClearError) {
  cloud_->Control(R"({"fail": "garbage"})");
  auto chain = Chain(CvmOptions());
  ASSERT_TRUE(WaitFor([&] { return log_.Lines().size() == 1; }));
  EXPECT_THAT(chain->Get().status().message(), HasSubstr("no JSON object"));
}

TEST_F(RemoteTest, TkeOidcAssumesTheRole) {
  auto chain = Chain(TkeOptions("jwt-one"));
  ASSERT_TRUE(WaitFor([&] { return Ready(*chain); }));
  EXPECT_EQ(chain->Describe(),
            "tke-oidc:qcs::cam::uin/100000000001:roleName/pod-role");
  auto credentials = chain->Get();
  EXPECT_EQ(credentials->secret_id, "AKIDtmp1");
  EXPECT_EQ(credentials->session_token, "token1");

  rapidjson::Document request = LastRequest();
  const rapidjson::Value& headers = request["headers"];
  EXPECT_STREQ(request["method"].GetString(), "POST");
  EXPECT_STREQ(headers["X-TC-Action"].GetString(), "AssumeRoleWithWebIdentity");
  EXPECT_STREQ(headers["X-TC-Version"].GetString(), "2018-08-13");
  EXPECT_STREQ(headers["X-TC-Region"].GetString(), "ap-guangzhou");
  EXPECT_STREQ(headers["Authorization"].GetString(), "SKIP");
  rapidjson::Document body;
  body.Parse(request["body"].GetString());
  EXPECT_STREQ(body["ProviderId"].GetString(), "cls-provider");
  EXPECT_STREQ(body["WebIdentityToken"].GetString(), "jwt-one");
  EXPECT_STREQ(body["RoleArn"].GetString(),
               "qcs::cam::uin/100000000001:roleName/pod-role");
  EXPECT_TRUE(absl::StartsWith(body["RoleSessionName"].GetString(),
                               "envelope-gateway-"));
  EXPECT_EQ(body["DurationSeconds"].GetInt(), 7200);
}

TEST_F(RemoteTest, TkeOidcWinsOverTheCvmRole) {
  CredentialOptions options = TkeOptions("jwt-one");
  options.use_metadata = true;
  EXPECT_THAT(Chain(options)->Describe(), HasSubstr("tke-oidc:"));
}

TEST_F(RemoteTest, TkeOidcRefreshReadsTheRotatedToken) {
  cloud_->Control(R"({"ttl": 3, "expected_token": "jwt-one"})");
  auto chain = Chain(TkeOptions("jwt-one"));
  ASSERT_TRUE(WaitFor([&] { return Ready(*chain); }));
  // The kubelet rotates the projected token (in one rename); the old token
  // stays valid a while, so STS takes both: a refresh that read the file
  // just before the rename is no failure.
  cloud_->Control(R"({"expected_token": ["jwt-one", "jwt-two"]})");
  tokens_.Replace("token", "jwt-two");
  ASSERT_TRUE(WaitFor([&] { return LastToken() == "jwt-two"; }));
  // Every refresh after that reads the new token: STS now refuses the old
  // one, and the next refresh is served.
  cloud_->Control(R"({"expected_token": "jwt-two"})");
  const int generation = cloud_->Generation();
  ASSERT_TRUE(WaitFor([&] {
    int now = cloud_->Generation();
    return now > generation && IdOf(*chain) == absl::StrCat("AKIDtmp", now);
  }));
  EXPECT_EQ(LastToken(), "jwt-two");
  EXPECT_TRUE(log_.Lines().empty());
}

TEST_F(RemoteTest, TkeOidcErrorNamesTheCodeButNotTheToken) {
  cloud_->Control(R"({"expected_token": "someone-else"})");
  auto chain = Chain(TkeOptions("jwt-secret-token"));
  ASSERT_TRUE(WaitFor([&] { return log_.Lines().size() == 1; }));
  auto credentials = chain->Get();
  ASSERT_FALSE(credentials.ok());
  std::string message(credentials.status().message());
  EXPECT_THAT(message, HasSubstr("InvalidParameter.WebIdentityTokenError"));
  EXPECT_THAT(message, HasSubstr("fake-request-id"));
  EXPECT_THAT(message, Not(HasSubstr("jwt-secret-token")));
  log_.ExpectNoSecret("jwt-secret-token");
}

TEST_F(RemoteTest, TkeOidcBrokenSettingsAreStartUpErrors) {
  CredentialOptions options = TkeOptions("jwt-one");
  env_.Set("TKE_ROLE_ARN", "");
  options.getenv = env_.Getenv();
  auto chain = MakeCredentialChain(options);
  ASSERT_FALSE(chain.ok());
  EXPECT_THAT(chain.status().message(), HasSubstr("TKE_ROLE_ARN"));

  options = TkeOptions("jwt-one");
  env_.Set("TKE_WEB_IDENTITY_TOKEN_FILE", tokens_.path() + "/absent");
  options.getenv = env_.Getenv();
  chain = MakeCredentialChain(options);
  ASSERT_FALSE(chain.ok());
  EXPECT_THAT(chain.status().message(), HasSubstr("absent"));

  options = TkeOptions("jwt-one");
  env_.Set("TKE_REGION", "ap-guangzhou\r\nX: y");
  options.getenv = env_.Getenv();
  EXPECT_FALSE(MakeCredentialChain(options).ok());
}

TEST_F(RemoteTest, DestructorAbortsAFetchInFlight) {
  cloud_->Control(R"({"delay": 30})");
  auto chain = Chain(CvmOptions());
  ASSERT_TRUE(WaitFor([&] { return cloud_->RequestCount() == 1; }));
  absl::Time start = absl::Now();
  chain.reset();
  // Not the 30 s the answer would take; the margin is for a loaded machine.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

}  // namespace
}  // namespace envelope::testing
