#ifndef GATEWAY_METRICS_TEXT_FORMAT_H_
#define GATEWAY_METRICS_TEXT_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

// Pieces of the Prometheus text exposition format 0.0.4.
namespace envelope::metrics {

// A sample value: integral values below 2^53 without exponent or fraction
// ("42"), others in the shortest form that reads back to the same double
// ("0.25", "1e-05"), and "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);
std::string FormatValue(uint64_t value);

// `# HELP` text: backslash and newline escaped.
std::string EscapeHelp(absl::string_view help);

// A label value: backslash, double quote and newline escaped.
std::string EscapeLabelValue(absl::string_view value);

// Label values must be UTF-8 or Prometheus refuses the whole scrape; a value
// from upstream (an error code) could be anything, so bad bytes become
// U+FFFD.
std::string SanitizeUtf8(absl::string_view value);

// Appends `name{n1="v1",...,extra_name="extra_value"} value\n`; the braces
// are left out when there are no labels. `names` and `values` have the same
// size; `extra_name` empty means no extra label (it is "le" for buckets).
void AppendSample(absl::string_view name, absl::Span<const std::string> names,
                  absl::Span<const std::string> values,
                  absl::string_view extra_name, absl::string_view extra_value,
                  absl::string_view value, std::string* out);

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_TEXT_FORMAT_H_
