#include "gateway/metrics/series.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gateway/metrics/exposition.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace envelope::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(BoundedValuesTest, KeepsTheFirstValuesThenFoldsIntoOther) {
  BoundedValues values(2);
  EXPECT_EQ(values.Admit("a"), "a");
  EXPECT_EQ(values.Admit("b"), "b");
  EXPECT_EQ(values.Admit("c"), "other");
  // Admitted values stay admitted.
  EXPECT_EQ(values.Admit("a"), "a");
  EXPECT_EQ(values.Admit("b"), "b");
  EXPECT_EQ(values.Admit("c"), "other");
}

TEST(BoundedValuesTest, EmptyAndOtherUseNoSlot) {
  BoundedValues values(1);
  EXPECT_EQ(values.Admit(""), "");
  EXPECT_EQ(values.Admit("other"), "other");
  EXPECT_EQ(values.Admit("x"), "x");
  EXPECT_EQ(values.Admit("y"), "other");
  EXPECT_EQ(values.Admit(""), "");
}

TEST(BoundedValuesTest, NonUtf8BecomesOtherWithoutTakingASlot) {
  BoundedValues values(1);
  EXPECT_EQ(values.Admit("bad\xff"), "other");
  EXPECT_EQ(values.Admit("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(BoundedValuesTest, ConcurrentAdmitsKeepTheCap) {
  BoundedValues values(10);
  std::vector<std::thread> threads;
  std::vector<std::vector<std::string>> seen(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        seen[t].emplace_back(values.Admit(std::to_string(i)));
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct;
  for (const auto& s : seen) distinct.insert(s.begin(), s.end());
  distinct.erase("other");
  EXPECT_EQ(distinct.size(), 10u);
}

TEST(IsUtf8Test, AcceptsUtf8RefusesTheRest) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("ResourceNotFound.InstanceNotExist"));
  EXPECT_TRUE(IsUtf8("\xe4\xb8\xad\xf0\x9f\x98\x80"));  // 中 and an emoji
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));                     // overlong '/'
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));                 // a surrogate
  EXPECT_FALSE(IsUtf8("\xf4\x90\x80\x80"));             // above U+10FFFF
  EXPECT_FALSE(IsUtf8("\xe4\xb8"));                     // cut short
  EXPECT_FALSE(IsUtf8("\x80"));
}

TEST(SeriesTest, RefusesWhatPrometheusRefuses) {
  prometheus::Registry registry;
  EXPECT_FALSE(
      Series<prometheus::Counter>::Register(registry, "calls", "h", {}).ok())
      << "a counter without _total";
  EXPECT_FALSE(
      Series<prometheus::Gauge>::Register(registry, "1bad", "h", {}).ok());
  EXPECT_FALSE(
      Series<prometheus::Gauge>::Register(registry, "g", "h", {"bad-label"})
          .ok());
  EXPECT_FALSE(
      Series<prometheus::Gauge>::Register(registry, "g", "h", {"a", "a"}).ok());
  EXPECT_FALSE(Series<prometheus::Histogram>::Register(registry, "h_seconds",
                                                       "h", {"le"}, {1})
                   .ok());
  EXPECT_FALSE(Series<prometheus::Histogram>::Register(registry, "h_seconds",
                                                       "h", {}, {1, 1})
                   .ok());
  ASSERT_TRUE(
      Series<prometheus::Gauge>::Register(registry, "taken", "h", {}).ok());
  const auto again =
      Series<prometheus::Counter>::Register(registry, "taken", "h", {});
  // prometheus-cpp 1.0 refuses a name taken by another type by throwing:
  // reported as a status instead.
  EXPECT_EQ(again.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SeriesTest, OneChildPerLabelValuesAndWrongCountsRefused) {
  prometheus::Registry registry;
  auto calls = Series<prometheus::Counter>::Register(registry, "calls_total",
                                                     "Calls.", {"a", "b"});
  ASSERT_TRUE(calls.ok()) << calls.status();
  prometheus::Counter* x = (*calls)->With({"1", "2"});
  ASSERT_NE(x, nullptr);
  EXPECT_EQ((*calls)->With({"1", "2"}), x);
  // Joined naively, "1:2" + "" and "1" + ":2" would be one key.
  EXPECT_NE((*calls)->With({"12", ""}), x);
  EXPECT_NE((*calls)->With({"1", "2", "3"}), x);
  EXPECT_EQ((*calls)->With({"1"}), nullptr);
  x->Increment(3);
  const prometheus::Collectable* sources[] = {&registry};
  const absl::StatusOr<std::string> text = Render(sources);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("calls_total{a=\"1\",b=\"2\"} 3\n"));
}

TEST(RenderTest, FamiliesSortedByNameAcrossSources) {
  prometheus::Registry registry;
  auto b = Series<prometheus::Gauge>::Register(registry, "b_value", "B.", {});
  ASSERT_TRUE(b.ok());
  (*b)->With({})->Set(2);
  CallbackCollectable computed([] {
    std::vector<prometheus::MetricFamily> out;
    out.push_back(
        OneValue("c_total", "C.", prometheus::MetricType::Counter, 7));
    out.push_back(OneValue("a_value", "A.", prometheus::MetricType::Gauge, 1));
    return out;
  });
  const prometheus::Collectable* sources[] = {&registry, &computed};
  const absl::StatusOr<std::string> text = Render(sources);
  ASSERT_TRUE(text.ok());
  const size_t a = text->find("# HELP a_value");
  const size_t bpos = text->find("# HELP b_value");
  const size_t c = text->find("# HELP c_total");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(bpos, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, bpos);
  EXPECT_LT(bpos, c);
  EXPECT_THAT(*text, HasSubstr("# TYPE c_total counter\nc_total 7\n"));
}

TEST(RenderTest, FamilyWithoutChildrenIsLeftOut) {
  prometheus::Registry registry;
  ASSERT_TRUE(Series<prometheus::Counter>::Register(registry, "none_total",
                                                    "Never used.", {"x"})
                  .ok());
  const prometheus::Collectable* sources[] = {&registry};
  const absl::StatusOr<std::string> text = Render(sources);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, Not(HasSubstr("none_total")));
}

}  // namespace
}  // namespace envelope::metrics
