#include "gateway/envelope/reason.h"

#include <regex>

#include "gtest/gtest.h"
#include "tests/common/seed_codes.h"

namespace envelope {
namespace {

TEST(ErrorReasonTest, ConvertsToUpperSnakeCase) {
  EXPECT_EQ(ErrorReason("AuthFailure.SignatureFailure"),
            "AUTH_FAILURE_SIGNATURE_FAILURE");
  EXPECT_EQ(ErrorReason("ResourceNotFound.InstanceNotExist"),
            "RESOURCE_NOT_FOUND_INSTANCE_NOT_EXIST");
  EXPECT_EQ(ErrorReason("InternalError"), "INTERNAL_ERROR");
  EXPECT_EQ(ErrorReason("DryRunOperation"), "DRY_RUN_OPERATION");
}

TEST(ErrorReasonTest, KeepsAcronymsTogether) {
  EXPECT_EQ(ErrorReason("AuthFailure.MFAFailure"), "AUTH_FAILURE_MFA_FAILURE");
  EXPECT_EQ(ErrorReason("InvalidParameterValue.VPCIdMalformed"),
            "INVALID_PARAMETER_VALUE_VPC_ID_MALFORMED");
  EXPECT_EQ(ErrorReason("UnsupportedOperation.HTTPSNotSupported"),
            "UNSUPPORTED_OPERATION_HTTPS_NOT_SUPPORTED");
}

TEST(ErrorReasonTest, EverySeedCodeGivesAValidReason) {
  const std::regex valid("[A-Z][A-Z0-9_]*[A-Z0-9]");
  for (const auto& seed : testing::SeedCodes()) {
    std::string reason = ErrorReason(seed.code);
    EXPECT_TRUE(std::regex_match(reason, valid)) << seed.code << " " << reason;
    EXPECT_LE(reason.size(), 63u);
    EXPECT_EQ(reason.find("__"), std::string::npos) << reason;
  }
}

TEST(ErrorReasonTest, LongCodesAreCutTo63WithoutTrailingUnderscore) {
  std::string code =
      "FailedOperation.AVeryLongSubCodeThatKeepsGoing.AndGoing"
      "AndGoingUntilItIsFarTooLong";
  std::string reason = ErrorReason(code);
  EXPECT_LE(reason.size(), 63u);
  EXPECT_NE(reason.back(), '_');
  EXPECT_EQ(reason.rfind("FAILED_OPERATION_A_VERY_LONG", 0), 0u);
}

TEST(ErrorReasonTest, OddInputStaysValid) {
  EXPECT_EQ(ErrorReason(""), "UNKNOWN");
  EXPECT_EQ(ErrorReason("..."), "UNKNOWN");
  EXPECT_EQ(ErrorReason("1abc"), "ABC");
  EXPECT_EQ(ErrorReason("a-b c"), "A_B_C");
}

}  // namespace
}  // namespace envelope
