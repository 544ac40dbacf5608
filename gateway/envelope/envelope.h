#ifndef GATEWAY_ENVELOPE_ENVELOPE_H_
#define GATEWAY_ENVELOPE_ENVELOPE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"

namespace envelope {

// A parsed API 3.0 envelope: {"Response": {...}}. Views point into the body
// passed to ParseEnvelope, which must outlive the Envelope.
struct Envelope {
  // The parsed document; `response` points into it.
  std::unique_ptr<rapidjson::Document> document;
  const rapidjson::Value* response = nullptr;
  // The Response object exactly as the upstream sent it.
  absl::string_view response_text;
  std::string request_id;
  // Set on a failure envelope (one that holds "Error").
  bool is_error = false;
  std::string error_code;
  std::string error_message;
};

// Parses a body. Not JSON, no Response object, or an Error without a string
// Code is INTERNAL with a message saying what was wrong (never the body).
// When the Response held a string RequestId, that status carries it as the
// payload kRequestIdPayload: the x-tc-requestid trailer goes out "whenever
// the upstream gave one" (SPEC §5), broken envelope or not.
absl::StatusOr<Envelope> ParseEnvelope(absl::string_view body);

inline constexpr absl::string_view kRequestIdPayload =
    "envelope-gateway/upstream-request-id";

// The raw text of the top-level member `name` of a JSON object, or empty when
// there is none. `json` must be valid JSON (ParseEnvelope checks it first).
absl::string_view FindMemberText(absl::string_view json,
                                 absl::string_view name);

}  // namespace envelope

#endif  // GATEWAY_ENVELOPE_ENVELOPE_H_
