#ifndef GATEWAY_METRICS_REGISTRY_H_
#define GATEWAY_METRICS_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "gateway/metrics/family.h"
#include "gateway/metrics/spec.h"

namespace envelope::metrics {

// The Content-Type of Render()'s output.
inline constexpr absl::string_view kTextFormatContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Owns metric families and renders them for a scrape. Registration happens
// at start-up and reports a bad spec as an error (INVALID_ARGUMENT, or
// ALREADY_EXISTS when a name or one of its sample names is taken) rather
// than crashing, so the gateway can refuse to start with a clear message.
// Checked: Prometheus name rules (see names.h), non-empty help, counters
// named *_total, unique label names, no `le` label on histograms, caps
// naming a label with max_values >= 1, histogram bounds finite and strictly
// increasing (a trailing +Inf is implied and may be given). Families live as
// long as the registry. Thread-safe.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  absl::StatusOr<CounterFamily*> AddCounter(const MetricSpec& spec);
  absl::StatusOr<GaugeFamily*> AddGauge(const MetricSpec& spec);
  // `bounds` are the buckets' upper bounds, e.g. ExponentialBuckets(...).
  absl::StatusOr<HistogramFamily*> AddHistogram(const MetricSpec& spec,
                                                std::vector<double> bounds);

  // Families computed at scrape time (in-flight calls from an atomic,
  // connections from a stats function). The callback runs on the scraping
  // thread with the registry locked for reading: it must be quick and must
  // not register metrics. The double form is for families without labels.
  absl::Status AddGaugeCallback(const MetricSpec& spec,
                                std::function<double()> value);
  absl::Status AddGaugeCallback(const MetricSpec& spec, SampleCallback samples);
  absl::Status AddCounterCallback(const MetricSpec& spec,
                                  std::function<double()> value);
  absl::Status AddCounterCallback(const MetricSpec& spec,
                                  SampleCallback samples);

  // Every family in the text exposition format 0.0.4, sorted by name, each
  // family's series sorted by label values.
  std::string Render() const;

 private:
  absl::Status CheckAndReserve(const MetricSpec& spec, absl::string_view type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AddCallback(const MetricSpec& spec, absl::string_view type,
                           SampleCallback samples);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<metrics_internal::FamilyBase>> families_
      ABSL_GUARDED_BY(mu_);
  // Family and sample names in use, so no two families can emit samples
  // with the same name (a histogram `x` and a gauge `x_count`).
  absl::flat_hash_set<std::string> taken_names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_REGISTRY_H_
