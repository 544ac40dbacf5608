#ifndef GATEWAY_METRICS_SERIES_H_
#define GATEWAY_METRICS_SERIES_H_

#include <cstddef>
#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

// A thin layer over prometheus-cpp (docs/operations.md, "Metrics"): label
// values bounded per label, a family's label names fixed at registration,
// and prometheus-cpp's exceptions kept behind absl::Status.
namespace envelope::metrics {

// The value a bounded label takes once its cap is reached.
inline constexpr absl::string_view kOverflowLabelValue = "other";

// The distinct values of one label, bounded: the first `max_values` distinct
// values seen are kept, later ones (and any value that is not UTF-8, which
// would make Prometheus refuse the whole scrape) become "other". "" and
// "other" use no slot, so the label has at most max_values + 2 values.
// Share one between families so that a value folds the same in all of them.
// Thread-safe; a value already admitted costs a shared lock and a lookup.
class BoundedValues {
 public:
  explicit BoundedValues(size_t max_values) : max_values_(max_values) {}
  BoundedValues(const BoundedValues&) = delete;
  BoundedValues& operator=(const BoundedValues&) = delete;

  // The value to use; valid as long as this object.
  absl::string_view Admit(absl::string_view value);

 private:
  const size_t max_values_;
  absl::Mutex mu_;
  // Node-based: Admit hands out views of its elements.
  absl::node_hash_set<std::string> seen_ ABSL_GUARDED_BY(mu_);
};

bool IsUtf8(absl::string_view text);

// One prometheus-cpp family (Counter, Gauge or Histogram) with fixed label
// names, and its children by label values, found again without building a
// prometheus::Labels map. Every distinct set of values stays for the life of
// the process: bound them first (BoundedValues, or a fixed set such as the
// gRPC codes).
template <typename T>
class Series {
 public:
  // Registers the family on `registry` (which must outlive the Series).
  // INVALID_ARGUMENT for what Prometheus refuses: a bad metric or label
  // name, `le` on a histogram, a name taken by another type.
  static absl::StatusOr<std::unique_ptr<Series>> Register(
      prometheus::Registry& registry, const std::string& name,
      const std::string& help, std::vector<std::string> label_names,
      prometheus::Histogram::BucketBoundaries buckets = {});

  // The child for these values, one per label name in order; made on first
  // use. Null when prometheus-cpp cannot make it (out of memory) or the
  // count of values is wrong: a metric is never worth a failed call.
  T* With(std::initializer_list<absl::string_view> values);

 private:
  Series(prometheus::Family<T>* family, std::vector<std::string> label_names,
         prometheus::Histogram::BucketBoundaries buckets)
      : family_(family),
        label_names_(std::move(label_names)),
        buckets_(std::move(buckets)) {}

  prometheus::Family<T>* const family_;
  const std::vector<std::string> label_names_;
  const prometheus::Histogram::BucketBoundaries buckets_;
  absl::Mutex mu_;
  // Values joined as "<size>:<value>" each: unambiguous whatever they hold.
  absl::flat_hash_map<std::string, T*> children_ ABSL_GUARDED_BY(mu_);
};

namespace series_internal {

// prometheus::BuildCounter() and friends, wrapped: Register throws
// std::invalid_argument for a bad or taken name.
absl::StatusOr<prometheus::Family<prometheus::Counter>*> AddFamily(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help, prometheus::Counter*);
absl::StatusOr<prometheus::Family<prometheus::Gauge>*> AddFamily(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help, prometheus::Gauge*);
absl::StatusOr<prometheus::Family<prometheus::Histogram>*> AddFamily(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help, prometheus::Histogram*);

absl::Status CheckLabelNames(const std::string& metric,
                             const std::vector<std::string>& label_names,
                             bool histogram);

// Finite and strictly increasing (prometheus::Histogram throws otherwise).
absl::Status CheckBuckets(const std::string& metric,
                          const std::vector<double>& buckets);

}  // namespace series_internal

template <typename T>
absl::StatusOr<std::unique_ptr<Series<T>>> Series<T>::Register(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help, std::vector<std::string> label_names,
    prometheus::Histogram::BucketBoundaries buckets) {
  constexpr bool kHistogram = std::is_same_v<T, prometheus::Histogram>;
  absl::Status labels_ok =
      series_internal::CheckLabelNames(name, label_names, kHistogram);
  if (!labels_ok.ok()) return labels_ok;
  if constexpr (kHistogram) {
    absl::Status buckets_ok = series_internal::CheckBuckets(name, buckets);
    if (!buckets_ok.ok()) return buckets_ok;
  }
  absl::StatusOr<prometheus::Family<T>*> family = series_internal::AddFamily(
      registry, name, help, static_cast<T*>(nullptr));
  if (!family.ok()) return family.status();
  return std::unique_ptr<Series>(
      new Series(*family, std::move(label_names), std::move(buckets)));
}

template <typename T>
T* Series<T>::With(std::initializer_list<absl::string_view> values) {
  if (values.size() != label_names_.size()) return nullptr;
  std::string key;
  for (absl::string_view v : values) absl::StrAppend(&key, v.size(), ":", v);
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(key);
    if (it != children_.end()) return it->second;
  }
  absl::MutexLock lock(&mu_);
  auto it = children_.find(key);
  if (it != children_.end()) return it->second;
  prometheus::Labels labels;
  auto value = values.begin();
  for (const std::string& name : label_names_) {
    labels.emplace(name, std::string(*value++));
  }
  // prometheus-cpp reports failure by throwing; nothing may escape into the
  // call that is being counted.
  T* child = nullptr;
  try {
    if constexpr (std::is_same_v<T, prometheus::Histogram>) {
      child = &family_->Add(labels, buckets_);
    } else {
      child = &family_->Add(labels);
    }
  } catch (const std::exception&) {
    return nullptr;
  }
  children_.emplace(std::move(key), child);
  return child;
}

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_SERIES_H_
