// JSON -> Message, by the message's descriptor. Members are found by their
// json_name (the API's spelling) or, as proto3 JSON allows, the field name.
#include <cmath>
#include <limits>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/transcode/json_internal.h"
#include "gateway/transcode/transcode.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/reflection.h"
#include "rapidjson/error/en.h"

namespace envelope {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using FieldIndex = absl::flat_hash_map<std::string, const FieldDescriptor*>;

// Member name -> field, built once per message type.
FieldIndex BuildFieldIndex(const Descriptor* descriptor) {
  FieldIndex index;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    index.emplace(field->json_name(), field);
    index.emplace(field->name(), field);
  }
  return index;
}

const FieldIndex& IndexOf(const Descriptor* descriptor) {
  return json_internal::CachedPerDescriptor<FieldIndex, BuildFieldIndex>(
      descriptor);
}

// google.protobuf.Value is the one type for which JSON null is a value.
bool HoldsJsonValue(const FieldDescriptor* field) {
  return field->message_type() != nullptr &&
         field->message_type()->full_name() == "google.protobuf.Value";
}

const char* KindOf(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "value";
}

class Reader {
 public:
  explicit Reader(JsonReadStats* stats) : stats_(stats) {}

  absl::Status ReadMessage(const rapidjson::Value& json, Message* message) {
    if (json_internal::IsWellKnown(message->GetDescriptor())) {
      return ReadWellKnown(json, message);
    }
    if (!json.IsObject()) return Mismatch("object", json);
    const FieldIndex& index = IndexOf(message->GetDescriptor());
    for (const auto& member : json.GetObject()) {
      absl::string_view name(member.name.GetString(),
                             member.name.GetStringLength());
      auto it = index.find(name);
      if (it == index.end()) {
        if (stats_ != nullptr) ++stats_->unknown_members;
        continue;
      }
      if (member.value.IsNull() && !HoldsJsonValue(it->second)) {
        continue;  // null = unset
      }
      path_.push_back({.member = name});
      absl::Status status = ReadField(member.value, it->second, message);
      if (!status.ok()) return status;
      path_.pop_back();
    }
    return absl::OkStatus();
  }

 private:
  // One step of the path to the value being read; rendered only for an
  // error, so reading costs a push and a pop per member.
  struct Step {
    absl::string_view member;  // "Placement"
    int index = -1;            // [3]
    absl::string_view key;     // ["k"] of a map
  };

