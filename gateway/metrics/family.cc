#include "gateway/metrics/family.h"

#include <cassert>
#include <utility>

#include "gateway/metrics/text_format.h"

namespace envelope::metrics {
namespace metrics_internal {

LabelPolicy::LabelPolicy(const std::vector<std::string>& label_names,
                         const std::vector<LabelCap>& caps)
    : label_count_(label_names.size()),
      max_values_(label_names.size(), 0),
      seen_(label_names.size()) {
  for (const LabelCap& cap : caps) {
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (label_names[i] == cap.label) max_values_[i] = cap.max_values;
    }
  }
}

std::vector<std::string> LabelPolicy::Admit(
    absl::Span<const absl::string_view> values) {
  std::vector<std::string> key(label_count_);
  for (size_t i = 0; i < label_count_ && i < values.size(); ++i) {
    std::string value = SanitizeUtf8(values[i]);
    // "" (no value) and "other" are bounded already and use no slot.
    if (max_values_[i] > 0 && !value.empty() && value != kOtherLabelValue &&
        !seen_[i].contains(value)) {
      if (seen_[i].size() >= max_values_[i]) {
        value = std::string(kOtherLabelValue);
      } else {
        seen_[i].insert(value);
      }
    }
    key[i] = std::move(value);
  }
  return key;
}

}  // namespace metrics_internal

namespace {

using metrics_internal::FamilyBase;

void AppendChild(const FamilyBase& family,
                 const std::vector<std::string>& values, const Counter& c,
                 std::string* out) {
  AppendSample(family.name(), family.label_names(), values, "", "",
               FormatValue(c.Value()), out);
}

void AppendChild(const FamilyBase& family,
                 const std::vector<std::string>& values, const Gauge& g,
                 std::string* out) {
  AppendSample(family.name(), family.label_names(), values, "", "",
               FormatValue(g.Value()), out);
}

void AppendChild(const FamilyBase& family,
                 const std::vector<std::string>& values, const Histogram& h,
                 std::string* out) {
  const Histogram::Snapshot s = h.Read();
  const std::string bucket = family.name() + "_bucket";
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    const std::string le =
        i < h.bounds().size() ? FormatValue(h.bounds()[i]) : "+Inf";
    AppendSample(bucket, family.label_names(), values, "le", le,
                 FormatValue(s.cumulative[i]), out);
  }
  AppendSample(family.name() + "_sum", family.label_names(), values, "", "",
               FormatValue(s.sum), out);
  AppendSample(family.name() + "_count", family.label_names(), values, "", "",
               FormatValue(s.count), out);
}

absl::string_view TypeName(const Counter*) { return "counter"; }
absl::string_view TypeName(const Gauge*) { return "gauge"; }
absl::string_view TypeName(const Histogram*) { return "histogram"; }

}  // namespace

template <typename T>
Family<T>::Family(std::string name, std::string help,
                  std::vector<std::string> label_names,
                  const std::vector<LabelCap>& caps,
                  std::function<std::unique_ptr<T>()> make_child)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names)),
      make_child_(std::move(make_child)),
      policy_(this->label_names(), caps) {
  // A family without labels has exactly one series: show it (at zero) from
  // the first scrape rather than only after its first event.
  if (this->label_names().empty()) {
    absl::MutexLock lock(&mu_);
    children_.emplace(std::vector<std::string>(), make_child_());
  }
}

template <typename T>
T* Family<T>::WithLabels(absl::Span<const absl::string_view> values) {
  assert(values.size() == label_names().size() &&
         "WithLabels: one value per label");
  if (values.size() == label_names().size()) {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  std::vector<std::string> key = policy_.Admit(values);
  auto it = children_.find(key);
  if (it == children_.end()) {
    it = children_.emplace(std::move(key), make_child_()).first;
  }
  return it->second.get();
}

template <typename T>
absl::string_view Family<T>::type() const {
  return TypeName(static_cast<const T*>(nullptr));
}

template <typename T>
void Family<T>::AppendSamples(std::string* out) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    AppendChild(*this, values, *child, out);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace envelope::metrics
