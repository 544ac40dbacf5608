#ifndef GATEWAY_METRICS_HISTOGRAM_H_
#define GATEWAY_METRICS_HISTOGRAM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/time.h"

namespace envelope::metrics {

// One histogram series over fixed upper bounds (the registry checks them:
// finite, strictly increasing). Observe is lock-free: one atomic add on the
// bucket and one on the sum. Safe from any thread.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counted in the first bucket whose bound is >= value (`le`), else +Inf.
  void Observe(double value);
  // Durations are observed in seconds, the Prometheus base unit.
  void ObserveDuration(absl::Duration d) { Observe(absl::ToDoubleSeconds(d)); }

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    uint64_t count = 0;                // == cumulative.back()
    double sum = 0;
  };
  // `count` is the +Inf bucket by construction, so a scrape never shows the
  // two disagreeing even while other threads observe.
  Snapshot Read() const;

  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  // Not cumulative: one atomic per bucket plus +Inf, summed when read.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// `count` bounds start, start*factor, start*factor^2, ... Empty (which the
// registry refuses) unless start > 0, factor > 1 and count >= 1.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_HISTOGRAM_H_
