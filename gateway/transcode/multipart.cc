#include "gateway/transcode/multipart.h"

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/json/json.h"
#include "gateway/transcode/transcode.h"

namespace envelope {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// `message` with only `field` set, as JSON: {"Name":<value>}; the value.
absl::StatusOr<std::string> FieldJson(const Message& message,
                                      const FieldDescriptor* field) {
  std::unique_ptr<Message> single(message.New());
  single->CopyFrom(message);
  std::vector<const FieldDescriptor*> set;
  single->GetReflection()->ListFields(*single, &set);
  for (const FieldDescriptor* other : set) {
    if (other != field)
      single->GetReflection()->ClearField(single.get(), other);
  }
  std::string json;
  if (absl::Status s = MessageToJson(*single, &json); !s.ok()) return s;
  // {"<json name>":<value>}
  const size_t prefix = field->json_name().size() + 4;
  if (json.size() < prefix + 1) {
    return absl::InternalError(absl::StrCat("no JSON for ", field->name()));
  }
  return json.substr(prefix, json.size() - prefix - 1);
}

void AppendPartHead(absl::string_view boundary, absl::string_view name,
                    std::string* out) {
  absl::StrAppend(out, "--", boundary,
                  "\r\nContent-Disposition: form-data; name=\"", name, "\"");
}

}  // namespace

bool TakesMultipart(const google::protobuf::Descriptor& request) {
  for (int i = 0; i < request.field_count(); ++i) {
    const FieldDescriptor* field = request.field(i);
    if (field->type() == FieldDescriptor::TYPE_BYTES && !field->is_repeated()) {
      return true;
    }
  }
  return false;
}

std::string MultipartContentType(std::string* boundary) {
  // A boundary need not be secret, only absent from the body.
  thread_local std::mt19937_64 random{std::random_device{}()};
  const uint64_t high = random();
  const uint64_t low = random();
  *boundary = absl::StrCat(absl::Hex(high, absl::kZeroPad16),
                           absl::Hex(low, absl::kZeroPad16));
  return absl::StrCat("multipart/form-data; boundary=", *boundary);
}

absl::Status MessageToMultipart(const Message& message,
                                absl::string_view boundary, std::string* out) {
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> set;
  reflection->ListFields(message, &set);
  std::string scratch;
  for (const FieldDescriptor* field : set) {
    const std::string& name = field->json_name();
    AppendPartHead(boundary, name, out);
    if (!field->is_repeated() && field->type() == FieldDescriptor::TYPE_BYTES) {
      absl::StrAppend(out, "; filename=\"", name, "\"\r\n\r\n",
                      reflection->GetStringReference(message, field, &scratch),
                      "\r\n");
      continue;
    }
    if (!field->is_repeated() &&
        field->type() == FieldDescriptor::TYPE_STRING) {
      const std::string& text =
          reflection->GetStringReference(message, field, &scratch);
      if (!simdjson::validate_utf8(text.data(), text.size())) {
        return absl::InvalidArgumentError(
            "request holds a string field that is not valid UTF-8");
      }
      absl::StrAppend(out, "\r\n\r\n", text, "\r\n");
      continue;
    }
    absl::StatusOr<std::string> json = FieldJson(message, field);
    if (!json.ok()) return json.status();
    if (!simdjson::validate_utf8(json->data(), json->size())) {
      return absl::InvalidArgumentError(
          "request holds a string field that is not valid UTF-8");
    }
    const bool structured =
        field->is_repeated() || field->type() == FieldDescriptor::TYPE_MESSAGE;
    absl::StrAppend(out, "\r\n",
                    structured ? "Content-Type: application/json\r\n" : "",
                    "\r\n", *json, "\r\n");
  }
  if (!set.empty()) absl::StrAppend(out, "--", boundary, "--\r\n");
  return absl::OkStatus();
}

}  // namespace envelope
