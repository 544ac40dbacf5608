#include "gateway/envelope/details.h"

#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/common/seed_codes.h"

namespace envelope {
namespace {

using C = absl::StatusCode;

ErrorContext Context() {
  ErrorContext context;
  context.service = "cvm";
  context.version = "2017-03-12";
  context.action = "DescribeInstances";
  context.region = "ap-guangzhou";
  context.retry_delay = absl::Milliseconds(1500);
  return context;
}

template <typename T>
int CountOf(const google::rpc::Status& status, T* out = nullptr) {
  int count = 0;
  for (const auto& any : status.details()) {
    if (any.Is<T>()) {
      ++count;
      if (out != nullptr) any.UnpackTo(out);
    }
  }
  return count;
}

TEST(DetailsTest, CommonDetailsOnEveryFailure) {
  google::rpc::Status status =
      BuildErrorStatus(C::kUnauthenticated, "AuthFailure.SignatureFailure",
                       "bad signature", "req-1", Context());
  EXPECT_EQ(status.code(), 16);
  EXPECT_EQ(status.message(), "bad signature");
  google::rpc::ErrorInfo info;
  ASSERT_EQ(CountOf(status, &info), 1);
  EXPECT_EQ(info.reason(), "AUTH_FAILURE_SIGNATURE_FAILURE");
  EXPECT_EQ(info.domain(), "tencentcloudapi.com");
  EXPECT_EQ(info.metadata().at("code"), "AuthFailure.SignatureFailure");
  EXPECT_EQ(info.metadata().at("service"), "cvm");
  EXPECT_EQ(info.metadata().at("version"), "2017-03-12");
  EXPECT_EQ(info.metadata().at("action"), "DescribeInstances");
  EXPECT_EQ(info.metadata().at("region"), "ap-guangzhou");
  google::rpc::RequestInfo request;
  ASSERT_EQ(CountOf(status, &request), 1);
  EXPECT_EQ(request.request_id(), "req-1");
  google::rpc::LocalizedMessage localized;
  ASSERT_EQ(CountOf(status, &localized), 1);
  EXPECT_EQ(localized.locale(), "en-US");
  EXPECT_EQ(localized.message(), "bad signature");
  EXPECT_EQ(status.details_size(), 3);
}

TEST(DetailsTest, RegionOmittedWhenNotSetAndLocaleFollowsTheRequest) {
  ErrorContext context = Context();
  context.region.clear();
  context.language = "zh-CN";
  context.domain = "api.example.com";
  google::rpc::Status status =
      BuildErrorStatus(C::kInternal, "InternalError", "m", "r", context);
  google::rpc::ErrorInfo info;
  CountOf(status, &info);
  EXPECT_EQ(info.metadata().count("region"), 0u);
  EXPECT_EQ(info.domain(), "api.example.com");
  google::rpc::LocalizedMessage localized;
  CountOf(status, &localized);
  EXPECT_EQ(localized.locale(), "zh-CN");
}

TEST(DetailsTest, RetryInfoForRequestLimitExceeded) {
  for (const char* code :
       {"RequestLimitExceeded", "RequestLimitExceeded.UinLimitExceeded"}) {
    google::rpc::RetryInfo retry;
    auto status = BuildErrorStatus(C::kResourceExhausted, code, "slow down",
                                   "r", Context());
    ASSERT_EQ(CountOf(status, &retry), 1) << code;
    EXPECT_EQ(retry.retry_delay().seconds(), 1);
    EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
    EXPECT_EQ(CountOf<google::rpc::QuotaFailure>(status), 0);
  }
}

TEST(DetailsTest, QuotaFailureForQuotaFamilies) {
  for (const char* code : {"LimitExceeded", "LimitExceeded.CvmQuota",
                           "ResourceInsufficient", "ResourcesSoldOut.X"}) {
    google::rpc::QuotaFailure quota;
    auto status = BuildErrorStatus(C::kResourceExhausted, code, "quota gone",
                                   "r", Context());
    ASSERT_EQ(CountOf(status, &quota), 1) << code;
    ASSERT_EQ(quota.violations_size(), 1);
    EXPECT_EQ(quota.violations(0).subject(), "cvm:DescribeInstances");
    EXPECT_EQ(quota.violations(0).description(), "quota gone");
  }
}

TEST(DetailsTest, BadRequestNamesTheFieldTheMessageNames) {
  google::rpc::BadRequest bad;
  auto status = BuildErrorStatus(
      C::kInvalidArgument, "InvalidParameterValue.Limit",
      "The value `1000` of parameter `Limit` is out of range.", "r", Context());
  ASSERT_EQ(CountOf(status, &bad), 1);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "Limit");
  for (const char* code :
       {"InvalidParameter", "MissingParameter", "UnknownParameter.X"}) {
    auto s = BuildErrorStatus(C::kInvalidArgument, code, "no field here", "r",
                              Context());
    google::rpc::BadRequest b;
    ASSERT_EQ(CountOf(s, &b), 1) << code;
    EXPECT_EQ(b.field_violations(0).field(), "");
    EXPECT_EQ(b.field_violations(0).description(), "no field here");
  }
}

TEST(DetailsTest, ResourceInfoForResourceNotFound) {
  google::rpc::ResourceInfo resource;
  auto status =
      BuildErrorStatus(C::kNotFound, "ResourceNotFound.InstanceNotExist",
                       "The instance `ins-1` does not exist.", "r", Context());
  ASSERT_EQ(CountOf(status, &resource), 1);
  EXPECT_EQ(resource.resource_type(), "InstanceNotExist");
  EXPECT_EQ(resource.resource_name(), "ins-1");
  auto plain = BuildErrorStatus(C::kNotFound, "ResourceNotFound", "gone", "r",
                                Context());
  ASSERT_EQ(CountOf(plain, &resource), 1);
  EXPECT_EQ(resource.resource_type(), "cvm");
}

TEST(DetailsTest, EachSeedCodeGetsExactlyItsFamilyDetail) {
  for (const auto& seed : testing::SeedCodes()) {
    if (seed.status == C::kOk) continue;
    auto status = BuildErrorStatus(seed.status, seed.code, "m", "r", Context());
    int expected = std::string(seed.family).empty() ? 3 : 4;
    EXPECT_EQ(status.details_size(), expected) << seed.code;
    if (expected == 4) {
      EXPECT_EQ(status.details(3).type_url(),
                std::string("type.googleapis.com/") + seed.family)
          << seed.code;
    }
  }
}

TEST(FieldNamedInTest, FindsApiMembers) {
  EXPECT_EQ(FieldNamedIn("missing parameter `InstanceIds`"), "InstanceIds");
  EXPECT_EQ(FieldNamedIn("value 'abc' of `Filters.0.Name` is bad"),
            "Filters.0.Name");
  EXPECT_EQ(FieldNamedIn("id `ins-123` is bad"), "");
  EXPECT_EQ(FieldNamedIn("no quotes at all"), "");
  EXPECT_EQ(FieldNamedIn("unterminated `Limit"), "");
}

}  // namespace
}  // namespace envelope