  std::string PathText() const {
    std::string text;
    for (const Step& step : path_) {
      if (!step.member.empty()) {
        if (!text.empty()) text.push_back('.');
        text.append(step.member.data(), step.member.size());
      } else if (step.index >= 0) {
        absl::StrAppend(&text, "[", step.index, "]");
      } else {
        absl::StrAppend(&text, "[\"", step.key, "\"]");
      }
    }
    return text.empty() ? "(root)" : text;
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(PathText(), ": ", what));
  }

  absl::Status Mismatch(absl::string_view expected,
                        const rapidjson::Value& got) const {
    return Error(absl::StrCat("expected ", expected, ", got ", KindOf(got)));
  }

  absl::Status ReadField(const rapidjson::Value& json,
                         const FieldDescriptor* field, Message* message) {
    if (field->is_map()) return ReadMap(json, field, message);
    if (!field->is_repeated()) return ReadValue(json, field, message, false);
    if (!json.IsArray()) return Mismatch("array", json);
    size_t i = 0;
    for (const auto& element : json.GetArray()) {
      path_.push_back({.index = static_cast<int>(i++)});
      if (element.IsNull() && !HoldsJsonValue(field)) {
        return Error("null is not allowed in an array");
      }
      absl::Status status = ReadValue(element, field, message, true);
      if (!status.ok()) return status;
      path_.pop_back();
    }
    return absl::OkStatus();
  }

  absl::Status ReadMap(const rapidjson::Value& json,
                       const FieldDescriptor* field, Message* message) {
    if (!json.IsObject()) return Mismatch("object", json);
    const Reflection* r = message->GetReflection();
    for (const auto& member : json.GetObject()) {
      path_.push_back(
          {.key = absl::string_view(member.name.GetString(),
                                    member.name.GetStringLength())});
      Message* entry = r->AddMessage(message, field);
      const FieldDescriptor* key = entry->GetDescriptor()->map_key();
      // Map keys are strings in JSON, whatever the key type.
      rapidjson::Value key_json;
      key_json.SetString(member.name.GetString(),
                         member.name.GetStringLength());
      absl::Status status = ReadValue(key_json, key, entry, false);
      if (status.ok()) {
        status = ReadValue(member.value, entry->GetDescriptor()->map_value(),
                           entry, false);
      }
      if (!status.ok()) return status;
      path_.pop_back();
    }
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status ReadInteger(const rapidjson::Value& json, T* out) {
    if (json.IsString()) {  // proto3 JSON allows quoted integers
      absl::string_view text(json.GetString(), json.GetStringLength());
      // SimpleAtoi also takes blanks and "+"; a quoted integer is digits.
      const bool plain = !text.empty() &&
                         (absl::ascii_isdigit(text[0]) || text[0] == '-') &&
                         absl::ascii_isdigit(text.back());
      if (plain && absl::SimpleAtoi(text, out)) return absl::OkStatus();
      return Error("expected an integer, got a string that is not one");
    }
    if (!json.IsNumber()) return Mismatch("integer", json);
    if (json.IsInt64()) {
      int64_t v = json.GetInt64();
      if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (v > 0 && static_cast<uint64_t>(v) >
                        static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
        return Error(absl::StrCat("integer ", v, " out of range"));
      }
      *out = static_cast<T>(v);
      return absl::OkStatus();
    }
    if (json.IsUint64()) {
      uint64_t v = json.GetUint64();
      if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return Error(absl::StrCat("integer ", v, " out of range"));
      }
      *out = static_cast<T>(v);
      return absl::OkStatus();
    }
    // Written with a fraction or an exponent ("3.0", "1e3"), or beyond 64
    // bits. The text is gone by now, so only small values are taken: below
    // 2^31 a double keeps every integer and a fraction of the text shows
    // (2^53 would take "9007199254740993e0" as ...992: the value changed).
    double d = json.GetDouble();
    constexpr double kExact = 2147483648.0;  // 2^31
    if (std::trunc(d) != d || d >= kExact || d <= -kExact) {
      return Error(absl::StrCat("expected an exact integer, got ", d));
    }
    if (d < static_cast<double>(std::numeric_limits<T>::min()) ||
        d > static_cast<double>(std::numeric_limits<T>::max())) {
      return Error(absl::StrCat("integer ", d, " out of range"));
    }
    *out = static_cast<T>(d);
    return absl::OkStatus();
  }

  absl::Status ReadDouble(const rapidjson::Value& json, double* out) {
    if (json.IsNumber()) {
      *out = json.GetDouble();
      return absl::OkStatus();
    }
    if (json.IsString()) {
      absl::string_view s(json.GetString(), json.GetStringLength());
      if (s == "NaN") {
        *out = std::numeric_limits<double>::quiet_NaN();
      } else if (s == "Infinity") {
        *out = std::numeric_limits<double>::infinity();
      } else if (s == "-Infinity") {
        *out = -std::numeric_limits<double>::infinity();
      } else if (!absl::SimpleAtod(s, out)) {
        return Error("expected a number, got a string that is not one");
      }
      return absl::OkStatus();
    }
    return Mismatch("number", json);
  }

  absl::Status ReadValue(const rapidjson::Value& json,
                         const FieldDescriptor* field, Message* message,
                         bool add);

  // Well-known types, in their proto3 JSON forms.
  absl::Status ReadWellKnown(const rapidjson::Value& json, Message* message);
  absl::Status ReadTimestamp(const rapidjson::Value& json, Message* message);
  absl::Status ReadDuration(const rapidjson::Value& json, Message* message);
  absl::Status ReadStructValue(const rapidjson::Value& json, Message* message);
  absl::Status ReadAny(const rapidjson::Value& json, Message* message);

  JsonReadStats* stats_;
  std::vector<Step> path_;
};

#define ENVELOPE_SET_SCALAR(TYPE, Setter, Adder, read) \
  {                                                    \
    TYPE value{};                                      \
    absl::Status status = read(json, &value);          \
    if (!status.ok()) return status;                   \
    if (add) {                                         \
      r->Adder(message, field, value);                 \
    } else {                                           \
      r->Setter(message, field, value);                \
    }                                                  \
    return absl::OkStatus();                           \
  }

