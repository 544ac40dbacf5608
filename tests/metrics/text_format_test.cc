#include "gateway/metrics/text_format.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gateway/metrics/names.h"
#include "gtest/gtest.h"

namespace envelope::metrics {
namespace {

TEST(FormatValueTest, IntegersHaveNoExponentOrFraction) {
  EXPECT_EQ(FormatValue(0.0), "0");
  EXPECT_EQ(FormatValue(-0.0), "0");
  EXPECT_EQ(FormatValue(42.0), "42");
  EXPECT_EQ(FormatValue(-3.0), "-3");
  EXPECT_EQ(FormatValue(1e15), "1000000000000000");
  EXPECT_EQ(FormatValue(uint64_t{18446744073709551615u}),
            "18446744073709551615");
}

TEST(FormatValueTest, FractionsRoundTrip) {
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  for (double v : {0.1 + 0.2, 1e-7, 123456.789, 1e300, 1e20}) {
    EXPECT_EQ(std::stod(FormatValue(v)), v) << FormatValue(v);
  }
}

TEST(FormatValueTest, SpecialValues) {
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(EscapeTest, Help) { EXPECT_EQ(EscapeHelp("a\\b\nc\"d"), "a\\\\b\\nc\"d"); }

TEST(EscapeTest, LabelValue) {
  EXPECT_EQ(EscapeLabelValue("a\\b\nc\"d"), "a\\\\b\\nc\\\"d");
}

TEST(SanitizeUtf8Test, KeepsValidReplacesInvalid) {
  EXPECT_EQ(SanitizeUtf8("plain"), "plain");
  EXPECT_EQ(SanitizeUtf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80");
  EXPECT_EQ(SanitizeUtf8("a\xFFz"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(SanitizeUtf8("\xC3"), "\xEF\xBF\xBD");                  // truncated
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"),                           // surrogate
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(AppendSampleTest, WithAndWithoutLabels) {
  std::string out;
  AppendSample("m", {}, {}, "", "", "1", &out);
  const std::vector<std::string> names = {"a", "b"};
  const std::vector<std::string> values = {"x\"", ""};
  AppendSample("m", names, values, "", "", "2", &out);
  AppendSample("m_bucket", names, values, "le", "+Inf", "3", &out);
  AppendSample("m_bucket", {}, {}, "le", "0.5", "4", &out);
  EXPECT_EQ(out,
            "m 1\n"
            "m{a=\"x\\\"\",b=\"\"} 2\n"
            "m_bucket{a=\"x\\\"\",b=\"\",le=\"+Inf\"} 3\n"
            "m_bucket{le=\"0.5\"} 4\n");
}

TEST(NamesTest, MetricNames) {
  EXPECT_TRUE(ValidateMetricName("envelope_calls_total").ok());
  EXPECT_TRUE(ValidateMetricName("_x9").ok());
  EXPECT_FALSE(ValidateMetricName("").ok());
  EXPECT_FALSE(ValidateMetricName("9x").ok());
  EXPECT_FALSE(ValidateMetricName("a-b").ok());
  EXPECT_FALSE(ValidateMetricName("a:b").ok());
  EXPECT_FALSE(ValidateMetricName("__x").ok());
  EXPECT_FALSE(ValidateMetricName("caf\xC3\xA9").ok());
}

TEST(NamesTest, LabelNames) {
  EXPECT_TRUE(ValidateLabelName("grpc_code").ok());
  EXPECT_FALSE(ValidateLabelName("").ok());
  EXPECT_FALSE(ValidateLabelName("__name__").ok());
  EXPECT_FALSE(ValidateLabelName("a.b").ok());
  EXPECT_FALSE(ValidateLabelName("1a").ok());
}

}  // namespace
}  // namespace envelope::metrics
