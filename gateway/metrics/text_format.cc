#include "gateway/metrics/text_format.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace envelope::metrics {
namespace {

// Length of the valid UTF-8 sequence at the start of `s`, 0 if invalid
// (overlong forms, surrogates and values past U+10FFFF included).
size_t Utf8SequenceLength(absl::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](size_t i) {
    return i < s.size() && (byte(i) & 0xC0) == 0x80;
  };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (b0 == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (b0 == 0xED && byte(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (b0 == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && byte(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Exactly representable integers print as integers, so counts in gauges
  // and bucket bounds like 1 or 5 read naturally.
  constexpr double kMaxExact = 9007199254740992.0;  // 2^53
  if (std::trunc(value) == value && std::fabs(value) < kMaxExact) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

std::string FormatValue(uint64_t value) { return absl::StrCat(value); }

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string SanitizeUtf8(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  while (!value.empty()) {
    const size_t n = Utf8SequenceLength(value);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      value.remove_prefix(1);
    } else {
      out.append(value.data(), n);
      value.remove_prefix(n);
    }
  }
  return out;
}

void AppendSample(absl::string_view name, absl::Span<const std::string> names,
                  absl::Span<const std::string> values,
                  absl::string_view extra_name, absl::string_view extra_value,
                  absl::string_view value, std::string* out) {
  absl::StrAppend(out, name);
  if (!names.empty() || !extra_name.empty()) {
    out->push_back('{');
    const char* sep = "";
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
      absl::StrAppend(out, sep, names[i], "=\"", EscapeLabelValue(values[i]),
                      "\"");
      sep = ",";
    }
    if (!extra_name.empty()) {
      absl::StrAppend(out, sep, extra_name, "=\"",
                      EscapeLabelValue(extra_value), "\"");
    }
    out->push_back('}');
  }
  absl::StrAppend(out, " ", value, "\n");
}

}  // namespace envelope::metrics
