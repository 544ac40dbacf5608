#ifndef GATEWAY_METRICS_NAMES_H_
#define GATEWAY_METRICS_NAMES_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace envelope::metrics {

// Prometheus metric name rules, `[a-zA-Z_][a-zA-Z0-9_]*`. Two stricter
// choices: no colons (reserved for recording rules, never for
// instrumentation) and no leading "__" (reserved for Prometheus itself).
// INVALID_ARGUMENT naming the offender otherwise.
absl::Status ValidateMetricName(absl::string_view name);

// Label name rules, `[a-zA-Z_][a-zA-Z0-9_]*`, without a leading "__".
absl::Status ValidateLabelName(absl::string_view name);

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_NAMES_H_
