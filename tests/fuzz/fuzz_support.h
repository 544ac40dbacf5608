// Shared by the libFuzzer harnesses (tests/fuzz/README.md): the oracle's
// failure, a strict UTF-8 check, and a walk over every string a message
// holds.
#ifndef TESTS_FUZZ_FUZZ_SUPPORT_H_
#define TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"

namespace envelope::fuzz {

// A violated property is a finding like a crash: libFuzzer saves the input
// (crash-<sha1>) only when the process dies, so the message goes to stderr
// and the process aborts.
[[noreturn]] inline void Fail(const char* harness, const std::string& what) {
  std::fprintf(stderr, "%s: FINDING: %s\n", harness, what.c_str());
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(harness, condition, what) \
  do {                                       \
    if (!(condition)) {                      \
      ::envelope::fuzz::Fail(harness, what); \
    }                                        \
  } while (0)

// Printable ASCII (0x20..0x7E): what gRPC accepts in ASCII metadata, and
// what a diagnostic line may hold.
inline bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
// The same bytes protobuf refuses in a proto3 string when it parses.
inline bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const uint8_t b = static_cast<uint8_t>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

// Calls `visit(field, value)` for every string (not bytes) value in
// `message` and its sub-messages, map keys and values included.
inline void ForEachString(
    const google::protobuf::Message& message,
    const std::function<void(const google::protobuf::FieldDescriptor*,
                             const std::string&)>& visit) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const bool is_string = field->type() == FieldDescriptor::TYPE_STRING;
    const bool is_message =
        field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!is_string && !is_message) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < r->FieldSize(message, field); ++i) {
        if (is_string) {
          visit(field, r->GetRepeatedString(message, field, i));
        } else {
          ForEachString(r->GetRepeatedMessage(message, field, i), visit);
        }
      }
    } else if (is_string) {
      visit(field, r->GetString(message, field));
    } else {
      ForEachString(r->GetMessage(message, field), visit);
    }
  }
}

// The HTTP status an input's first byte stands for, in the harnesses that
// read an upstream's answer: its low four bits, so that a seed stays
// readable text. '0'..'7' (and any byte whose low bits are 0..7) is 200, the
// status of nearly every API answer; '8' 400, '9' 401, ':' 403, ';' 404,
// '<' 429, '=' 502, '>' 503, '?' 504.
inline long HttpStatusOf(uint8_t byte) {
  static constexpr long kStatuses[16] = {200, 200, 200, 200, 200, 200,
                                         200, 200, 400, 401, 403, 404,
                                         429, 502, 503, 504};
  return kStatuses[byte & 0x0F];
}

// A selector line at the start of an input: "@full.message.Name\n" names
// the message the rest goes into. Returns the name (empty: no selector) and
// advances `data` past the line.
inline std::string TakeSelector(absl::string_view* data) {
  if (data->empty() || data->front() != '@') return "";
  const size_t nl = data->find('\n');
  if (nl == absl::string_view::npos) return "";
  std::string name(data->substr(1, nl - 1));
  data->remove_prefix(nl + 1);
  return name;
}

// Whether `a` and `b` hold the same values; "" when they do, else protobuf's
// account of the differences. NaN equals NaN: the values compared went
// through JSON or the wire, where a NaN stays a NaN.
inline std::string Differences(const google::protobuf::Message& a,
                               const google::protobuf::Message& b) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(a, b)) return "";
  return report.empty() ? "(no report)" : report;
}

}  // namespace envelope::fuzz

#endif  // TESTS_FUZZ_FUZZ_SUPPORT_H_
