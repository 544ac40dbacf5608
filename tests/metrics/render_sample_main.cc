// Prints a small registry exercising every metric type, escaping and label
// folding; promparse_test.py parses the output with an independent parser
// (prometheus_client) and checks the values listed there.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "gateway/metrics/registry.h"

namespace {

using envelope::metrics::CallbackSample;
using envelope::metrics::ExponentialBuckets;
using envelope::metrics::Registry;

template <typename T>
T Must(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", v.status().ToString().c_str());
    std::exit(1);
  }
  return *v;
}

void Must(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
}

}  // namespace

int main() {
  Registry registry;
  auto* calls = Must(registry.AddCounter(
      {.name = "sample_calls_total",
       .help = "Calls by method and code.\nSecond line with a \\ backslash.",
       .labels = {"grpc_method", "grpc_code", "upstream_code"},
       .caps = {{.label = "upstream_code", .max_values = 2}}}));
  calls->WithLabels({"/a.B/C", "OK", ""})->Increment(3);
  calls->WithLabels({"/a.B/C", "INTERNAL", "InternalError"})->Increment();
  calls->WithLabels({"/a.B/C", "UNAVAILABLE", "ResourceUnavailable"})
      ->Increment();
  calls->WithLabels({"/a.B/C", "UNAVAILABLE", "Third\"Code"})->Increment(2);
  calls->WithLabels({"/a.B/C", "UNAVAILABLE", "Fourth\\Code\n"})->Increment(5);

  auto* latency =
      Must(registry.AddHistogram({.name = "sample_call_duration_seconds",
                                  .help = "Whole call latency.",
                                  .labels = {"grpc_method"}},
                                 ExponentialBuckets(0.001, 10, 4)));
  auto* h = latency->WithLabels({"/a.B/C"});
  for (double v : {0.0005, 0.001, 0.05, 0.05, 2.0, 30.0}) h->Observe(v);

  auto* temp = Must(registry.AddGauge(
      {.name = "sample_temperature", .help = "Odd values.", .labels = {"k"}}));
  temp->WithLabels({"half"})->Set(0.5);
  temp->WithLabels({"neg"})->Set(-2);
  temp->WithLabels({"inf"})->Set(std::numeric_limits<double>::infinity());
  temp->WithLabels({"ninf"})->Set(-std::numeric_limits<double>::infinity());
  temp->WithLabels({"nan"})->Set(std::nan(""));
  temp->WithLabels({"tiny"})->Set(1e-7);
  temp->WithLabels({"big"})->Set(1e20);
  temp->WithLabels({"esc\"aped\\value\nline2"})->Set(3);

  Must(registry.AddGaugeCallback(
      {.name = "sample_in_flight", .help = "In-flight calls."},
      [] { return 7.0; }));
  Must(registry.AddGaugeCallback(
      {.name = "sample_upstream_connections",
       .help = "Open upstream connections by host.",
       .labels = {"host"}},
      [] {
        return std::vector<CallbackSample>{
            {.label_values = {"cvm.tencentcloudapi.com"}, .value = 3},
            {.label_values = {"cbs.tencentcloudapi.com"}, .value = 1}};
      }));
  auto* info = Must(registry.AddGauge({.name = "sample_build_info",
                                       .help = "Build information.",
                                       .labels = {"version"}}));
  info->WithLabels({"0.1.0"})->Set(1);
  Must(registry.AddCounter(
      {.name = "sample_untouched_total", .help = "Never incremented."}));

  const std::string text = registry.Render();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
