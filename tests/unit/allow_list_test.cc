#include "gateway/route/allow_list.h"

#include "gtest/gtest.h"

namespace envelope {
namespace {

TEST(GlobMatchTest, StarMatchesAnyRunElseCharactersMatchThemselves) {
  EXPECT_TRUE(GlobMatch("DescribeZones", "DescribeZones"));
  EXPECT_FALSE(GlobMatch("DescribeZones", "DescribeZone"));
  EXPECT_FALSE(GlobMatch("DescribeZone", "DescribeZones"));
  EXPECT_TRUE(GlobMatch("Describe*", "DescribeZones"));
  EXPECT_TRUE(GlobMatch("Describe*", "Describe"));
  EXPECT_FALSE(GlobMatch("Describe*", "RunInstances"));
  EXPECT_TRUE(GlobMatch("*Instances", "RunInstances"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "X"));
  // Backtracking: the first "b" after the star is not the one that matches.
  EXPECT_TRUE(GlobMatch("a*b", "aXbYb"));
  EXPECT_FALSE(GlobMatch("a*b", "aXbYc"));
  EXPECT_TRUE(GlobMatch("D*be*s", "DescribeZones"));
  // Case matters, as in the API's action names.
  EXPECT_FALSE(GlobMatch("describe*", "DescribeZones"));
}

TEST(AllowListTest, EmptyAllowsEverything) {
  AllowList list({});
  EXPECT_TRUE(list.Allows("cvm", "TerminateInstances"));
}

TEST(AllowListTest, EntriesWithAndWithoutAService) {
  AllowList list({"Describe*", "cvm:RunInstances", "tag:*"});
  EXPECT_TRUE(list.Allows("cvm", "DescribeZones"));
  EXPECT_TRUE(list.Allows("vpc", "DescribeVpcs"));
  EXPECT_TRUE(list.Allows("cvm", "RunInstances"));
  EXPECT_FALSE(list.Allows("vpc", "RunInstances"));
  EXPECT_TRUE(list.Allows("tag", "DeleteTag"));
  EXPECT_FALSE(list.Allows("cvm", "TerminateInstances"));
  EXPECT_FALSE(list.Allows("cvmx", "RunInstances"));
}

}  // namespace
}  // namespace envelope
