// JSON -> Message, by the message's descriptor. Members are found by their
// json_name (the API's spelling) or, as proto3 JSON allows, the field name.
// The JSON comes from json::Parse (valid UTF-8, bounded depth, unique member
// names); what a valid protobuf message cannot hold is refused here
// (docs/errors.md, "Hostile input").
#include <cmath>
#include <limits>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gateway/transcode/json_internal.h"
#include "gateway/transcode/transcode.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/reflection.h"

namespace envelope {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using json::Element;
using simdjson::dom::element_type;
using FieldIndex = absl::flat_hash_map<std::string, const FieldDescriptor*>;

// Messages nested below the top-level one that protobuf's decoders accept
// (io::CodedInputStream's default recursion limit): an answer nested deeper
// would be OK here and undecodable in the caller.
constexpr int kMaxNestedMessages = 100;

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

bool IsNumber(Element v) {
  element_type t = v.type();
  return t == element_type::INT64 || t == element_type::UINT64 ||
         t == element_type::DOUBLE;
}

// The JSON number grammar (RFC 8259): what a quoted number may hold besides
// "NaN" and "Infinity" (SimpleAtod alone would take " +5 " and "inf").
bool IsJsonNumber(absl::string_view s) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && absl::ascii_isdigit(s[i])) ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// Input quoted in an error message: escaped and bounded, so that a huge or
// binary value cannot make the status too big for a client's metadata.
std::string Quoted(absl::string_view text) {
  constexpr size_t kMaxQuoted = 64;
  std::string quoted = absl::CHexEscape(text.substr(0, kMaxQuoted));
  if (text.size() > kMaxQuoted) quoted.append("...");
  return quoted;
}

// Unchecked accessors: each is called after the type was checked.
absl::string_view StringOf(Element v) {
  return json::View(v.get_string().value_unsafe());
}
double DoubleOf(Element v) { return v.get_double().value_unsafe(); }

// The fields (and oneofs) an object has set so far. Member names are unique
// (json::Parse), but a field has two names (json_name and name) and a oneof
// several fields: a second one would make the last win silently, where
// another reader might take the first.
class SeenFields {
 public:
  explicit SeenFields(const Descriptor* descriptor)
      : fields_((descriptor->field_count() + 63) / 64),
        oneofs_((descriptor->oneof_decl_count() + 63) / 64) {}

  // Null when `field` is new; else what is wrong.
  const char* Add(const FieldDescriptor* field) {
    if (!Set(fields_, field->index())) return "the field is named twice";
    const google::protobuf::OneofDescriptor* oneof =
        field->real_containing_oneof();
    if (oneof != nullptr && !Set(oneofs_, oneof->index())) {
      return "a second member of the same oneof";
    }
    return nullptr;
  }

 private:
  using Bits = absl::InlinedVector<uint64_t, 2>;
  // False when bit `i` was set already.
  static bool Set(Bits& bits, int i) {
    const uint64_t bit = uint64_t{1} << (i % 64);
    if (bits[i / 64] & bit) return false;
    bits[i / 64] |= bit;
    return true;
  }
  Bits fields_;
  Bits oneofs_;
};

class Reader {
 public:
  explicit Reader(JsonReadStats* stats) : stats_(stats) {}

  // The top-level message.
  absl::Status ReadRoot(Element json, Message* message) {
    return ReadFields(json, message, /*skip_type=*/false);
  }

 private:
  // A message below the top-level one: one level deeper, bounded.
  absl::Status ReadMessage(Element json, Message* message,
                           bool skip_type = false) {
    if (nested_ >= kMaxNestedMessages) return TooDeep();
    ++nested_;
    absl::Status status = ReadFields(json, message, skip_type);
    --nested_;
    return status;
  }

  // `skip_type`: the object is an Any's, whose "@type" was read already.
  absl::Status ReadFields(Element json, Message* message, bool skip_type) {
    if (json_internal::IsWellKnown(message->GetDescriptor())) {
      return ReadWellKnown(json, message);
    }
    if (!json.is_object()) return Mismatch("object", json);
    const Descriptor* descriptor = message->GetDescriptor();
    const FieldIndex& index = IndexOf(descriptor);
    SeenFields seen(descriptor);
    for (auto member : json::ObjectOf(json)) {
      absl::string_view name = json::View(member.key);
      if (skip_type && name == "@type") continue;
      auto it = index.find(name);
      if (it == index.end()) {
        if (stats_ != nullptr) ++stats_->unknown_members;
        continue;
      }
      if (member.value.is_null() && !HoldsJsonValue(it->second)) {
        continue;  // null = unset
      }
      path_.push_back({.member = name});
      if (const char* again = seen.Add(it->second)) return Error(again);
      absl::Status status = ReadField(member.value, it->second, message);
      if (!status.ok()) return status;
      path_.pop_back();
    }
    return absl::OkStatus();
  }

