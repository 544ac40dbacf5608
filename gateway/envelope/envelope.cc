#include "gateway/envelope/envelope.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"

namespace envelope {
namespace {

size_t SkipSpace(absl::string_view s, size_t i) {
  while (i < s.size() &&
         (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) {
    ++i;
  }
  return i;
}

// Index just past the string literal that starts at s[i] == '"'.
size_t SkipString(absl::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return s.size();
}

// Index just past the JSON value that starts at s[i].
size_t SkipValue(absl::string_view s, size_t i) {
  if (i >= s.size()) return i;
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] != '{' && s[i] != '[') {
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
           s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t') {
      ++i;
    }
    return i;
  }
  int depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      i = SkipString(s, i);
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
    ++i;
  }
  return i;
}

std::string StringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
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

absl::string_view FindMemberText(absl::string_view json,
                                 absl::string_view name) {
  size_t i = SkipSpace(json, 0);
  if (i >= json.size() || json[i] != '{') return {};
  i = SkipSpace(json, i + 1);
  while (i < json.size() && json[i] == '"') {
    size_t key_end = SkipString(json, i);
    absl::string_view key = json.substr(i + 1, key_end - i - 2);
    i = SkipSpace(json, key_end);
    if (i >= json.size() || json[i] != ':') return {};
    i = SkipSpace(json, i + 1);
    size_t value_end = SkipValue(json, i);
    if (key == name) return json.substr(i, value_end - i);
    i = SkipSpace(json, value_end);
    if (i < json.size() && json[i] == ',') i = SkipSpace(json, i + 1);
  }
  return {};
}

absl::StatusOr<Envelope> ParseEnvelope(absl::string_view body) {
  Envelope envelope;
  envelope.document = std::make_unique<rapidjson::Document>();
  auto& doc = *envelope.document;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    return Malformed(absl::StrCat(
        "body is not JSON (", rapidjson::GetParseError_En(doc.GetParseError()),
        " at offset ", doc.GetErrorOffset(), ", ", body.size(), " bytes)"));
  }
  if (!doc.IsObject()) return Malformed("body is not a JSON object");
  auto response = doc.FindMember("Response");
  if (response == doc.MemberEnd() || !response->value.IsObject()) {
    return Malformed("no \"Response\" object");
  }
  envelope.response = &response->value;
  envelope.response_text = FindMemberText(body, "Response");
  envelope.request_id = StringMember(response->value, "RequestId");
  auto error = response->value.FindMember("Error");
  if (error == response->value.MemberEnd()) return envelope;
  if (!error->value.IsObject()) {
    return WithRequestId(Malformed("\"Error\" is not an object"),
                         envelope.request_id);
  }
  envelope.is_error = true;
  envelope.error_code = StringMember(error->value, "Code");
  if (envelope.error_code.empty()) {
    return WithRequestId(Malformed("\"Error\" has no string \"Code\""),
                         envelope.request_id);
  }
  envelope.error_message = StringMember(error->value, "Message");
  return envelope;
}

}  // namespace envelope
