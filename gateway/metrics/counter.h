#ifndef GATEWAY_METRICS_COUNTER_H_
#define GATEWAY_METRICS_COUNTER_H_

#include <atomic>
#include <cstdint>

namespace envelope::metrics {

// One counter series. Integral on purpose: every counter the gateway keeps
// counts events, and an integer add is exact under any number of threads.
// Lock-free; safe from any thread.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment(uint64_t n = 1) {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_COUNTER_H_
