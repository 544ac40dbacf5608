#ifndef GATEWAY_ENVELOPE_ENVELOPE_H_
#define GATEWAY_ENVELOPE_ENVELOPE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/json/json.h"

namespace envelope {

// A parsed API 3.0 envelope: {"Response": {...}}. Views point into the body
// passed to ParseEnvelope, which must outlive the Envelope.
struct Envelope {
  // The parsed document (docs/errors.md, "Hostile input": one reader, one
  // rule for every input); `response` points into it.
  json::Document document;
  json::Element response;
  // The body ParseEnvelope read.
  absl::string_view body;
  // The Response object exactly as the upstream sent it: found on demand
  // (a scan of the body), since only the untyped route needs it.
  absl::string_view ResponseText() const {
    return json::FindMemberText(body, "Response");
  }
  std::string request_id;
  // Set on a failure envelope (one that holds "Error").
  bool is_error = false;
  std::string error_code;
  std::string error_message;
};

// Parses a body. Not JSON, no Response object, or an Error without a string
// Code is INTERNAL with a message saying what was wrong (never the body).
// request_id, error_code and error_message are the upstream's text as it
// came, cut to kMaxEnvelopeField bytes (at a UTF-8 boundary): what goes
// into gRPC metadata is made safe later (outcome.h).
// When the Response held a string RequestId, that status carries it as the
// payload kRequestIdPayload: the x-tc-requestid trailer goes out "whenever
// the upstream gave one" (docs/errors.md, "Details"), broken envelope or not.
absl::StatusOr<Envelope> ParseEnvelope(absl::string_view body);

inline constexpr absl::string_view kRequestIdPayload =
    "envelope-gateway/upstream-request-id";

// The longest RequestId, Error.Code or Error.Message kept from an envelope.
inline constexpr size_t kMaxEnvelopeField = 4096;

}  // namespace envelope

#endif  // GATEWAY_ENVELOPE_ENVELOPE_H_
