#include "gateway/envelope/status_table.h"

#include "gtest/gtest.h"
#include "tests/common/seed_codes.h"

namespace envelope {
namespace {

using C = absl::StatusCode;

TEST(StatusTableTest, EverySeedCodeMapsAsTheSpecSays) {
  StatusTable table = StatusTable::Default();
  ASSERT_EQ(testing::SeedCodes().size(), 26u);
  for (const auto& seed : testing::SeedCodes()) {
    EXPECT_EQ(table.Lookup(seed.code), seed.status) << seed.code;
  }
}

TEST(StatusTableTest, SubCodesTakeTheirLongestPrefix) {
  StatusTable table = StatusTable::Default();
  EXPECT_EQ(table.Lookup("ResourceNotFound.InstanceNotExist"), C::kNotFound);
  EXPECT_EQ(table.Lookup("AuthFailure.Something.New"), C::kUnauthenticated);
  EXPECT_EQ(table.Lookup("AuthFailure.UnauthorizedOperation.Sub"),
            C::kPermissionDenied);
  EXPECT_EQ(table.Lookup("InvalidParameterValue.Limit"), C::kInvalidArgument);
  EXPECT_EQ(table.Lookup("LimitExceeded.CvmQuota"), C::kResourceExhausted);
  EXPECT_EQ(table.Lookup("ResourcesSoldOut.SpecifiedInstanceType"),
            C::kResourceExhausted);
  EXPECT_EQ(table.Lookup("OperationDenied.InstanceLocked"),
            C::kPermissionDenied);
  EXPECT_EQ(table.Lookup("FailedOperation.X.Y.Z"), C::kFailedPrecondition);
  EXPECT_EQ(table.Lookup("DryRunOperation"), C::kOk);
}

TEST(StatusTableTest, PrefixMatchIsByWholeDottedSegments) {
  StatusTable table = StatusTable::Default();
  // "ResourceNotFoundX" is not under "ResourceNotFound".
  EXPECT_EQ(table.Lookup("ResourceNotFoundX"), C::kUnknown);
  EXPECT_EQ(table.Lookup("AuthFailureX.Y"), C::kUnknown);
}

TEST(StatusTableTest, UnknownCodesAreUnknown) {
  StatusTable table = StatusTable::Default();
  EXPECT_EQ(table.Lookup("SomethingNew"), C::kUnknown);
  EXPECT_EQ(table.Lookup("Foo.Bar"), C::kUnknown);
  EXPECT_EQ(table.Lookup(""), C::kUnknown);
  EXPECT_EQ(table.Lookup("."), C::kUnknown);
}

TEST(StatusTableTest, OverridesByExactCodeAndByPrefix) {
  StatusTable table = StatusTable::Default();
  table.Set("ResourceInUse", C::kAborted);
  table.Set("ResourceNotFound.InstanceNotExist", C::kFailedPrecondition);
  table.Set("MyCompany", C::kAlreadyExists);
  EXPECT_EQ(table.Lookup("ResourceInUse"), C::kAborted);
  EXPECT_EQ(table.Lookup("ResourceInUse.Sub"), C::kAborted);
  EXPECT_EQ(table.Lookup("ResourceNotFound.InstanceNotExist"),
            C::kFailedPrecondition);
  EXPECT_EQ(table.Lookup("ResourceNotFound.Other"), C::kNotFound);
  EXPECT_EQ(table.Lookup("MyCompany.Duplicate"), C::kAlreadyExists);
}

TEST(StatusTableTest, TheAnythingElseRowCanBeOverridden) {
  StatusTable table = StatusTable::Default();
  EXPECT_EQ(table.Lookup("Vendor.Weird"), C::kUnknown);
  table.Set(StatusTable::kAnyOtherCode, C::kInternal);
  EXPECT_EQ(table.Lookup("Vendor.Weird"), C::kInternal);
  EXPECT_EQ(table.Lookup(""), C::kInternal);
  // Rows still win over it.
  EXPECT_EQ(table.Lookup("ResourceNotFound.X"), C::kNotFound);
  EXPECT_EQ(table.Lookup("DryRunOperation"), C::kOk);
}

TEST(StatusTableTest, ParsesCanonicalCodeNames) {
  absl::StatusCode code;
  ASSERT_TRUE(ParseStatusCodeName("NOT_FOUND", &code));
  EXPECT_EQ(code, C::kNotFound);
  ASSERT_TRUE(ParseStatusCodeName("unavailable", &code));
  EXPECT_EQ(code, C::kUnavailable);
  ASSERT_TRUE(ParseStatusCodeName("OK", &code));
  EXPECT_EQ(code, C::kOk);
  EXPECT_FALSE(ParseStatusCodeName("NOPE", &code));
  EXPECT_FALSE(ParseStatusCodeName("", &code));
}

}  // namespace
}  // namespace envelope
