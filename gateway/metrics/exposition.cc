#include "gateway/metrics/exposition.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace envelope::metrics {

namespace {

prometheus::ClientMetric Value(prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  switch (type) {
    case prometheus::MetricType::Counter:
      metric.counter.value = value;
      break;
    case prometheus::MetricType::Gauge:
      metric.gauge.value = value;
      break;
    default:
      metric.untyped.value = value;
      break;
  }
  return metric;
}

}  // namespace

prometheus::MetricFamily OneValue(std::string name, std::string help,
                                  prometheus::MetricType type, double value) {
  return prometheus::MetricFamily{.name = std::move(name),
                                  .help = std::move(help),
                                  .type = type,
                                  .metric = {Value(type, value)}};
}

void AddValue(prometheus::MetricFamily& family,
              std::vector<std::pair<std::string, std::string>> labels,
              double value) {
  prometheus::ClientMetric metric = Value(family.type, value);
  for (auto& [name, label_value] : labels) {
    metric.label.push_back({std::move(name), std::move(label_value)});
  }
  family.metric.push_back(std::move(metric));
}

absl::StatusOr<std::string> Render(
    absl::Span<const prometheus::Collectable* const> sources) {
  try {
    std::vector<prometheus::MetricFamily> families;
    for (const prometheus::Collectable* source : sources) {
      std::vector<prometheus::MetricFamily> more = source->Collect();
      families.insert(families.end(), std::make_move_iterator(more.begin()),
                      std::make_move_iterator(more.end()));
    }
    std::stable_sort(
        families.begin(), families.end(),
        [](const auto& a, const auto& b) { return a.name < b.name; });
    // prometheus-cpp keeps a family's series in a hash map.
    for (prometheus::MetricFamily& family : families) {
      std::sort(family.metric.begin(), family.metric.end(),
                [](const auto& a, const auto& b) { return a.label < b.label; });
    }
    return prometheus::TextSerializer().Serialize(families);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("metrics: ", e.what()));
  }
}

}  // namespace envelope::metrics
