// JSON -> Message, by the message's descriptor. Members are found by their
// json_name (the API's spelling) or, as proto3 JSON allows, the field name.
#include <cmath>
#include <limits>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/transcode/transcode.h"
#include "google/protobuf/descriptor.h"
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
const FieldIndex& IndexOf(const Descriptor* descriptor) {
  static absl::Mutex mu;
  static auto* indexes ABSL_GUARDED_BY(mu) =
      new absl::flat_hash_map<const Descriptor*, std::unique_ptr<FieldIndex>>;
  absl::MutexLock lock(&mu);
  auto& slot = (*indexes)[descriptor];
  if (slot == nullptr) {
    slot = std::make_unique<FieldIndex>();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      slot->emplace(field->json_name(), field);
      slot->emplace(field->name(), field);
    }
  }
  return *slot;
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
      if (member.value.IsNull()) continue;  // null = unset
      size_t mark = PushPath(name);
      absl::Status status = ReadField(member.value, it->second, message);
      if (!status.ok()) return status;
      path_.resize(mark);
    }
    return absl::OkStatus();
  }

 private:
  size_t PushPath(absl::string_view name) {
    size_t mark = path_.size();
    if (!path_.empty()) path_.push_back('.');
    path_.append(name.data(), name.size());
    return mark;
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(path_.empty() ? "(root)" : path_, ": ", what));
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
      size_t mark = path_.size();
      absl::StrAppend(&path_, "[", i++, "]");
      if (element.IsNull()) return Error("null is not allowed in an array");
      absl::Status status = ReadValue(element, field, message, true);
      if (!status.ok()) return status;
      path_.resize(mark);
    }
    return absl::OkStatus();
  }

  absl::Status ReadMap(const rapidjson::Value& json,
                       const FieldDescriptor* field, Message* message) {
    if (!json.IsObject()) return Mismatch("object", json);
    const Reflection* r = message->GetReflection();
    for (const auto& member : json.GetObject()) {
      size_t mark = path_.size();
      absl::StrAppend(&path_, "[\"", member.name.GetString(), "\"]");
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
      path_.resize(mark);
    }
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status ReadInteger(const rapidjson::Value& json, T* out) {
    if (json.IsString()) {  // proto3 JSON allows quoted integers
      if (absl::SimpleAtoi(
              absl::string_view(json.GetString(), json.GetStringLength()),
              out)) {
        return absl::OkStatus();
      }
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
    double d = json.GetDouble();
    if (std::trunc(d) != d ||
        d < static_cast<double>(std::numeric_limits<T>::min()) ||
        d > static_cast<double>(std::numeric_limits<T>::max())) {
      return Error(absl::StrCat("expected an integer, got ", d));
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

  JsonReadStats* stats_;
  std::string path_;
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
