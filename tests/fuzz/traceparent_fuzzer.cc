// The trace context a caller sends: StartCallTrace, ParseTraceparent and
// BoundedTracestate (gateway/trace/trace_context.h) on any metadata values.
//
// Input: the traceparent value, then (after the first '\n', if any) the
// tracestate value.
//
// Beyond "no crash, no sanitizer report":
//   - a traceparent parses only if it is exactly the 55 characters that
//     FormatTraceparent writes back for what was parsed (version 00,
//     lowercase hex), with ids not all zero;
//   - the call's trace always has a valid trace id and a span id, and it is
//     the caller's exactly when the traceparent parsed;
//   - the tracestate passed upstream is printable ASCII of at most
//     kMaxTracestateSize characters, a prefix of what was sent, and empty
//     unless the traceparent parsed (docs/operations.md, "Traces").
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gateway/trace/trace_context.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr char kHarness[] = "traceparent_fuzzer";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace envelope::trace;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const absl::string_view traceparent = input.substr(0, newline);
  const absl::string_view tracestate = newline == absl::string_view::npos
                                           ? absl::string_view()
                                           : input.substr(newline + 1);

  const std::optional<TraceParent> parent = ParseTraceparent(traceparent);
  if (parent.has_value()) {
    char written[kTraceparentSize];
    FormatTraceparent(parent->trace_id, parent->parent_id, parent->flags,
                      written);
    FUZZ_CHECK(kHarness,
               absl::string_view(written, kTraceparentSize) == traceparent,
               "a traceparent parsed that is not what it formats back to");
    FUZZ_CHECK(kHarness, parent->trace_id.valid() && parent->parent_id != 0,
               "an all-zero id parsed");
  }

  const CallTrace trace =
      StartCallTrace(traceparent, tracestate, /*sample_new=*/true);
  FUZZ_CHECK(kHarness, trace.trace_id.valid() && trace.span_id != 0,
             "a call trace without ids");
  FUZZ_CHECK(
      kHarness,
      parent.has_value() == (trace.parent_id != 0) &&
          (!parent.has_value() || (trace.trace_id == parent->trace_id &&
                                   trace.parent_id == parent->parent_id &&
                                   trace.flags == parent->flags)),
      "the caller's trace is not the one continued");
  FUZZ_CHECK(kHarness, parent.has_value() || trace.tracestate.empty(),
             "a tracestate kept without a valid traceparent");
  FUZZ_CHECK(kHarness, trace.tracestate.size() <= kMaxTracestateSize,
             "a tracestate over the bound");
  FUZZ_CHECK(kHarness, envelope::fuzz::IsPrintableAscii(trace.tracestate),
             "a tracestate that is not printable ASCII");
  FUZZ_CHECK(kHarness, absl::StartsWith(tracestate, trace.tracestate),
             "a tracestate that is not a prefix of the one sent");
  return 0;
}
