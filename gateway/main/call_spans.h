// File: gateway/main/call_spans.h
//
// The spans of one finished call, made from its CallRecord at the call's
// end: one SERVER span for the call and one CLIENT span per upstream
// attempt, named and attributed as OpenTelemetry's RPC and HTTP semantic
// conventions say (docs/operations.md, "Traces").

#ifndef GATEWAY_MAIN_CALL_SPANS_H_
#define GATEWAY_MAIN_CALL_SPANS_H_

#include <vector>

#include "gateway/front/server.h"
#include "gateway/trace/otlp_exporter.h"

namespace envelope {

// The call's spans; none when the call has no trace or its trace is not
// sampled.
//
// Example:
//
//   exporter->Add(CallSpans(record));
std::vector<trace::Span> CallSpans(const CallRecord& record);

}  // namespace envelope

#endif  // GATEWAY_MAIN_CALL_SPANS_H_
