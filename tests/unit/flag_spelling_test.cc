// gateway/config/flag_spelling.h: how flags are spelled and the nearest
// known name to a typo.
#include "gateway/config/flag_spelling.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace envelope {
namespace {

const std::vector<std::string> kKnown = {"max_attempts", "listen", "region",
                                         "rate_limit", "rate_limit_burst"};

TEST(FlagSpellingTest, KeysAreSpelledWithDashes) {
  EXPECT_EQ(FlagSpelling("max_attempts"), "--max-attempts");
  EXPECT_EQ(FlagSpelling("max-attempts"), "--max-attempts");
}

TEST(NearestNameTest, FindsOneEditAway) {
  EXPECT_EQ(NearestName("max_attemps", kKnown), "max_attempts");  // deletion
  EXPECT_EQ(NearestName("regoin", kKnown), "region");  // two substitutions
  EXPECT_EQ(NearestName("rate-limit-burts", kKnown), "rate_limit_burst");
}

TEST(NearestNameTest, DashesAndUnderscoresAreAlike) {
  EXPECT_EQ(NearestName("max-attempts", kKnown), "max_attempts");
}

TEST(NearestNameTest, LongerOrShorterByUpToTheAllowanceStillMatches) {
  // Three letters more on a 12-letter name: within a third of its length.
  EXPECT_EQ(NearestName("max_attemptsxyz", kKnown), "max_attempts");
  EXPECT_EQ(NearestName("rate_limit_bur", kKnown), "rate_limit_burst");
}

TEST(NearestNameTest, PrefersTheNearerOfTwoCandidates) {
  EXPECT_EQ(NearestName("rate_limit_b", kKnown), "rate_limit");
  EXPECT_EQ(NearestName("rate_limit_burs", kKnown), "rate_limit_burst");
}

TEST(NearestNameTest, NothingNearGivesEmpty) {
  EXPECT_EQ(NearestName("zzzzzz", kKnown), "");
  EXPECT_EQ(NearestName("", kKnown), "");
  EXPECT_EQ(NearestName("listen", {}), "");
}

TEST(NearestNameTest, AVeryLongKeyIsNearNothing) {
  // A config file is outside input: a key of 100,000 letters is answered
  // (without a suggestion), not measured against every name.
  EXPECT_EQ(NearestName(std::string(100000, 'r'), kKnown), "");
  EXPECT_EQ(NearestName(std::string(100000, 'r') + "region", kKnown), "");
}

TEST(UnknownFlagMessageTest, SuggestsTheNearestFlag) {
  EXPECT_EQ(UnknownFlagMessage("max-attemps", kKnown),
            "unknown flag --max-attemps (did you mean --max-attempts?)");
  EXPECT_EQ(UnknownFlagMessage("zzzzzz", kKnown), "unknown flag --zzzzzz");
}

}  // namespace
}  // namespace envelope