absl::Status Reader::ReadValue(const rapidjson::Value& json,
                               const FieldDescriptor* field, Message* message,
                               bool add) {
  const Reflection* r = message->GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      ENVELOPE_SET_SCALAR(int32_t, SetInt32, AddInt32, ReadInteger);
    case FieldDescriptor::CPPTYPE_INT64:
      ENVELOPE_SET_SCALAR(int64_t, SetInt64, AddInt64, ReadInteger);
    case FieldDescriptor::CPPTYPE_UINT32:
      ENVELOPE_SET_SCALAR(uint32_t, SetUInt32, AddUInt32, ReadInteger);
    case FieldDescriptor::CPPTYPE_UINT64:
      ENVELOPE_SET_SCALAR(uint64_t, SetUInt64, AddUInt64, ReadInteger);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      ENVELOPE_SET_SCALAR(double, SetDouble, AddDouble, ReadDouble);
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double value = 0;
      absl::Status status = ReadDouble(json, &value);
      if (!status.ok()) return status;
      add ? r->AddFloat(message, field, static_cast<float>(value))
          : r->SetFloat(message, field, static_cast<float>(value));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (!json.IsBool()) return Mismatch("boolean", json);
      add ? r->AddBool(message, field, json.GetBool())
          : r->SetBool(message, field, json.GetBool());
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number = 0;
      if (json.IsString()) {
        const auto* value = field->enum_type()->FindValueByName(
            std::string(json.GetString(), json.GetStringLength()));
        if (value == nullptr) {
          return Error(
              absl::StrCat("unknown enum value \"", json.GetString(), "\""));
        }
        number = value->number();
      } else if (json.IsInt()) {
        number = json.GetInt();
      } else {
        return Mismatch("enum name", json);
      }
      add ? r->AddEnumValue(message, field, number)
          : r->SetEnumValue(message, field, number);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      if (!json.IsString()) return Mismatch("string", json);
      std::string value(json.GetString(), json.GetStringLength());
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        std::string decoded;
        if (!absl::Base64Unescape(value, &decoded) &&
            !absl::WebSafeBase64Unescape(value, &decoded)) {
          return Error("expected base64, got a string that is not");
        }
        value = std::move(decoded);
      }
      add ? r->AddString(message, field, std::move(value))
          : r->SetString(message, field, std::move(value));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* child = add ? r->AddMessage(message, field)
                           : r->MutableMessage(message, field);
      return ReadMessage(json, child);
    }
  }
  return Error("unsupported field type");
}

#undef ENVELOPE_SET_SCALAR

absl::Status Reader::ReadWellKnown(const rapidjson::Value& json,
                                   Message* message) {
  const std::string& name = message->GetDescriptor()->full_name();
  const Reflection* r = message->GetReflection();
  const Descriptor* d = message->GetDescriptor();
  if (name == "google.protobuf.Timestamp") return ReadTimestamp(json, message);
  if (name == "google.protobuf.Duration") return ReadDuration(json, message);
  if (name == "google.protobuf.Any") return ReadAny(json, message);
  if (name == "google.protobuf.Value") return ReadStructValue(json, message);
  if (name == "google.protobuf.Struct") {
    if (!json.IsObject()) return Mismatch("object", json);
    return ReadMap(json, d->FindFieldByName("fields"), message);
  }
  if (name == "google.protobuf.ListValue") {
    return ReadField(json, d->FindFieldByName("values"), message);
  }
  if (name == "google.protobuf.FieldMask") {
    if (!json.IsString()) return Mismatch("string", json);
    const FieldDescriptor* paths = d->FindFieldByName("paths");
    for (absl::string_view path : absl::StrSplit(
             absl::string_view(json.GetString(), json.GetStringLength()), ',',
             absl::SkipEmpty())) {
      r->AddString(message, paths, json_internal::CamelToSnake(path));
    }
    return absl::OkStatus();
  }
  // A wrapper: the JSON is the wrapped value.
  return ReadValue(json, d->FindFieldByName("value"), message, false);
}

