#include "gateway/envelope/envelope.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "gateway/envelope/text_limits.h"

namespace envelope {
namespace {

std::string Field(json::Element object, absl::string_view name) {
  return std::string(
      Utf8Prefix(json::StringMember(object, name), kMaxEnvelopeField));
}

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("upstream answered with a malformed envelope: ", what));
}

absl::Status WithRequestId(absl::Status status, absl::string_view request_id) {
  if (!request_id.empty()) {
    status.SetPayload(kRequestIdPayload, absl::Cord(request_id));
  }
  return status;
}

}  // namespace

absl::StatusOr<Envelope> ParseEnvelope(absl::string_view body) {
  Envelope envelope;
  absl::StatusOr<json::Document> document = json::Parse(body);
  if (!document.ok()) {
    return Malformed(absl::StrCat("body is ", document.status().message()));
  }
  envelope.document = *std::move(document);
  json::Element root = envelope.document.root();
  if (!root.is_object()) return Malformed("body is not a JSON object");
  std::optional<json::Element> response = json::Member(root, "Response");
  if (!response.has_value() || !response->is_object()) {
    return Malformed("no \"Response\" object");
  }
  envelope.response = *response;
  envelope.body = body;
  envelope.request_id = Field(*response, "RequestId");
  std::optional<json::Element> error = json::Member(*response, "Error");
  if (!error.has_value()) return envelope;
  if (!error->is_object()) {
    return WithRequestId(Malformed("\"Error\" is not an object"),
                         envelope.request_id);
  }
  envelope.is_error = true;
  envelope.error_code = Field(*error, "Code");
  if (envelope.error_code.empty()) {
    return WithRequestId(Malformed("\"Error\" has no string \"Code\""),
                         envelope.request_id);
  }
  envelope.error_message = Field(*error, "Message");
  return envelope;
}

}  // namespace envelope
