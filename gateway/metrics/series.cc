#include "gateway/metrics/series.h"

#include <cmath>

#include "absl/strings/match.h"
#include "prometheus/check_names.h"

namespace envelope::metrics {

bool IsUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return false;
    }
    if (i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const unsigned char b = static_cast<unsigned char>(text[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n;
  }
  return true;
}

absl::string_view BoundedValues::Admit(absl::string_view value) {
  if (value.empty() || value == kOverflowLabelValue) return value;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = seen_.find(value);
    if (it != seen_.end()) return *it;
  }
  if (!IsUtf8(value)) return kOverflowLabelValue;
  absl::MutexLock lock(&mu_);
  auto it = seen_.find(value);
  if (it != seen_.end()) return *it;
  if (seen_.size() >= max_values_) return kOverflowLabelValue;
  return *seen_.emplace(value).first;
}

namespace series_internal {
namespace {

template <typename Builder, typename T = typename std::remove_reference_t<
                                decltype(std::declval<Builder>().Register(
                                    std::declval<prometheus::Registry&>()))>>
absl::StatusOr<T*> Build(Builder builder, prometheus::Registry& registry,
                         const std::string& name, const std::string& help) {
  try {
    return &builder.Name(name).Help(help).Register(registry);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric ", name, ": ", e.what()));
  }
}

}  // namespace

absl::StatusOr<prometheus::Family<prometheus::Counter>*> AddFamily(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help, prometheus::Counter*) {
  // prometheus-cpp leaves the suffix to the caller; the convention
  // (and the Python parser's reading of a counter) needs it.
  if (!absl::EndsWith(name, "_total")) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric ", name, ": a counter's name ends in _total"));
  }
  return Build(prometheus::BuildCounter(), registry, name, help);
}

absl::StatusOr<prometheus::Family<prometheus::Gauge>*> AddFamily(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help, prometheus::Gauge*) {
  return Build(prometheus::BuildGauge(), registry, name, help);
}

absl::StatusOr<prometheus::Family<prometheus::Histogram>*> AddFamily(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help, prometheus::Histogram*) {
  return Build(prometheus::BuildHistogram(), registry, name, help);
}

absl::Status CheckLabelNames(const std::string& metric,
                             const std::vector<std::string>& label_names,
                             bool histogram) {
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!prometheus::CheckLabelName(label) || (histogram && label == "le")) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", metric, ": invalid label name ", label));
    }
    for (size_t k = 0; k < i; ++k) {
      if (label_names[k] == label) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric ", metric, ": label ", label, " twice"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBuckets(const std::string& metric,
                          const std::vector<double>& buckets) {
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric ", metric, ": buckets must be finite and increasing"));
    }
  }
  return absl::OkStatus();
}

}  // namespace series_internal
}  // namespace envelope::metrics
