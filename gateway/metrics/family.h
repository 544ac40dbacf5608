#ifndef GATEWAY_METRICS_FAMILY_H_
#define GATEWAY_METRICS_FAMILY_H_

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "gateway/metrics/counter.h"
#include "gateway/metrics/gauge.h"
#include "gateway/metrics/histogram.h"
#include "gateway/metrics/spec.h"

namespace envelope::metrics {
namespace metrics_internal {

// Orders children by their label values; transparent so a lookup by
// string_views builds no strings.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](absl::string_view x, absl::string_view y) { return x < y; });
  }
};

// Turns the label values a caller gives into a child's key: the count fixed
// to the family's labels, bad UTF-8 replaced, values past a cap folded into
// "other". Not thread-safe: the family's mutex guards it.
class LabelPolicy {
 public:
  // Every cap names one of `label_names` (the registry checks).
  LabelPolicy(const std::vector<std::string>& label_names,
              const std::vector<LabelCap>& caps);

  std::vector<std::string> Admit(absl::Span<const absl::string_view> values);

 private:
  size_t label_count_;
  std::vector<size_t> max_values_;                      // per label; 0: no cap
  std::vector<absl::flat_hash_set<std::string>> seen_;  // per label
};

// What the registry keeps and renders.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help,
             std::vector<std::string> label_names)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  virtual absl::string_view type() const = 0;  // "counter", ...
  // The sample lines, without HELP and TYPE.
  virtual void AppendSamples(std::string* out) const = 0;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
};

}  // namespace metrics_internal

// A metric family: one child (Counter, Gauge or Histogram) per distinct set
// of label values. Made by the Registry, which owns it.
template <typename T>
class Family final : public metrics_internal::FamilyBase {
 public:
  Family(std::string name, std::string help,
         std::vector<std::string> label_names,
         const std::vector<LabelCap>& caps,
         std::function<std::unique_ptr<T>()> make_child);

  // The child for these values, one per label in registration order, made on
  // first use. The pointer stays valid as long as the registry: look it up
  // once and keep it where the labels are fixed. A lookup takes a shared
  // lock; only making a child takes the family's lock exclusively. A wrong
  // number of values is a bug (assert); in release builds missing values are
  // "" and extra ones are dropped.
  T* WithLabels(std::initializer_list<absl::string_view> values) {
    return WithLabels(absl::MakeConstSpan(values.begin(), values.size()));
  }
  T* WithLabels(absl::Span<const absl::string_view> values);

  absl::string_view type() const override;
  void AppendSamples(std::string* out) const override;

 private:
  const std::function<std::unique_ptr<T>()> make_child_;
  mutable absl::Mutex mu_;
  metrics_internal::LabelPolicy policy_ ABSL_GUARDED_BY(mu_);
  std::map<std::vector<std::string>, std::unique_ptr<T>,
           metrics_internal::LabelValuesLess>
      children_ ABSL_GUARDED_BY(mu_);
};

// Defined and instantiated in family.cc.
extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_FAMILY_H_
