#include "gateway/metrics/registry.h"

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace envelope::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RegistryTest, RendersGolden) {
  Registry registry;
  absl::StatusOr<CounterFamily*> calls =
      registry.AddCounter({.name = "calls_total",
                           .help = "Calls by method and code.",
                           .labels = {"method", "code"}});
  ASSERT_TRUE(calls.ok()) << calls.status();
  (*calls)->WithLabels({"/b.S/M", "OK"})->Increment(2);
  (*calls)->WithLabels({"/a.S/M", "OK"})->Increment();
  (*calls)->WithLabels({"/a.S/M", "INTERNAL"})->Increment(5);

  absl::StatusOr<GaugeFamily*> temp =
      registry.AddGauge({.name = "a_temperature", .help = "Degrees."});
  ASSERT_TRUE(temp.ok());
  (*temp)->WithLabels({})->Set(21.5);

  absl::StatusOr<HistogramFamily*> latency = registry.AddHistogram(
      {.name = "latency_seconds", .help = "Latency.", .labels = {"method"}},
      {0.1, 1});
  ASSERT_TRUE(latency.ok());
  (*latency)->WithLabels({"/a.S/M"})->Observe(0.5);

  EXPECT_EQ(registry.Render(),
            "# HELP a_temperature Degrees.\n"
            "# TYPE a_temperature gauge\n"
            "a_temperature 21.5\n"
            "# HELP calls_total Calls by method and code.\n"
            "# TYPE calls_total counter\n"
            "calls_total{method=\"/a.S/M\",code=\"INTERNAL\"} 5\n"
            "calls_total{method=\"/a.S/M\",code=\"OK\"} 1\n"
            "calls_total{method=\"/b.S/M\",code=\"OK\"} 2\n"
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{method=\"/a.S/M\",le=\"0.1\"} 0\n"
            "latency_seconds_bucket{method=\"/a.S/M\",le=\"1\"} 1\n"
            "latency_seconds_bucket{method=\"/a.S/M\",le=\"+Inf\"} 1\n"
            "latency_seconds_sum{method=\"/a.S/M\"} 0.5\n"
            "latency_seconds_count{method=\"/a.S/M\"} 1\n");
}

TEST(RegistryTest, UnlabelledFamiliesShowZeroBeforeFirstUse) {
  Registry registry;
  ASSERT_TRUE(registry.AddCounter({.name = "x_total", .help = "X."}).ok());
  ASSERT_TRUE(
      registry.AddHistogram({.name = "h_seconds", .help = "H."}, {1}).ok());
  ASSERT_TRUE(
      registry.AddGauge({.name = "g", .help = "G.", .labels = {"l"}}).ok());
  EXPECT_EQ(registry.Render(),
            "# HELP g G.\n# TYPE g gauge\n"
            "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"1\"} 0\n"
            "h_seconds_bucket{le=\"+Inf\"} 0\n"
            "h_seconds_sum 0\n"
            "h_seconds_count 0\n"
            "# HELP x_total X.\n# TYPE x_total counter\n"
            "x_total 0\n");
}

TEST(RegistryTest, EscapesHelpAndLabelValues) {
  Registry registry;
  auto family = registry.AddGauge(
      {.name = "g", .help = "line\\one\nline \"two\"", .labels = {"v"}});
  ASSERT_TRUE(family.ok());
  (*family)->WithLabels({"a\\b\"c\nd"})->Set(1);
  EXPECT_EQ(registry.Render(),
            "# HELP g line\\\\one\\nline \"two\"\n"
            "# TYPE g gauge\n"
            "g{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(RegistryTest, InvalidUtf8LabelValuesAreReplaced) {
  Registry registry;
  auto family = registry.AddCounter(
      {.name = "c_total", .help = "C.", .labels = {"code"}});
  ASSERT_TRUE(family.ok());
  Counter* a = (*family)->WithLabels({"bad\xFF"});
  Counter* b = (*family)->WithLabels({"bad\xFE"});
  EXPECT_EQ(a, b);  // both are "bad\uFFFD"
  a->Increment();
  EXPECT_THAT(registry.Render(),
              HasSubstr("c_total{code=\"bad\xEF\xBF\xBD\"} 1\n"));
}

TEST(HistogramTest, BucketsAccumulate) {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 2.0, 4.0, 5.0, 7.0, -1.0}) h.Observe(v);
  Histogram::Snapshot s = h.Read();
  // le=1: 0.5, 1, -1; le=2: +1.5, 2; le=5: +4, 5; +Inf: +7.
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{3, 5, 7, 8}));
  EXPECT_EQ(s.count, 8u);
  EXPECT_DOUBLE_EQ(s.sum, 20.0);
}