  absl::Status TooDeep() const {
    return Error(absl::StrCat("nested deeper than ", kMaxNestedMessages,
                              " messages, which protobuf decoders refuse"));
  }

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
        absl::StrAppend(&text, "[\"", Quoted(step.key), "\"]");
      }
    }
    return text.empty() ? "(root)" : text;
  }

  absl::Status Error(absl::string_view what) const {
    // A path through hundreds of levels is cut to its end, which names the
    // member that failed.
    constexpr size_t kMaxPath = 256;
    std::string path = PathText();
    if (path.size() > kMaxPath) {
      path = absl::StrCat("...", path.substr(path.size() - kMaxPath));
    }
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
  }

  absl::Status Mismatch(absl::string_view expected, Element got) const {
    return Error(
        absl::StrCat("expected ", expected, ", got ", json::KindOf(got)));
  }

  absl::Status ReadField(Element json, const FieldDescriptor* field,
                         Message* message) {
    if (field->is_map()) return ReadMap(json, field, message);
    if (!field->is_repeated()) return ReadValue(json, field, message, false);
    if (!json.is_array()) return Mismatch("array", json);
    size_t i = 0;
    for (Element element : json::ArrayOf(json)) {
      path_.push_back({.index = static_cast<int>(i++)});
      if (element.is_null() && !HoldsJsonValue(field)) {
        return Error("null is not allowed in an array");
      }
      absl::Status status = ReadValue(element, field, message, true);
      if (!status.ok()) return status;
      path_.pop_back();
    }
    return absl::OkStatus();
  }

  absl::Status ReadMap(Element json, const FieldDescriptor* field,
                       Message* message) {
    if (!json.is_object()) return Mismatch("object", json);
    // Each entry is a message on the wire, one level deeper.
    if (nested_ >= kMaxNestedMessages) return TooDeep();
    const Reflection* r = message->GetReflection();
    for (auto member : json::ObjectOf(json)) {
      const absl::string_view key = json::View(member.key);
      path_.push_back({.key = key});
      Message* entry = r->AddMessage(message, field);
      // Map keys are strings in JSON, whatever the key type.
      absl::Status status =
          ReadMapKey(key, entry->GetDescriptor()->map_key(), entry);
      if (status.ok()) {
        ++nested_;
        status = ReadValue(member.value, entry->GetDescriptor()->map_value(),
                           entry, false);
        --nested_;
      }
      if (!status.ok()) return status;
      path_.pop_back();
    }
    return absl::OkStatus();
  }

  absl::Status ReadMapKey(absl::string_view key, const FieldDescriptor* field,
                          Message* entry) {
    const Reflection* r = entry->GetReflection();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(entry, field, std::string(key));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_BOOL:
        if (key != "true" && key != "false") {
          return Error("a bool map key is \"true\" or \"false\"");
        }
        r->SetBool(entry, field, key == "true");
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT32:
        return SetIntegerKey<int32_t>(key, &Reflection::SetInt32, field, entry);
      case FieldDescriptor::CPPTYPE_INT64:
        return SetIntegerKey<int64_t>(key, &Reflection::SetInt64, field, entry);
      case FieldDescriptor::CPPTYPE_UINT32:
        return SetIntegerKey<uint32_t>(key, &Reflection::SetUInt32, field,
                                       entry);
      case FieldDescriptor::CPPTYPE_UINT64:
        return SetIntegerKey<uint64_t>(key, &Reflection::SetUInt64, field,
                                       entry);
      default:
        return Error("unsupported map key type");
    }
  }

  template <typename T>
  absl::Status SetIntegerKey(absl::string_view key,
                             void (Reflection::*set)(Message*,
                                                     const FieldDescriptor*, T)
                                 const,
                             const FieldDescriptor* field, Message* entry) {
    // Canonical digits only ("1", not "01" or "-0"): two names for one key
    // would give the map two entries for it, and readers differ on which
    // one counts.
    absl::string_view digits = key;
    absl::ConsumePrefix(&digits, "-");
    if (digits.size() > 1 && digits[0] == '0') {
      return Error("a map key integer with leading zeros");
    }
    if (key == "-0") return Error("a map key integer written \"-0\"");
    T value{};
    absl::Status status = ParseQuotedInteger(key, &value);
    if (!status.ok()) return status;
    (entry->GetReflection()->*set)(entry, field, value);
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status ParseQuotedInteger(absl::string_view text, T* out) const {
    // SimpleAtoi also takes blanks and "+"; a quoted integer is digits.
    const bool plain = !text.empty() &&
                       (absl::ascii_isdigit(text[0]) || text[0] == '-') &&
                       absl::ascii_isdigit(text.back());
    if (plain && absl::SimpleAtoi(text, out)) return absl::OkStatus();
    return Error("expected an integer, got a string that is not one");
  }

  template <typename T>
  absl::Status ReadInteger(Element json, T* out) {
    if (json.is_string()) {  // proto3 JSON allows quoted integers
      return ParseQuotedInteger(StringOf(json), out);
    }
    if (!IsNumber(json)) return Mismatch("integer", json);
    if (json.type() == element_type::INT64) {
      int64_t v = json.get_int64().value_unsafe();
      if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (v > 0 && static_cast<uint64_t>(v) >
                        static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
        return Error(absl::StrCat("integer ", v, " out of range"));
      }
      *out = static_cast<T>(v);
      return absl::OkStatus();
    }
    if (json.type() == element_type::UINT64) {
      uint64_t v = json.get_uint64().value_unsafe();
      if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return Error(absl::StrCat("integer ", v, " out of range"));
      }
      *out = static_cast<T>(v);
      return absl::OkStatus();
    }
    // Written with a fraction or an exponent ("3.0", "1e3"). The text is
    // gone by now, so only small values are taken: below 2^31 a double
    // keeps every integer and a fraction of the text shows (2^53 would take
    // "9007199254740993e0" as ...992: the value changed).
    double d = DoubleOf(json);
    constexpr double kExact = 2147483648.0;  // 2^31
    if (std::trunc(d) != d || d >= kExact || d < -kExact) {
      return Error(absl::StrCat("expected an exact integer, got ", d));
    }
    if (d < static_cast<double>(std::numeric_limits<T>::min()) ||
        d > static_cast<double>(std::numeric_limits<T>::max())) {
      return Error(absl::StrCat("integer ", d, " out of range"));
    }
    *out = static_cast<T>(d);
    return absl::OkStatus();
  }

  absl::Status ReadDouble(Element json, double* out) {
    if (IsNumber(json)) {
      *out = DoubleOf(json);
      return absl::OkStatus();
    }
    if (json.is_string()) {
      absl::string_view s = StringOf(json);
      if (s == "NaN") {
        *out = std::numeric_limits<double>::quiet_NaN();
      } else if (s == "Infinity") {
        *out = std::numeric_limits<double>::infinity();
      } else if (s == "-Infinity") {
        *out = -std::numeric_limits<double>::infinity();
      } else if (!IsJsonNumber(s) || !absl::SimpleAtod(s, out) ||
                 !std::isfinite(*out)) {
        return Error("expected a number, got a string that is not one");
      }
      return absl::OkStatus();
    }
    return Mismatch("number", json);
  }

  absl::Status ReadFloat(Element json, float* out) {
    double value = 0;
    absl::Status status = ReadDouble(json, &value);
    if (!status.ok()) return status;
    // Out of float's range is undefined behaviour to convert, and no float.
    if (std::isfinite(value) &&
        std::fabs(value) > std::numeric_limits<float>::max()) {
      return Error(absl::StrCat("number ", value, " out of range for float"));
    }
    *out = static_cast<float>(value);
    return absl::OkStatus();
  }

  absl::Status ReadValue(Element json, const FieldDescriptor* field,
                         Message* message, bool add);

  // Well-known types, in their proto3 JSON forms.
  absl::Status ReadWellKnown(Element json, Message* message);
  absl::Status ReadTimestamp(Element json, Message* message);
  absl::Status ReadDuration(Element json, Message* message);
  absl::Status ReadStructValue(Element json, Message* message);
  absl::Status ReadAny(Element json, Message* message);

  JsonReadStats* stats_;
  std::vector<Step> path_;
  int nested_ = 0;  // messages entered below the top-level one
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

