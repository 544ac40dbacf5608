#include "gateway/metrics/registry.h"

#include <cmath>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gateway/metrics/callback_family.h"
#include "gateway/metrics/names.h"
#include "gateway/metrics/text_format.h"

namespace envelope::metrics {
namespace {

// The names a family of `type` claims: its own, the sample names it emits,
// and for counters the name without "_total" (what OpenMetrics and the
// Python client call the family).
std::vector<std::string> ClaimedNames(absl::string_view name,
                                      absl::string_view type) {
  std::vector<std::string> names = {std::string(name)};
  if (type == "histogram") {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      names.push_back(absl::StrCat(name, suffix));
    }
  } else if (type == "counter") {
    names.emplace_back(absl::StripSuffix(name, "_total"));
  }
  return names;
}

absl::Status CheckSpec(const MetricSpec& spec, absl::string_view type) {
  if (absl::Status s = ValidateMetricName(spec.name); !s.ok()) return s;
  const auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, " ", spec.name, ": ", why));
  };
  if (spec.help.empty()) return error("help text is required");
  if (type == "counter" &&
      (!absl::EndsWith(spec.name, "_total") || spec.name.size() <= 6)) {
    return error("counter names end in _total");
  }
  for (size_t i = 0; i < spec.labels.size(); ++i) {
    if (absl::Status s = ValidateLabelName(spec.labels[i]); !s.ok()) {
      return error(s.message());
    }
    if (type == "histogram" && spec.labels[i] == "le") {
      return error("label le is reserved for histogram buckets");
    }
    for (size_t j = 0; j < i; ++j) {
      if (spec.labels[j] == spec.labels[i]) {
        return error(absl::StrCat("label ", spec.labels[i], " given twice"));
      }
    }
  }
  for (size_t i = 0; i < spec.caps.size(); ++i) {
    const LabelCap& cap = spec.caps[i];
    bool known = false;
    for (const std::string& label : spec.labels) known |= label == cap.label;
    if (!known) {
      return error(absl::StrCat("cap on unknown label ", cap.label));
    }
    if (cap.max_values < 1) {
      return error(absl::StrCat("cap on ", cap.label, " must be >= 1"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (spec.caps[j].label == cap.label) {
        return error(absl::StrCat("label ", cap.label, " capped twice"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBounds(const MetricSpec& spec, std::vector<double>* bounds) {
  if (!bounds->empty() && std::isinf(bounds->back()) && bounds->back() > 0) {
    bounds->pop_back();  // +Inf is always there
  }
  const auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram ", spec.name, ": ", why));
  };
  if (bounds->empty()) return error("at least one finite bucket bound");
  for (size_t i = 0; i < bounds->size(); ++i) {
    if (!std::isfinite((*bounds)[i])) return error("bucket bounds are finite");
    if (i > 0 && !((*bounds)[i - 1] < (*bounds)[i])) {
      return error("bucket bounds strictly increase");
    }
  }
  return absl::OkStatus();
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

absl::Status Registry::CheckAndReserve(const MetricSpec& spec,
                                       absl::string_view type) {
  if (absl::Status s = CheckSpec(spec, type); !s.ok()) return s;
  const std::vector<std::string> claimed = ClaimedNames(spec.name, type);
  for (const std::string& name : claimed) {
    if (taken_names_.contains(name)) {
      return absl::AlreadyExistsError(absl::StrCat(
          type, " ", spec.name, ": the name ", name, " is already in use"));
    }
  }
  taken_names_.insert(claimed.begin(), claimed.end());
  return absl::OkStatus();
}

absl::StatusOr<CounterFamily*> Registry::AddCounter(const MetricSpec& spec) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAndReserve(spec, "counter"); !s.ok()) return s;
  auto family = std::make_unique<CounterFamily>(
      spec.name, spec.help, spec.labels, spec.caps,
      [] { return std::make_unique<Counter>(); });
  CounterFamily* raw = family.get();
  families_[spec.name] = std::move(family);
  return raw;
}

absl::StatusOr<GaugeFamily*> Registry::AddGauge(const MetricSpec& spec) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAndReserve(spec, "gauge"); !s.ok()) return s;
  auto family = std::make_unique<GaugeFamily>(
      spec.name, spec.help, spec.labels, spec.caps,
      [] { return std::make_unique<Gauge>(); });
  GaugeFamily* raw = family.get();
  families_[spec.name] = std::move(family);
  return raw;
}

absl::StatusOr<HistogramFamily*> Registry::AddHistogram(
    const MetricSpec& spec, std::vector<double> bounds) {
  if (absl::Status s = CheckBounds(spec, &bounds); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAndReserve(spec, "histogram"); !s.ok()) return s;
  auto family = std::make_unique<HistogramFamily>(
      spec.name, spec.help, spec.labels, spec.caps,
      [bounds = std::move(bounds)] {
        return std::make_unique<Histogram>(bounds);
      });
  HistogramFamily* raw = family.get();
  families_[spec.name] = std::move(family);
  return raw;
}

absl::Status Registry::AddCallback(const MetricSpec& spec,
                                   absl::string_view type,
                                   SampleCallback samples) {
  if (!samples) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, " ", spec.name, ": no callback"));
  }
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckAndReserve(spec, type); !s.ok()) return s;
  families_[spec.name] = std::make_unique<metrics_internal::CallbackFamily>(
      spec.name, spec.help, std::string(type), spec.labels, spec.caps,
      std::move(samples));
  return absl::OkStatus();
}

namespace {

// Adapts a label-less callback; nullptr stays nullptr for AddCallback to
// refuse.
SampleCallback Single(std::function<double()> value) {
  if (!value) return nullptr;
  return [value = std::move(value)] {
    return std::vector<CallbackSample>{{.label_values = {}, .value = value()}};
  };
}

absl::Status NoLabels(const MetricSpec& spec) {
  if (spec.labels.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(spec.name, ": a single-value callback has no labels"));
}

}  // namespace

absl::Status Registry::AddGaugeCallback(const MetricSpec& spec,
                                        std::function<double()> value) {
  if (absl::Status s = NoLabels(spec); !s.ok()) return s;
  return AddCallback(spec, "gauge", Single(std::move(value)));
}

absl::Status Registry::AddGaugeCallback(const MetricSpec& spec,
                                        SampleCallback samples) {
  return AddCallback(spec, "gauge", std::move(samples));
}

absl::Status Registry::AddCounterCallback(const MetricSpec& spec,
                                          std::function<double()> value) {
  if (absl::Status s = NoLabels(spec); !s.ok()) return s;
  return AddCallback(spec, "counter", Single(std::move(value)));
}

absl::Status Registry::AddCounterCallback(const MetricSpec& spec,
                                          SampleCallback samples) {
  return AddCallback(spec, "counter", std::move(samples));
}

std::string Registry::Render() const {
  absl::ReaderMutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(family->help()),
                    "\n# TYPE ", name, " ", family->type(), "\n");
    family->AppendSamples(&out);
  }
  return out;
}

}  // namespace envelope::metrics
