#include "gateway/trace/trace_context.h"

#include <random>

namespace envelope::trace {
namespace {

// A lowercase hex digit's value, or -1 (W3C level 1: uppercase is invalid).
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reads 2 * `bytes` hex digits at `text` into `out`; false on a bad digit.
bool ReadHex(const char* text, int bytes, uint64_t* out) {
  uint64_t value = 0;
  for (int i = 0; i < 2 * bytes; ++i) {
    const int digit = HexValue(text[i]);
    if (digit < 0) return false;
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  *out = value;
  return true;
}

constexpr char kDigits[] = "0123456789abcdef";

void WriteHex(uint64_t value, int bytes, char* out) {
  for (int i = 2 * bytes - 1; i >= 0; --i) {
    out[i] = kDigits[value & 0xf];
    value >>= 4;
  }
}

// The calling thread's generator, SplitMix64: seeded once per thread from
// the system's entropy, then a few instructions per id rather than a system
// call. Ids need to be unique and unpredictable enough not to collide, not
// secret.
uint64_t NextRandom() {
  thread_local uint64_t state = [] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }();
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::optional<TraceParent> ParseTraceparent(absl::string_view value) {
  // "00-" + 32 + "-" + 16 + "-" + 2: exactly, as version 00 defines it
  // (docs/operations.md, "Traces").
  if (value.size() != kTraceparentSize) return std::nullopt;
  const char* p = value.data();
  if (p[0] != '0' || p[1] != '0' || p[2] != '-' || p[35] != '-' ||
      p[52] != '-') {
    return std::nullopt;
  }
  TraceParent parent;
  uint64_t flags = 0;
  if (!ReadHex(p + 3, 8, &parent.trace_id.high) ||
      !ReadHex(p + 19, 8, &parent.trace_id.low) ||
      !ReadHex(p + 36, 8, &parent.parent_id) || !ReadHex(p + 53, 1, &flags)) {
    return std::nullopt;
  }
  if (!parent.trace_id.valid() || parent.parent_id == 0) return std::nullopt;
  parent.flags = static_cast<uint8_t>(flags);
  return parent;
}

std::string BoundedTracestate(absl::string_view value) {
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return "";
  }
  while (value.size() > kMaxTracestateSize) {
    const size_t comma = value.rfind(',');
    if (comma == absl::string_view::npos) return "";
    value = value.substr(0, comma);
  }
  // A list ended by the cut, or sent with trailing separators: no empty
  // last member.
  while (!value.empty() &&
         (value.back() == ',' || value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  return std::string(value);
}

void FormatTraceparent(const TraceId& trace_id, uint64_t span_id, uint8_t flags,
                       char* out) {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  WriteHex(trace_id.high, 8, out + 3);
  WriteHex(trace_id.low, 8, out + 19);
  out[35] = '-';
  WriteHex(span_id, 8, out + 36);
  out[52] = '-';
  WriteHex(flags, 1, out + 53);
}

std::string TraceIdHex(const TraceId& id) {
  std::string text(32, '0');
  WriteHex(id.high, 8, text.data());
  WriteHex(id.low, 8, text.data() + 16);
  return text;
}

std::string SpanIdHex(uint64_t id) {
  std::string text(16, '0');
  WriteHex(id, 8, text.data());
  return text;
}

uint64_t NewSpanId() {
  uint64_t id;
  do {
    id = NextRandom();
  } while (id == 0);
  return id;
}

TraceId NewTraceId() {
  TraceId id;
  do {
    id.high = NextRandom();
    id.low = NextRandom();
  } while (!id.valid());
  return id;
}

CallTrace StartCallTrace(absl::string_view traceparent,
                         absl::string_view tracestate, bool sample_new) {
  CallTrace trace;
  trace.span_id = NewSpanId();
  if (!traceparent.empty()) {
    std::optional<TraceParent> parent = ParseTraceparent(traceparent);
    if (parent.has_value()) {
      trace.trace_id = parent->trace_id;
      trace.parent_id = parent->parent_id;
      trace.flags = parent->flags;
      if (!tracestate.empty()) trace.tracestate = BoundedTracestate(tracestate);
      return trace;
    }
  }
  trace.trace_id = NewTraceId();
  trace.flags = sample_new ? kSampled : 0;
  return trace;
}

}  // namespace envelope::trace
