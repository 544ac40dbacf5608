// File: gateway/trace/trace_context.h
//
// W3C Trace Context (level 1) as the gateway uses it: the caller's
// `traceparent`/`tracestate` metadata read strictly, a new trace started when
// they are absent or invalid, ids drawn from a per-thread generator (no
// system call per call), and the `traceparent` each upstream attempt carries
// (docs/operations.md, "Traces").
//
// Ids are held as integers: a trace id as two 64-bit halves and a span id as
// one, big-endian (the first hex digit is the high nibble of `high`), which
// is also the byte order OTLP sends them in.

#ifndef GATEWAY_TRACE_TRACE_CONTEXT_H_
#define GATEWAY_TRACE_TRACE_CONTEXT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace envelope::trace {

// 128 bits; all zero is invalid.
struct TraceId {
  uint64_t high = 0;
  uint64_t low = 0;
  bool valid() const { return (high | low) != 0; }
  friend bool operator==(const TraceId&, const TraceId&) = default;
};

// The sampled bit of the trace flags.
inline constexpr uint8_t kSampled = 0x01;

// A parsed `traceparent`: version 00 only, lowercase hex.
struct TraceParent {
  TraceId trace_id;
  uint64_t parent_id = 0;  // the caller's span
  uint8_t flags = 0;
};

// Length of a version-00 traceparent: "00-" 32 "-" 16 "-" 2.
inline constexpr size_t kTraceparentSize = 55;

// The longest tracestate passed on: W3C asks that at least 512 characters be
// propagated; longer ones lose list members from the end.
inline constexpr size_t kMaxTracestateSize = 512;

// Reads a `traceparent` value strictly (W3C Trace Context level 1): exactly
// "00-<32 hex>-<16 hex>-<2 hex>", lowercase, trace id and parent id not all
// zero. Anything else is nullopt (the caller's context is then ignored and a
// new trace started).
//
// Example:
//
//   std::optional<TraceParent> parent = ParseTraceparent(
//       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//   // parent->trace_id.high == 0x4bf92f3577b34da6, parent->flags == 1
std::optional<TraceParent> ParseTraceparent(absl::string_view value);

// `tracestate` as it is passed on: empty when it has a character outside
// printable ASCII (the header would be invalid); list members dropped from
// the end, at commas, until it fits kMaxTracestateSize.
//
// Example:
//
//   std::string state = BoundedTracestate("congo=t61rcWkgMzE,rojo=00f0");
//   // "congo=t61rcWkgMzE,rojo=00f0"
std::string BoundedTracestate(absl::string_view value);

// Writes "00-<trace>-<span>-<flags>" into `out` (kTraceparentSize chars, no
// terminating NUL).
//
// Example:
//
//   char header[kTraceparentSize];
//   FormatTraceparent(trace_id, span_id, kSampled, header);
void FormatTraceparent(const TraceId& trace_id, uint64_t span_id, uint8_t flags,
                       char* out);

// 32 and 16 lowercase hex digits, as the access log writes them.
//
// Example:
//
//   std::string text = TraceIdHex(context.trace_id);  // "4bf92f35..."
std::string TraceIdHex(const TraceId& id);
std::string SpanIdHex(uint64_t id);

// Random, never zero ids from a generator of the calling thread's own
// (seeded once per thread from the system's entropy).
//
// Example:
//
//   TraceId trace_id = NewTraceId();
//   uint64_t span_id = NewSpanId();
TraceId NewTraceId();
uint64_t NewSpanId();

// A call's place in its trace: the trace (the caller's, or a new one), the
// caller's span (0 when the trace is new), the gateway's own span for the
// call, the flags and tracestate passed on.
struct CallTrace {
  TraceId trace_id;
  uint64_t parent_id = 0;  // 0: the trace starts at the gateway
  uint64_t span_id = 0;    // the gateway's span of the call
  uint8_t flags = 0;
  std::string tracestate;  // bounded; empty: none

  bool sampled() const { return (flags & kSampled) != 0; }
};

// The call's trace from its metadata values (empty when absent): the
// caller's trace when `traceparent` is valid, else a new one whose flags say
// sampled when `sample_new` (the gateway exports spans). A tracestate is kept
// only with a valid traceparent (W3C: it belongs to that trace).
//
// Example:
//
//   CallTrace trace = StartCallTrace(Metadata("traceparent"),
//                                    Metadata("tracestate"), exporting);
CallTrace StartCallTrace(absl::string_view traceparent,
                         absl::string_view tracestate, bool sample_new);

}  // namespace envelope::trace

#endif  // GATEWAY_TRACE_TRACE_CONTEXT_H_
