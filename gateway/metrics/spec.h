#ifndef GATEWAY_METRICS_SPEC_H_
#define GATEWAY_METRICS_SPEC_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace envelope::metrics {

// The value a capped label takes once its cap is reached.
inline constexpr absl::string_view kOtherLabelValue = "other";

// Bounds the distinct values of one label in one family: after `max_values`
// distinct values have been seen, new ones become "other" (so the label has
// at most max_values + 2 values). "" (no value, e.g. no upstream code on a
// successful call) and "other" itself never use up a slot.
struct LabelCap {
  std::string label;
  size_t max_values = 0;  // >= 1
};

// What every family is registered with, e.g.
//   {.name = "envelope_calls_total", .help = "Calls by ...",
//    .labels = {"grpc_method", "grpc_code", "upstream_code"},
//    .caps = {{.label = "upstream_code", .max_values = 50}}}
struct MetricSpec {
  std::string name;  // counters end in "_total", durations in "_seconds"
  std::string help;  // required
  std::vector<std::string> labels;
  std::vector<LabelCap> caps;  // each names one of `labels`
};

// One series of a callback family, computed at scrape time.
struct CallbackSample {
  std::vector<std::string> label_values;  // one per label of the family
  double value = 0;
};
using SampleCallback = std::function<std::vector<CallbackSample>()>;

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_SPEC_H_