absl::Status Reader::ReadTimestamp(const rapidjson::Value& json,
                                   Message* message) {
  if (!json.IsString()) return Mismatch("RFC 3339 timestamp string", json);
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, json.GetString(), &time, &error)) {
    return Error(absl::StrCat("not an RFC 3339 timestamp: ", error));
  }
  const int64_t seconds = absl::ToUnixSeconds(time);
  const Descriptor* d = message->GetDescriptor();
  message->GetReflection()->SetInt64(message, d->FindFieldByName("seconds"),
                                     seconds);
  message->GetReflection()->SetInt32(
      message, d->FindFieldByName("nanos"),
      static_cast<int32_t>(
          absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return absl::OkStatus();
}

absl::Status Reader::ReadDuration(const rapidjson::Value& json,
                                  Message* message) {
  if (!json.IsString()) return Mismatch("duration string like \"1.5s\"", json);
  absl::string_view text(json.GetString(), json.GetStringLength());
  if (!absl::ConsumeSuffix(&text, "s")) {
    return Error("a duration ends with \"s\"");
  }
  const bool negative = absl::ConsumePrefix(&text, "-");
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('.', 1));
  int64_t seconds = 0;
  int64_t nanos = 0;
  std::string fraction(parts.second);
  if (fraction.size() > 9 || !absl::SimpleAtoi(parts.first, &seconds) ||
      (!fraction.empty() &&
       !absl::SimpleAtoi(fraction + std::string(9 - fraction.size(), '0'),
                         &nanos))) {
    return Error(absl::StrCat("not a duration: \"", json.GetString(), "\""));
  }
  const Descriptor* d = message->GetDescriptor();
  message->GetReflection()->SetInt64(message, d->FindFieldByName("seconds"),
                                     negative ? -seconds : seconds);
  message->GetReflection()->SetInt32(
      message, d->FindFieldByName("nanos"),
      static_cast<int32_t>(negative ? -nanos : nanos));
  return absl::OkStatus();
}

absl::Status Reader::ReadStructValue(const rapidjson::Value& json,
                                     Message* message) {
  const Descriptor* d = message->GetDescriptor();
  const Reflection* r = message->GetReflection();
  switch (json.GetType()) {
    case rapidjson::kNullType:
      r->SetEnumValue(message, d->FindFieldByName("null_value"), 0);
      return absl::OkStatus();
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      r->SetBool(message, d->FindFieldByName("bool_value"), json.GetBool());
      return absl::OkStatus();
    case rapidjson::kNumberType:
      r->SetDouble(message, d->FindFieldByName("number_value"),
                   json.GetDouble());
      return absl::OkStatus();
    case rapidjson::kStringType:
      r->SetString(message, d->FindFieldByName("string_value"),
                   std::string(json.GetString(), json.GetStringLength()));
      return absl::OkStatus();
    case rapidjson::kObjectType:
      return ReadMessage(
          json, r->MutableMessage(message, d->FindFieldByName("struct_value")));
    case rapidjson::kArrayType:
      return ReadMessage(
          json, r->MutableMessage(message, d->FindFieldByName("list_value")));
  }
  return Error("unsupported JSON value");
}

absl::Status Reader::ReadAny(const rapidjson::Value& json, Message* message) {
  if (!json.IsObject()) return Mismatch("object", json);
  auto type_member = json.FindMember("@type");
  if (type_member == json.MemberEnd() || !type_member->value.IsString()) {
    return Error("an Any needs a string \"@type\"");
  }
  std::string url = type_member->value.GetString();
  std::string name = url.substr(url.rfind('/') + 1);
  const Descriptor* type =
      message->GetDescriptor()->file()->pool()->FindMessageTypeByName(name);
  if (type == nullptr) return Error(absl::StrCat("unknown type \"", url, "\""));
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<Message> inner(factory.GetPrototype(type)->New());
  absl::Status status;
  if (json_internal::IsWellKnown(type)) {
    auto value = json.FindMember("value");
    if (value != json.MemberEnd())
      status = ReadMessage(value->value, inner.get());
  } else {
    rapidjson::Value rest(rapidjson::kObjectType);
    rapidjson::MemoryPoolAllocator<> allocator;
    for (const auto& member : json.GetObject()) {
      if (std::string_view(member.name.GetString()) == "@type") continue;
      rest.AddMember(rapidjson::Value(member.name, allocator),
                     rapidjson::Value(member.value, allocator), allocator);
    }
    status = ReadMessage(rest, inner.get());
  }
  if (!status.ok()) return status;
  const Descriptor* d = message->GetDescriptor();
  message->GetReflection()->SetString(message, d->FindFieldByName("type_url"),
                                      url);
  message->GetReflection()->SetString(message, d->FindFieldByName("value"),
                                      inner->SerializeAsString());
  return absl::OkStatus();
}

}  // namespace

absl::Status JsonValueToMessage(const rapidjson::Value& json, Message* message,
                                JsonReadStats* stats) {
  return Reader(stats).ReadMessage(json, message);
}

absl::Status JsonToMessage(absl::string_view json, Message* message,
                           JsonReadStats* stats) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not JSON: ", rapidjson::GetParseError_En(doc.GetParseError()),
        " at offset ", doc.GetErrorOffset()));
  }
  return JsonValueToMessage(doc, message, stats);
}

}  // namespace envelope
