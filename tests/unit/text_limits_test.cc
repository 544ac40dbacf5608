#include "gateway/envelope/text_limits.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

TEST(Utf8PrefixTest, NeverCutsInsideACharacter) {
  EXPECT_EQ(Utf8Prefix("h\xc3\xa9llo", 2), "h");
  EXPECT_EQ(Utf8Prefix("h\xc3\xa9llo", 3), "h\xc3\xa9");
  EXPECT_EQ(Utf8Prefix("abc", 10), "abc");
  EXPECT_EQ(Utf8Prefix("\xe4\xb8\xad", 2), "");
}

TEST(TruncatedTest, BoundedWithMarker) {
  EXPECT_EQ(Truncated("short", 20), "short");
  const std::string cut = Truncated(std::string(1000, 'x'), 20);
  EXPECT_EQ(cut, "xxxxxx...(truncated)");
  EXPECT_EQ(cut.size(), 20u);
  EXPECT_EQ(Truncated(std::string(100, 'x'), 5), "xxxxx");
}

TEST(MetadataValueTest, PrintableAsciiOnlyAndBounded) {
  EXPECT_EQ(MetadataValue("id\r\n1"), "id%0D%0A1");
  EXPECT_EQ(MetadataValue(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(MetadataValue("100%"), "100%25");
  EXPECT_EQ(MetadataValue("\xe5\x8c\x97"), "%E5%8C%97");
  const std::string plain(kMaxMetadataValue, 'r');
  EXPECT_EQ(MetadataValue(plain), plain);
  for (const std::string& input :
       {std::string(10000, 'r'), std::string(10000, '\n'),
        std::string(kMaxMetadataValue - 1, 'r') + "\n"}) {
    const std::string value = MetadataValue(input);
    EXPECT_LE(value.size(), kMaxMetadataValue);
    EXPECT_TRUE(absl::EndsWith(value, kTruncatedMarker)) << value;
    for (char c : value) EXPECT_TRUE(c >= 0x20 && c <= 0x7E);
    // Never a dangling escape before the marker.
    const size_t marker = value.size() - kTruncatedMarker.size();
    EXPECT_TRUE(marker < 3 || value[marker - 1] != '%') << value;
    EXPECT_TRUE(marker < 3 || value[marker - 2] != '%') << value;
  }
}

}  // namespace
}  // namespace envelope
