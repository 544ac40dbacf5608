#ifndef GATEWAY_METRICS_GAUGE_H_
#define GATEWAY_METRICS_GAUGE_H_

#include <atomic>

namespace envelope::metrics {

// One gauge series. Lock-free; safe from any thread.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Increment() { Add(1); }
  void Decrement() { Add(-1); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_GAUGE_H_
