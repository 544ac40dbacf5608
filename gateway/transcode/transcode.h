#ifndef GATEWAY_TRANSCODE_TRANSCODE_H_
#define GATEWAY_TRANSCODE_TRANSCODE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gateway/json/json.h"
#include "google/protobuf/message.h"

namespace envelope {

// Descriptor-driven proto <-> JSON in the API 3.0 conventions (docs/design.md):
// members named by json_name (the API's spelling), 64-bit integers as JSON
// numbers, unset fields not sent, JSON null = unset.

// Appends `text` as a JSON string literal (quoted, escaped); bytes that are
// not UTF-8 become U+FFFD, so the result is always valid JSON (for logs).
void AppendJsonString(absl::string_view text, std::string* out);

// Writes `message` as a JSON object to `out` (appended). Errors are
// INVALID_ARGUMENT, for values with no proto3 JSON form: google.protobuf.Any
// nested more than 8 deep (each level is parsed anew), a Duration or
// Timestamp out of range or of mixed signs (docs/errors.md, "Hostile input").
absl::Status MessageToJson(const google::protobuf::Message& message,
                           std::string* out);

struct JsonReadStats {
  // Members of the JSON that no field of the message names; ignored.
  int unknown_members = 0;
};

// Reads a JSON object (from json::Parse) into `message`. Errors are
// INVALID_ARGUMENT naming the member path: "InstanceSet[3].Placement.Zone:
// expected string, got number". Values no valid protobuf message can hold
// are errors too (docs/errors.md, "Hostile input"): nesting deeper than 100
// messages, a Timestamp or Duration out of range, a float out of range.
absl::Status JsonValueToMessage(json::Element json,
                                google::protobuf::Message* message,
                                JsonReadStats* stats = nullptr);

// As JsonValueToMessage, but no message is built: the JSON is written
// straight into the protobuf wire format of `type`, appended to `out`. The
// bytes parse as the message JsonValueToMessage would fill (fields in the
// JSON's order; default values of fields without presence left out). The
// hot path of every typed answer.
//
// Example:
//
//   std::string payload;
//   absl::Status status = JsonValueToWire(
//       envelope.response, method->output_type(), &payload);
absl::Status JsonValueToWire(json::Element json,
                             const google::protobuf::Descriptor* type,
                             std::string* out, JsonReadStats* stats = nullptr);

// As above, from text.
absl::Status JsonToMessage(absl::string_view json,
                           google::protobuf::Message* message,
                           JsonReadStats* stats = nullptr);

}  // namespace envelope

#endif  // GATEWAY_TRANSCODE_TRANSCODE_H_