absl::Status Reader::ReadValue(Element json, const FieldDescriptor* field,
                               Message* message, bool add) {
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
    case FieldDescriptor::CPPTYPE_FLOAT:
      ENVELOPE_SET_SCALAR(float, SetFloat, AddFloat, ReadFloat);
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (!json.is_bool()) return Mismatch("boolean", json);
      const bool value = json.get_bool().value_unsafe();
      add ? r->AddBool(message, field, value)
          : r->SetBool(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number = 0;
      if (json.is_string()) {
        const auto* value =
            field->enum_type()->FindValueByName(std::string(StringOf(json)));
        if (value == nullptr) {
          return Error(absl::StrCat("unknown enum value \"",
                                    Quoted(StringOf(json)), "\""));
        }
        number = value->number();
      } else if (json.type() == element_type::INT64 &&
                 json.get_int64().value_unsafe() >=
                     std::numeric_limits<int32_t>::min() &&
                 json.get_int64().value_unsafe() <=
                     std::numeric_limits<int32_t>::max()) {
        number = static_cast<int>(json.get_int64().value_unsafe());
      } else {
        return Mismatch("enum name", json);
      }
      add ? r->AddEnumValue(message, field, number)
          : r->SetEnumValue(message, field, number);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      // json::Parse guarantees valid UTF-8 (escapes included), which a
      // proto3 string must be.
      if (!json.is_string()) return Mismatch("string", json);
      std::string value(StringOf(json));
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

absl::Status Reader::ReadWellKnown(Element json, Message* message) {
  const std::string& name = message->GetDescriptor()->full_name();
  const Reflection* r = message->GetReflection();
  const Descriptor* d = message->GetDescriptor();
  if (name == "google.protobuf.Timestamp") return ReadTimestamp(json, message);
  if (name == "google.protobuf.Duration") return ReadDuration(json, message);
  if (name == "google.protobuf.Any") return ReadAny(json, message);
  if (name == "google.protobuf.Value") return ReadStructValue(json, message);
  if (name == "google.protobuf.Struct") {
    if (!json.is_object()) return Mismatch("object", json);
    return ReadMap(json, d->FindFieldByName("fields"), message);
  }
  if (name == "google.protobuf.ListValue") {
    return ReadField(json, d->FindFieldByName("values"), message);
  }
  if (name == "google.protobuf.FieldMask") {
    if (!json.is_string()) return Mismatch("string", json);
    const FieldDescriptor* paths = d->FindFieldByName("paths");
    for (absl::string_view path :
         absl::StrSplit(StringOf(json), ',', absl::SkipEmpty())) {
      r->AddString(message, paths, json_internal::CamelToSnake(path));
    }
    return absl::OkStatus();
  }
  // A wrapper: the JSON is the wrapped value.
  return ReadValue(json, d->FindFieldByName("value"), message, false);
}

// RFC 3339 as proto3 JSON writes it: a four-digit year, then only the
// characters a date, time and offset use (absl::ParseTime would stop at a
// NUL and take a five-digit year).
bool LooksLikeRfc3339(absl::string_view text) {
  if (text.size() < 20 || text.size() > 35 || text[4] != '-') return false;
  for (size_t i = 0; i < 4; ++i) {
    if (!absl::ascii_isdigit(text[i])) return false;
  }
  for (char c : text) {
    if (!absl::ascii_isdigit(c) && c != '-' && c != ':' && c != '.' &&
        c != '+' && c != 'T' && c != 't' && c != 'Z' && c != 'z') {
      return false;
    }
  }
  return true;
}

absl::Status Reader::ReadTimestamp(Element json, Message* message) {
  if (!json.is_string()) return Mismatch("RFC 3339 timestamp string", json);
  absl::string_view text = StringOf(json);
  absl::Time time;
  std::string error;
  if (!LooksLikeRfc3339(text) ||
      !absl::ParseTime(absl::RFC3339_full, std::string(text), &time, &error)) {
    return Error("not an RFC 3339 timestamp between years 0001 and 9999");
  }
  const int64_t seconds = absl::ToUnixSeconds(time);
  if (seconds < json_internal::kMinTimestampSeconds ||
      seconds > json_internal::kMaxTimestampSeconds) {
    return Error("timestamp outside years 0001 to 9999");
  }
  const Descriptor* d = message->GetDescriptor();
  message->GetReflection()->SetInt64(message, d->FindFieldByName("seconds"),
                                     seconds);
  message->GetReflection()->SetInt32(
      message, d->FindFieldByName("nanos"),
      static_cast<int32_t>(
          absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return absl::OkStatus();
}

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// proto3 JSON's duration: an optional '-', digits, an optional fraction of
// 1 to 9 digits, 's'; within ±315,576,000,000 s.
absl::Status Reader::ReadDuration(Element json, Message* message) {
  if (!json.is_string()) return Mismatch("duration string like \"1.5s\"", json);
  absl::string_view text = StringOf(json);
  const absl::Status invalid =
      Error("not a duration like \"1.5s\" within ±315576000000 s");
  if (!absl::ConsumeSuffix(&text, "s")) return invalid;
  const bool negative = absl::ConsumePrefix(&text, "-");
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('.', 1));
  const bool has_fraction = text.find('.') != absl::string_view::npos;
  uint64_t seconds = 0;
  int64_t nanos = 0;
  if (!AllDigits(parts.first) || parts.first.size() > 12 ||
      !absl::SimpleAtoi(parts.first, &seconds) ||
      seconds > static_cast<uint64_t>(json_internal::kMaxDurationSeconds)) {
    return invalid;
  }
  if (has_fraction) {
    if (!AllDigits(parts.second) || parts.second.size() > 9) return invalid;
    std::string fraction(parts.second);
    fraction.resize(9, '0');
    if (!absl::SimpleAtoi(fraction, &nanos)) return invalid;
  }
  const int64_t signed_seconds = static_cast<int64_t>(seconds);
  const Descriptor* d = message->GetDescriptor();
  message->GetReflection()->SetInt64(
      message, d->FindFieldByName("seconds"),
      negative ? -signed_seconds : signed_seconds);
  message->GetReflection()->SetInt32(
      message, d->FindFieldByName("nanos"),
      static_cast<int32_t>(negative ? -nanos : nanos));
  return absl::OkStatus();
}

absl::Status Reader::ReadStructValue(Element json, Message* message) {
  const Descriptor* d = message->GetDescriptor();
  const Reflection* r = message->GetReflection();
  switch (json.type()) {
    case element_type::NULL_VALUE:
      r->SetEnumValue(message, d->FindFieldByName("null_value"), 0);
      return absl::OkStatus();
    case element_type::BOOL:
      r->SetBool(message, d->FindFieldByName("bool_value"),
                 json.get_bool().value_unsafe());
      return absl::OkStatus();
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      r->SetDouble(message, d->FindFieldByName("number_value"), DoubleOf(json));
      return absl::OkStatus();
    case element_type::STRING:
      r->SetString(message, d->FindFieldByName("string_value"),
                   std::string(StringOf(json)));
      return absl::OkStatus();
    case element_type::OBJECT:
      return ReadMessage(
          json, r->MutableMessage(message, d->FindFieldByName("struct_value")));
    case element_type::ARRAY:
      return ReadMessage(
          json, r->MutableMessage(message, d->FindFieldByName("list_value")));
  }
  return Error("unsupported JSON value");
}

absl::Status Reader::ReadAny(Element json, Message* message) {
  if (!json.is_object()) return Mismatch("object", json);
  std::optional<Element> type_member = json::Member(json, "@type");
  if (!type_member.has_value() || !type_member->is_string()) {
    return Error("an Any needs a string \"@type\"");
  }
  std::string url(StringOf(*type_member));
  std::string name = url.substr(url.rfind('/') + 1);
  const Descriptor* type =
      message->GetDescriptor()->file()->pool()->FindMessageTypeByName(name);
  if (type == nullptr) {
    return Error(absl::StrCat("unknown type \"", Quoted(url), "\""));
  }
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<Message> inner(factory.GetPrototype(type)->New());
  absl::Status status;
  if (json_internal::IsWellKnown(type)) {
    std::optional<Element> value = json::Member(json, "value");
    if (value.has_value()) status = ReadMessage(*value, inner.get());
  } else {
    status = ReadMessage(json, inner.get(), /*skip_type=*/true);
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

absl::Status JsonValueToMessage(json::Element json, Message* message,
                                JsonReadStats* stats) {
  return Reader(stats).ReadRoot(json, message);
}

absl::Status JsonToMessage(absl::string_view json, Message* message,
                           JsonReadStats* stats) {
  absl::StatusOr<json::Document> document = json::Parse(json);
  if (!document.ok()) return document.status();
  return JsonValueToMessage(document->root(), message, stats);
}

}  // namespace envelope
