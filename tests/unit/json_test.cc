#include "gateway/json/json.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace envelope::json {
namespace {

TEST(ParseTest, NestingUpToTheLimitParses) {
  const std::string ok =
      std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']');
  EXPECT_TRUE(Parse(ok).ok());
  const std::string deep =
      std::string(kMaxDepth + 1, '[') + std::string(kMaxDepth + 1, ']');
  absl::StatusOr<Document> doc = Parse(deep);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("nested deeper"), std::string::npos)
      << doc.status();
}

TEST(ParseTest, MillionsOfOpenBracketsDoNotRecurse) {
  EXPECT_FALSE(Parse(std::string(1 << 20, '[')).ok());
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_FALSE(Parse(objects).ok());
}

TEST(ParseTest, InvalidUtf8AndLoneSurrogatesAreRefused) {
  for (const char* text : {"\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"",
                           R"("\udc00")", R"("\ud800")", R"("\ud800x")"}) {
    EXPECT_FALSE(Parse(text).ok()) << text;
  }
  EXPECT_TRUE(Parse(R"("\ud83d\ude00 \u00e9")").ok());
}

TEST(ParseTest, NumbersAreExactOrRefused) {
  struct Case {
    const char* text;
    double value;
  } cases[] = {
      {"8.0555555555555555555555555555510154277e-0332", 0.0},
      {"1.00000000000000000000000000000000000001e-340", 0.0},
      {"0e-261", 0.0},
      {"0.1", 0.1},
      {"2.2250738585072011e-308", 2.2250738585072011e-308},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Document> doc = Parse(c.text);
    ASSERT_TRUE(doc.ok()) << c.text;
    EXPECT_EQ(doc->root().get_double().value(), c.value) << c.text;
  }
  // Beyond 64 bits or beyond double: refused, not changed.
  for (const char* text : {"18446744073709551616", "1e400", "-1e400"}) {
    EXPECT_FALSE(Parse(text).ok()) << text;
  }
  absl::StatusOr<Document> big = Parse("18446744073709551615");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->root().get_uint64().value(), 18446744073709551615u);
}

TEST(ParseTest, RepeatedNamesAreRefusedAtAnyDepth) {
  EXPECT_FALSE(Parse(R"({"a":1,"a":2})").ok());
  EXPECT_FALSE(Parse(R"({"a":1,"\u0061":2})").ok());  // same once unescaped
  EXPECT_FALSE(Parse(R"([{"x":{"b":1,"b":1}}])").ok());
  std::string wide = "{";
  for (int i = 0; i < 100; ++i) wide += "\"k" + std::to_string(i) + "\":0,";
  EXPECT_TRUE(Parse(wide + "\"z\":0}").ok());
  EXPECT_FALSE(Parse(wide + "\"k42\":0}").ok());
  EXPECT_TRUE(Parse(R"({"a":{"a":{"a":1}}})").ok());
}

// Every size of object (the checks differ by size), with names that share
// their length and first and last 8 bytes, which the check hashes.
TEST(ParseTest, RepeatedNamesAreFoundInObjectsOfEverySize) {
  for (int members : {2, 3, 4, 5, 16, 17, 64, 128, 129, 1000}) {
    SCOPED_TRACE(members);
    std::string object = "{";
    for (int i = 0; i < members; ++i) {
      const std::string middle = absl::StrCat(i % 10, i / 10 % 10, i / 100);
      object += absl::StrCat("\"InstanceN", middle, "ameSuffix\":", i, ",");
    }
    EXPECT_TRUE(Parse(object + "\"z\":0}").ok());
    EXPECT_FALSE(Parse(object + "\"InstanceN000ameSuffix\":0}").ok());
    const std::string last = absl::StrCat(
        (members - 1) % 10, (members - 1) / 10 % 10, (members - 1) / 100);
    EXPECT_FALSE(
        Parse(absl::StrCat(object, "\"InstanceN", last, "ameSuffix\":0}"))
            .ok());
  }
}

TEST(SameNameTest, AgreesWithStringEqualityAtEveryLength) {
  for (size_t size = 0; size <= 20; ++size) {
    const std::string a(size, 'n');
    EXPECT_TRUE(SameName(a, std::string(size, 'n'))) << size;
    EXPECT_FALSE(SameName(a, std::string(size + 1, 'n'))) << size;
    for (size_t at = 0; at < size; ++at) {
      std::string b = a;
      b[at] = 'm';  // one byte differs, first, middle or last
      EXPECT_FALSE(SameName(a, b)) << size << " " << at;
    }
  }
}

TEST(ParseObjectTest, OnlyObjects) {
  EXPECT_TRUE(ParseObject("{}").ok());
  absl::StatusOr<Document> doc = ParseObject("[]");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("not a JSON object (a array)"),
            std::string::npos)
      << doc.status();
}

TEST(MemberTest, NamesCompareUnescaped) {
  absl::StatusOr<Document> doc =
      Parse(R"({"Resp\u006fnse":{"RequestId":"r"},"n":1})");
  ASSERT_TRUE(doc.ok());
  std::optional<Element> response = Member(doc->root(), "Response");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(StringMember(*response, "RequestId"), "r");
  EXPECT_EQ(StringMember(doc->root(), "n"), "");  // not a string
  EXPECT_FALSE(Member(doc->root(), "missing").has_value());
  EXPECT_STREQ(KindOf(doc->root()), "object");
}

TEST(FindMemberTextTest, RawTextOfTopLevelMembers) {
  const std::string json =
      R"({"A": "x", "B": "}\"Response", "Response": [1, {"x": "]"}]})";
  EXPECT_EQ(FindMemberText(json, "Response"), R"([1, {"x": "]"}])");
  EXPECT_EQ(FindMemberText(json, "B"), R"("}\"Response")");
  EXPECT_EQ(FindMemberText(json, "Missing"), "");
  EXPECT_EQ(FindMemberText(R"({"n": -1.5e3, "m": true})", "n"), "-1.5e3");
  // The same member json::Member finds, escaped or not.
  EXPECT_EQ(FindMemberText(R"({"Resp\u006fnse": {"a": 1}})", "Response"),
            R"({"a": 1})");
}

}  // namespace
}  // namespace envelope::json
