#ifndef GATEWAY_METRICS_EXPOSITION_H_
#define GATEWAY_METRICS_EXPOSITION_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace envelope::metrics {

// The Content-Type of Render()'s output.
inline constexpr absl::string_view kTextFormatContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Families computed at scrape time (values the gateway keeps elsewhere:
// calls in flight, upstream connection counts, /proc/self). The function
// runs on the scraping thread: quick, no lock the call path holds long.
class CallbackCollectable final : public prometheus::Collectable {
 public:
  using Collector = std::function<std::vector<prometheus::MetricFamily>()>;
  explicit CallbackCollectable(Collector collect)
      : collect_(std::move(collect)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return collect_();
  }

 private:
  const Collector collect_;
};

// A family of one series without labels.
prometheus::MetricFamily OneValue(std::string name, std::string help,
                                  prometheus::MetricType type, double value);

// Adds a series with `labels` to `family` (of a counter or gauge type).
//
// Example:
//
//   prometheus::MetricFamily family{.name = "x", .help = "...",
//                                   .type = prometheus::MetricType::Gauge};
//   AddValue(family, {{"service", "cvm"}}, 20);
void AddValue(prometheus::MetricFamily& family,
              std::vector<std::pair<std::string, std::string>> labels,
              double value);

// Every family of `sources` in the text exposition format 0.0.4, families
// sorted by name and series by label values (prometheus-cpp keeps neither
// order; sorted, two scrapes diff cleanly). INTERNAL if prometheus-cpp
// throws.
absl::StatusOr<std::string> Render(
    absl::Span<const prometheus::Collectable* const> sources);

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_EXPOSITION_H_