TEST(HistogramTest, NanGoesToInfBucket) {
  Histogram h({1});
  h.Observe(std::nan(""));
  Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 1}));
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(HistogramTest, ObserveDurationInSeconds) {
  Histogram h({0.01, 0.1});
  h.ObserveDuration(absl::Milliseconds(50));
  EXPECT_EQ(h.Read().cumulative, (std::vector<uint64_t>{0, 1, 1}));
  EXPECT_DOUBLE_EQ(h.Read().sum, 0.05);
}

TEST(HistogramTest, ExponentialBuckets) {
  EXPECT_EQ(ExponentialBuckets(0.001, 2, 4),
            (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
  EXPECT_TRUE(ExponentialBuckets(0, 2, 4).empty());
  EXPECT_TRUE(ExponentialBuckets(1, 1, 4).empty());
  EXPECT_TRUE(ExponentialBuckets(1, 2, 0).empty());
}

TEST(HistogramTest, RenderedBoundsAndTrailingInf) {
  Registry registry;
  auto family = registry.AddHistogram(
      {.name = "d_seconds", .help = "D."},
      {0.005, 0.25, 1, 2.5, std::numeric_limits<double>::infinity()});
  ASSERT_TRUE(family.ok()) << family.status();
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{le=\"0.005\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{le=\"2.5\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{le=\"1\"} 0\n"));
  EXPECT_EQ(text.find("le=\"+Inf\""), text.rfind("le=\"+Inf\""));
}

TEST(CapTest, ValuesPastTheCapFoldIntoOther) {
  Registry registry;
  auto family = registry.AddCounter(
      {.name = "calls_total",
       .help = "Calls.",
       .labels = {"method", "upstream_code"},
       .caps = {{.label = "upstream_code", .max_values = 2}}});
  ASSERT_TRUE(family.ok()) << family.status();
  CounterFamily* f = *family;
  Counter* a = f->WithLabels({"m", "A"});
  Counter* b = f->WithLabels({"m", "B"});
  Counter* other = f->WithLabels({"m", "other"});  // uses no slot
  Counter* none = f->WithLabels({"m", ""});        // nor does ""
  Counter* c = f->WithLabels({"m", "C"});
  Counter* d = f->WithLabels({"m", "D"});
  EXPECT_NE(a, b);
  EXPECT_NE(none, other);
  EXPECT_EQ(c, other);
  EXPECT_EQ(d, other);
  EXPECT_EQ(f->WithLabels({"m", "A"}), a);  // seen values keep their child
  // The cap is per label, across every other label's values.
  EXPECT_EQ(f->WithLabels({"n", "A"}), f->WithLabels({"n", "A"}));
  EXPECT_EQ(f->WithLabels({"n", "E"}), f->WithLabels({"n", "other"}));
  a->Increment();
  c->Increment();
  d->Increment();
  const std::string text = registry.Render();
  EXPECT_THAT(text,
              HasSubstr("calls_total{method=\"m\",upstream_code=\"A\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("calls_total{method=\"m\",upstream_code=\"other\"} 2"));
  EXPECT_THAT(text, Not(HasSubstr("\"C\"")));
  EXPECT_THAT(text, Not(HasSubstr("\"E\"")));
}

TEST(ArityTest, WrongNumberOfValues) {
  Registry registry;
  auto family = registry.AddCounter(
      {.name = "c_total", .help = "C.", .labels = {"a", "b"}});
  ASSERT_TRUE(family.ok());
#ifdef NDEBUG
  // Release builds keep the output valid: missing values are "", extra ones
  // dropped.
  EXPECT_EQ((*family)->WithLabels({"x"}), (*family)->WithLabels({"x", ""}));
  EXPECT_EQ((*family)->WithLabels({"x", "y", "z"}),
            (*family)->WithLabels({"x", "y"}));
#else
  EXPECT_DEATH((*family)->WithLabels({"x"}), "one value per label");
#endif
}

TEST(CallbackTest, SingleValue) {
  Registry registry;
  std::atomic<int> in_flight{3};
  ASSERT_TRUE(registry
                  .AddGaugeCallback({.name = "in_flight", .help = "Calls."},
                                    [&] { return in_flight.load(); })
                  .ok());
  EXPECT_THAT(registry.Render(), HasSubstr("\nin_flight 3\n"));
  in_flight = 4;
  EXPECT_THAT(registry.Render(), HasSubstr("\nin_flight 4\n"));
}

TEST(CallbackTest, LabelledWithCapAndMerging) {
  Registry registry;
  ASSERT_TRUE(
      registry
          .AddGaugeCallback({.name = "connections",
                             .help = "Connections by host.",
                             .labels = {"host"},
                             .caps = {{.label = "host", .max_values = 2}}},
                            [] {
                              return std::vector<CallbackSample>{
                                  {.label_values = {"d"}, .value = 1},
                                  {.label_values = {"a"}, .value = 1},
                                  {.label_values = {"c"}, .value = 4},
                                  {.label_values = {"a"}, .value = 2},
                                  {.label_values = {"b"}, .value = 8},
                                  {.label_values = {""}, .value = 16},
                                  {.label_values = {"x", "y"}, .value = 99}};
                            })
          .ok());
  EXPECT_EQ(registry.Render(),
            "# HELP connections Connections by host.\n"
            "# TYPE connections gauge\n"
            "connections{host=\"\"} 16\n"
            "connections{host=\"a\"} 3\n"
            "connections{host=\"b\"} 8\n"
            "connections{host=\"other\"} 5\n");
}

TEST(CallbackTest, Counter) {
  Registry registry;
  ASSERT_TRUE(
      registry
          .AddCounterCallback({.name = "refreshes_total", .help = "Refreshes."},
                              [] { return 12.0; })
          .ok());
  EXPECT_THAT(
      registry.Render(),
      HasSubstr("# TYPE refreshes_total counter\nrefreshes_total 12\n"));
  EXPECT_EQ(registry
                .AddCounterCallback({.name = "r2", .help = "No suffix."},
                                    [] { return 1.0; })
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidationTest, RefusesBadSpecs) {
  Registry registry;
  const auto code = [](const auto& result) {
    if constexpr (std::is_same_v<std::decay_t<decltype(result)>,
                                 absl::Status>) {
      return result.code();
    } else {
      return result.status().code();
    }
  };
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code(registry.AddCounter({.name = "calls", .help = "h"})),
            kInvalid);
  EXPECT_EQ(code(registry.AddCounter({.name = "_total", .help = "h"})),
            kInvalid);
  EXPECT_EQ(code(registry.AddGauge({.name = "bad-name", .help = "h"})),
            kInvalid);
  EXPECT_EQ(code(registry.AddGauge({.name = "a:b", .help = "h"})), kInvalid);
  EXPECT_EQ(code(registry.AddGauge({.name = "g"})), kInvalid);  // no help
  EXPECT_EQ(
      code(registry.AddGauge({.name = "g", .help = "h", .labels = {"__x"}})),
      kInvalid);
  EXPECT_EQ(
      code(registry.AddGauge({.name = "g", .help = "h", .labels = {"a", "a"}})),
      kInvalid);
  EXPECT_EQ(
      code(registry.AddGauge({.name = "g",
                              .help = "h",
                              .labels = {"a"},
                              .caps = {{.label = "b", .max_values = 1}}})),
      kInvalid);
  EXPECT_EQ(
      code(registry.AddGauge({.name = "g",
                              .help = "h",
                              .labels = {"a"},
                              .caps = {{.label = "a", .max_values = 0}}})),
      kInvalid);
  EXPECT_EQ(code(registry.AddHistogram(
                {.name = "h", .help = "h", .labels = {"le"}}, {1})),
            kInvalid);
  EXPECT_EQ(code(registry.AddHistogram({.name = "h", .help = "h"}, {})),
            kInvalid);
  EXPECT_EQ(code(registry.AddHistogram({.name = "h", .help = "h"}, {2, 1})),
            kInvalid);
  EXPECT_EQ(code(registry.AddHistogram({.name = "h", .help = "h"}, {1, 1})),
            kInvalid);
  EXPECT_EQ(code(registry.AddHistogram({.name = "h", .help = "h"},
                                       {1, std::nan("")})),
            kInvalid);
  EXPECT_EQ(code(registry.AddHistogram({.name = "h", .help = "h"},
                                       ExponentialBuckets(0, 2, 3))),
            kInvalid);
  EXPECT_EQ(
      code(registry.AddGaugeCallback(
          {.name = "cb", .help = "h", .labels = {"a"}}, [] { return 1.0; })),
      kInvalid);
  EXPECT_EQ(code(registry.AddGaugeCallback({.name = "cb", .help = "h"},
                                           SampleCallback())),
            kInvalid);
  // Nothing above was registered.
  EXPECT_EQ(registry.Render(), "");
}

TEST(ValidationTest, RefusesNameClashes) {
  Registry registry;
  constexpr auto kExists = absl::StatusCode::kAlreadyExists;
  ASSERT_TRUE(registry.AddHistogram({.name = "x", .help = "h"}, {1}).ok());
  ASSERT_TRUE(registry.AddCounter({.name = "y_total", .help = "h"}).ok());
  EXPECT_EQ(registry.AddGauge({.name = "x", .help = "h"}).status().code(),
            kExists);
  EXPECT_EQ(registry.AddGauge({.name = "x_count", .help = "h"}).status().code(),
            kExists);
  EXPECT_EQ(
      registry.AddGauge({.name = "x_bucket", .help = "h"}).status().code(),
      kExists);
  EXPECT_EQ(registry.AddGauge({.name = "y", .help = "h"}).status().code(),
            kExists);
  EXPECT_EQ(
      registry.AddCounter({.name = "y_total", .help = "h"}).status().code(),
      kExists);
  ASSERT_TRUE(registry.AddGauge({.name = "z_sum", .help = "h"}).ok());
  EXPECT_EQ(
      registry.AddHistogram({.name = "z", .help = "h"}, {1}).status().code(),
      kExists);
}

TEST(ConcurrencyTest, TotalsAreExact) {
  Registry registry;
  auto calls =
      registry.AddCounter({.name = "calls_total",
                           .help = "h",
                           .labels = {"code"},
                           .caps = {{.label = "code", .max_values = 5}}});
  auto latency = registry.AddHistogram({.name = "latency_seconds", .help = "h"},
                                       {0.5, 1.5});
  auto level = registry.AddGauge({.name = "level", .help = "h"});
  ASSERT_TRUE(calls.ok() && latency.ok() && level.ok());
  constexpr int kThreads = 8;
  constexpr int kIterations = 20000;
  Counter* shared = (*calls)->WithLabels({"OK"});
  Histogram* h = (*latency)->WithLabels({});
  Gauge* g = (*level)->WithLabels({});
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) {
      const std::string text = registry.Render();
      ASSERT_THAT(text, HasSubstr("# TYPE calls_total counter"));
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = absl::StrCat("code", t);
      for (int i = 0; i < kIterations; ++i) {
        shared->Increment();
        // Looked up every time: the slow path races between threads.
        (*calls)->WithLabels({mine})->Increment();
        h->Observe(i % 2);
        g->Add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  done = true;
  scraper.join();

  EXPECT_EQ(shared->Value(), uint64_t{kThreads} * kIterations);
  uint64_t labelled = 0;
  int distinct = 0;
  for (int t = 0; t < kThreads; ++t) {
    Counter* c = (*calls)->WithLabels({absl::StrCat("code", t)});
    if (c != (*calls)->WithLabels({"other"})) ++distinct;
  }
  EXPECT_EQ(distinct, 4);  // "OK" took the fifth slot: the cap held
  const std::string text = registry.Render();
  for (int t = 0; t < kThreads; ++t) {
    Counter* c = (*calls)->WithLabels({absl::StrCat("code", t)});
    if (c != (*calls)->WithLabels({"other"})) labelled += c->Value();
  }
  labelled += (*calls)->WithLabels({"other"})->Value();
  EXPECT_EQ(labelled, uint64_t{kThreads} * kIterations);
  EXPECT_THAT(text, HasSubstr(absl::StrCat("calls_total{code=\"other\"} ",
                                           4 * kIterations, "\n")));
  const Histogram::Snapshot s = h->Read();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kIterations);
  EXPECT_EQ(s.cumulative[0], uint64_t{kThreads} * kIterations / 2);
  EXPECT_DOUBLE_EQ(s.sum, kThreads * kIterations / 2.0);
  EXPECT_DOUBLE_EQ(g->Value(), kThreads * kIterations);
}

}  // namespace
}  // namespace envelope::metrics
