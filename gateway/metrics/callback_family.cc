#include "gateway/metrics/callback_family.h"

#include <map>
#include <set>
#include <utility>

#include "gateway/metrics/text_format.h"

namespace envelope::metrics::metrics_internal {
namespace {

using SeriesMap = std::map<std::vector<std::string>, double, LabelValuesLess>;

// Keeps the first `max_values` distinct values of label `i` (sorted order)
// and folds the rest into "other", adding up series that become one.
SeriesMap Fold(const SeriesMap& series, size_t i, size_t max_values) {
  std::set<absl::string_view> distinct;
  for (const auto& [key, value] : series) {
    if (!key[i].empty() && key[i] != kOtherLabelValue) {
      distinct.insert(key[i]);
    }
  }
  std::set<absl::string_view> kept;
  for (absl::string_view v : distinct) {
    if (kept.size() >= max_values) break;
    kept.insert(v);
  }
  SeriesMap folded;
  for (const auto& [key, value] : series) {
    std::vector<std::string> k = key;
    if (!k[i].empty() && k[i] != kOtherLabelValue && !kept.contains(k[i])) {
      k[i] = std::string(kOtherLabelValue);
    }
    folded[std::move(k)] += value;
  }
  return folded;
}

}  // namespace

CallbackFamily::CallbackFamily(std::string name, std::string help,
                               std::string type,
                               std::vector<std::string> label_names,
                               std::vector<LabelCap> caps,
                               SampleCallback callback)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names)),
      type_(std::move(type)),
      caps_(std::move(caps)),
      callback_(std::move(callback)) {}

void CallbackFamily::AppendSamples(std::string* out) const {
  std::vector<CallbackSample> samples;
  {
    absl::MutexLock lock(&mu_);
    samples = callback_();
  }
  const std::vector<std::string>& names = label_names();
  SeriesMap series;
  for (CallbackSample& s : samples) {
    if (s.label_values.size() != names.size()) continue;
    for (std::string& v : s.label_values) v = SanitizeUtf8(v);
    series[std::move(s.label_values)] += s.value;
  }
  for (const LabelCap& cap : caps_) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == cap.label) series = Fold(series, i, cap.max_values);
    }
  }
  for (const auto& [values, value] : series) {
    AppendSample(name(), names, values, "", "", FormatValue(value), out);
  }
}

}  // namespace envelope::metrics::metrics_internal
