// JSON -> protobuf wire format, by the message type's table (wire_table.h):
// no message object is built. Members are found by their json_name (the
// API's spelling) or, as proto3 JSON allows, the field name. The JSON comes
// from json::Parse (valid UTF-8, bounded depth, unique member names); what a
// valid protobuf message cannot hold is refused here (docs/errors.md,
// "Hostile input").
#include <bit>
#include <cmath>
#include <limits>
#include <memory>

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
#include "gateway/transcode/wire_format.h"
#include "gateway/transcode/wire_table.h"
#include "google/protobuf/descriptor.h"

namespace envelope {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using json::Element;
using simdjson::dom::element_type;
using transcode_internal::CloseLength;
using transcode_internal::Encoding;
using transcode_internal::FieldTable;
using transcode_internal::MessageTable;
using transcode_internal::OpenLength;
using transcode_internal::PutFixed32;
using transcode_internal::PutFixed64;
using transcode_internal::PutLengthDelimited;
using transcode_internal::PutVarint;
using transcode_internal::WellKnown;

// Messages nested below the top-level one that protobuf's decoders accept
// (io::CodedInputStream's default recursion limit): an answer nested deeper
// would be OK here and undecodable in the caller.
constexpr int kMaxNestedMessages = 100;

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
// several fields: on the wire a second one would make the last win silently,
// where another reader might take the first.
class SeenFields {
 public:
  explicit SeenFields(const MessageTable& table)
      : fields_((table.fields.size() + 63) / 64),
        oneofs_((table.oneof_count + 63) / 64) {}

  // Null when `field` is new; else what is wrong.
  const char* Add(const FieldTable& field) {
    if (!Set(fields_, field.field->index())) {
      return "the field is named twice";
    }
    if (field.oneof >= 0 && !Set(oneofs_, field.oneof)) {
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

// How a value of a field is written.
enum class Slot {
  kSingular,  // tag + value; a default value only if the field has presence
  kElement,   // tag + value, always (a non-packed repeated element, map entry)
  kPacked,    // the value alone, inside a packed record
};

// A numeric, bool or enum value as its encoding writes it (zigzag applied;
// float and double as their bits).
template <typename T>
uint64_t IntegerBits(T value, const FieldDescriptor* field) {
  switch (field->type()) {
    case FieldDescriptor::TYPE_SINT32:
      return transcode_internal::ZigZag32(static_cast<int32_t>(value));
    case FieldDescriptor::TYPE_SINT64:
      return transcode_internal::ZigZag64(static_cast<int64_t>(value));
    case FieldDescriptor::TYPE_SFIXED32:
    case FieldDescriptor::TYPE_FIXED32:
      return static_cast<uint32_t>(value);
    default:
      // int32 and enums: negative values are sign-extended to 64 bits.
      return static_cast<uint64_t>(static_cast<int64_t>(value));
  }
}

void PutBits(const FieldTable& f, uint64_t bits, std::string* out) {
  switch (f.encoding) {
    case Encoding::kFixed32:
      PutFixed32(static_cast<uint32_t>(bits), out);
      return;
    case Encoding::kFixed64:
      PutFixed64(bits, out);
      return;
    default:
      PutVarint(bits, out);
      return;
  }
}

void PutTag(const FieldTable& f, std::string* out) {
  out->append(f.tag, f.tag_size);
}

// A singular varint field (the well-known types' own): a zero is unset.
void PutVarintField(const FieldTable& f, uint64_t value, std::string* out) {
  if (value == 0) return;
  PutTag(f, out);
  PutVarint(value, out);
}

class Reader {
 public:
  explicit Reader(JsonReadStats* stats) : stats_(stats) {}

  // The top-level message. An error names the path to the value that
  // failed: "InstanceSet[3].Placement.Zone: expected string, got number".
  absl::Status ReadRoot(Element json, const MessageTable& table,
                        std::string* out) {
    absl::Status status = ReadFields(json, table, out, /*skip_type=*/false);
    if (status.ok()) return status;
    return absl::Status(status.code(),
                        absl::StrCat(PathText(), ": ", status.message()));
  }

 private:
  // A message below the top-level one: one level deeper, bounded.
  absl::Status ReadMessage(Element json, const MessageTable& table,
                           std::string* out, bool skip_type = false) {
    if (nested_ >= kMaxNestedMessages) return TooDeep();
    ++nested_;
    absl::Status status = ReadFields(json, table, out, skip_type);
    --nested_;
    return status;
  }

  // A message field's value: its tag, its length and the message.
  absl::Status ReadNested(Element json, const FieldTable& f, std::string* out) {
    PutTag(f, out);
    const size_t start = OpenLength(out);
    absl::Status status = ReadMessage(json, *f.Child(), out);
    CloseLength(start, out);
    return status;
  }

  // `skip_type`: the object is an Any's, whose "@type" was read already.
  absl::Status ReadFields(Element json, const MessageTable& table,
                          std::string* out, bool skip_type) {
    if (table.well_known != WellKnown::kNone) {
      return ReadWellKnown(json, table, out);
    }
    if (!json.is_object()) return Mismatch("object", json);
    SeenFields seen(table);
    size_t next = 0;
    for (auto member : json::ObjectOf(json)) {
      absl::string_view name = json::View(member.key);
      if (skip_type && name == "@type") continue;
      const FieldTable* field = table.Find(name, &next);
      if (field == nullptr) {
        if (stats_ != nullptr) ++stats_->unknown_members;
        continue;
      }
      if (member.value.is_null() && !field->holds_json_value) {
        continue;  // null = unset
      }
      const char* again = seen.Add(*field);
      absl::Status status = again != nullptr
                                ? Error(again)
                                : ReadField(member.value, *field, out);
      if (!status.ok()) return Through({.member = name}, std::move(status));
    }
    return absl::OkStatus();
  }

  absl::Status TooDeep() const {
    return Error(absl::StrCat("nested deeper than ", kMaxNestedMessages,
                              " messages, which protobuf decoders refuse"));
  }

  // One step of the path to a value that failed, recorded only as an error
  // returns through it (innermost first), so reading costs nothing for it.
  struct Step {
    absl::string_view member;  // "Placement"
    int index = -1;            // [3]
    absl::string_view key;     // ["k"] of a map
  };

  // An error returning through `step`.
  absl::Status Through(Step step, absl::Status status) {
    path_.push_back(step);
    return status;
  }

  // The path of the error, cut to its end (which names the member that
  // failed) when it runs through hundreds of levels.
  std::string PathText() const {
    constexpr size_t kMaxPath = 256;
    std::string text;
    for (auto it = path_.rbegin(); it != path_.rend(); ++it) {
      const Step& step = *it;
      if (!step.member.empty()) {
        if (!text.empty()) text.push_back('.');
        text.append(step.member.data(), step.member.size());
      } else if (step.index >= 0) {
        absl::StrAppend(&text, "[", step.index, "]");
      } else {
        absl::StrAppend(&text, "[\"", Quoted(step.key), "\"]");
      }
    }
    if (text.size() > kMaxPath) {
      text = absl::StrCat("...", text.substr(text.size() - kMaxPath));
    }
    return text.empty() ? "(root)" : text;
  }

  // What failed; ReadRoot puts the path in front.
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(what);
  }

  absl::Status Mismatch(absl::string_view expected, Element got) const {
    return Error(
        absl::StrCat("expected ", expected, ", got ", json::KindOf(got)));
  }

  absl::Status ReadField(Element json, const FieldTable& f, std::string* out) {
    if (f.map) return ReadMap(json, f, out);
    if (!f.repeated) return ReadValue(json, f, Slot::kSingular, out);
    if (!json.is_array()) return Mismatch("array", json);
    simdjson::dom::array array = json::ArrayOf(json);
    if (f.packed && array.size() == 0) return absl::OkStatus();
    size_t start = 0;
    if (f.packed) {
      PutTag(f, out);
      start = OpenLength(out);
    }
    size_t i = 0;
    for (Element element : array) {
      absl::Status status =
          element.is_null() && !f.holds_json_value
              ? Error("null is not allowed in an array")
              : ReadValue(element, f, f.packed ? Slot::kPacked : Slot::kElement,
                          out);
      if (!status.ok()) {
        return Through({.index = static_cast<int>(i)}, std::move(status));
      }
      ++i;
    }
    if (f.packed) CloseLength(start, out);
    return absl::OkStatus();
  }

  absl::Status ReadMap(Element json, const FieldTable& f, std::string* out) {
    if (!json.is_object()) return Mismatch("object", json);
    // Each entry is a message on the wire, one level deeper.
    if (nested_ >= kMaxNestedMessages) return TooDeep();
    const MessageTable& entry = *f.Child();
    const FieldTable& key_field = entry.Named("key");
    const FieldTable& value_field = entry.Named("value");
    for (auto member : json::ObjectOf(json)) {
      const absl::string_view key = json::View(member.key);
      PutTag(f, out);
      const size_t start = OpenLength(out);
      // Map keys are strings in JSON, whatever the key type.
      absl::Status status = ReadMapKey(key, key_field, out);
      if (status.ok()) {
        ++nested_;
        status = ReadValue(member.value, value_field, Slot::kElement, out);
        --nested_;
      }
      if (!status.ok()) return Through({.key = key}, std::move(status));
      CloseLength(start, out);
    }
    return absl::OkStatus();
  }

  absl::Status ReadMapKey(absl::string_view key, const FieldTable& f,
                          std::string* out) {
    switch (f.field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        PutTag(f, out);
        PutLengthDelimited(key, out);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_BOOL:
        if (key != "true" && key != "false") {
          return Error("a bool map key is \"true\" or \"false\"");
        }
        PutTag(f, out);
        PutVarint(key == "true" ? 1 : 0, out);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT32:
        return PutIntegerKey<int32_t>(key, f, out);
      case FieldDescriptor::CPPTYPE_INT64:
        return PutIntegerKey<int64_t>(key, f, out);
      case FieldDescriptor::CPPTYPE_UINT32:
        return PutIntegerKey<uint32_t>(key, f, out);
      case FieldDescriptor::CPPTYPE_UINT64:
        return PutIntegerKey<uint64_t>(key, f, out);
      default:
        return Error("unsupported map key type");
    }
  }

  template <typename T>
  absl::Status PutIntegerKey(absl::string_view key, const FieldTable& f,
                             std::string* out) {
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
    PutTag(f, out);
    PutBits(f, IntegerBits(value, f.field), out);
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

  absl::Status ReadEnum(Element json, const FieldDescriptor* field,
                        int* number) {
    if (json.is_string()) {
      const auto* value =
          field->enum_type()->FindValueByName(std::string(StringOf(json)));
      if (value == nullptr) {
        return Error(absl::StrCat("unknown enum value \"",
                                  Quoted(StringOf(json)), "\""));
      }
      *number = value->number();
      return absl::OkStatus();
    }
    if (json.type() == element_type::INT64 &&
        json.get_int64().value_unsafe() >=
            std::numeric_limits<int32_t>::min() &&
        json.get_int64().value_unsafe() <=
            std::numeric_limits<int32_t>::max()) {
      *number = static_cast<int>(json.get_int64().value_unsafe());
      return absl::OkStatus();
    }
    return Mismatch("enum name", json);
  }

  template <typename T>
  absl::Status ReadIntegerBits(Element json, const FieldDescriptor* field,
                               uint64_t* bits) {
    T value{};
    absl::Status status = ReadInteger(json, &value);
    *bits = IntegerBits(value, field);
    return status;
  }

  // A numeric, bool or enum value as its encoding writes it.
  absl::Status ReadBits(Element json, const FieldDescriptor* field,
                        uint64_t* bits);

  absl::Status ReadValue(Element json, const FieldTable& f, Slot slot,
                         std::string* out);

  // Well-known types, in their proto3 JSON forms.
  absl::Status ReadWellKnown(Element json, const MessageTable& table,
                             std::string* out);
  absl::Status ReadTimestamp(Element json, const MessageTable& table,
                             std::string* out);
  absl::Status ReadDuration(Element json, const MessageTable& table,
                            std::string* out);
  absl::Status ReadStructValue(Element json, const MessageTable& table,
                               std::string* out);
  absl::Status ReadAny(Element json, const MessageTable& table,
                       std::string* out);

  JsonReadStats* stats_;
  std::vector<Step> path_;  // of the error being returned, innermost first
  int nested_ = 0;          // messages entered below the top-level one
};

absl::Status Reader::ReadBits(Element json, const FieldDescriptor* field,
                              uint64_t* bits) {
  absl::Status status;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return ReadIntegerBits<int32_t>(json, field, bits);
    case FieldDescriptor::CPPTYPE_INT64:
      return ReadIntegerBits<int64_t>(json, field, bits);
    case FieldDescriptor::CPPTYPE_UINT32:
      return ReadIntegerBits<uint32_t>(json, field, bits);
    case FieldDescriptor::CPPTYPE_UINT64:
      return ReadIntegerBits<uint64_t>(json, field, bits);
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v = 0;
      status = ReadDouble(json, &v);
      *bits = std::bit_cast<uint64_t>(v);
      return status;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v = 0;
      status = ReadFloat(json, &v);
      *bits = std::bit_cast<uint32_t>(v);
      return status;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      if (!json.is_bool()) return Mismatch("boolean", json);
      *bits = json.get_bool().value_unsafe() ? 1 : 0;
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number = 0;
      status = ReadEnum(json, field, &number);
      *bits = IntegerBits(number, field);
      return status;
    }
    default:
      return Error("unsupported field type");
  }
}

absl::Status Reader::ReadValue(Element json, const FieldTable& f, Slot slot,
                               std::string* out) {
  const bool keep_default = slot != Slot::kSingular || f.has_presence;
  switch (f.field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return ReadNested(json, f, out);
    case FieldDescriptor::CPPTYPE_STRING: {
      // json::Parse guarantees valid UTF-8 (escapes included), which a
      // proto3 string must be.
      if (!json.is_string()) return Mismatch("string", json);
      absl::string_view value = StringOf(json);
      std::string decoded;
      if (f.field->type() == FieldDescriptor::TYPE_BYTES) {
        if (!absl::Base64Unescape(value, &decoded) &&
            !absl::WebSafeBase64Unescape(value, &decoded)) {
          return Error("expected base64, got a string that is not");
        }
        value = decoded;
      }
      if (value.empty() && !keep_default) return absl::OkStatus();
      PutTag(f, out);
      PutLengthDelimited(value, out);
      return absl::OkStatus();
    }
    default: {
      uint64_t bits = 0;
      absl::Status status = ReadBits(json, f.field, &bits);
      if (!status.ok()) return status;
      // A zero of every bit is the default (-0.0 is kept, as protobuf does).
      if (bits == 0 && !keep_default) return absl::OkStatus();
      if (slot != Slot::kPacked) PutTag(f, out);
      PutBits(f, bits, out);
      return absl::OkStatus();
    }
  }
}

absl::Status Reader::ReadWellKnown(Element json, const MessageTable& table,
                                   std::string* out) {
  switch (table.well_known) {
    case WellKnown::kTimestamp:
      return ReadTimestamp(json, table, out);
    case WellKnown::kDuration:
      return ReadDuration(json, table, out);
    case WellKnown::kAny:
      return ReadAny(json, table, out);
    case WellKnown::kValue:
      return ReadStructValue(json, table, out);
    case WellKnown::kStruct:
      if (!json.is_object()) return Mismatch("object", json);
      return ReadMap(json, table.Named("fields"), out);
    case WellKnown::kListValue:
      return ReadField(json, table.Named("values"), out);
    case WellKnown::kFieldMask: {
      if (!json.is_string()) return Mismatch("string", json);
      const FieldTable& paths = table.Named("paths");
      for (absl::string_view path :
           absl::StrSplit(StringOf(json), ',', absl::SkipEmpty())) {
        PutTag(paths, out);
        PutLengthDelimited(json_internal::CamelToSnake(path), out);
      }
      return absl::OkStatus();
    }
    case WellKnown::kWrapper:
      // The JSON is the wrapped value.
      return ReadValue(json, table.Named("value"), Slot::kSingular, out);
    case WellKnown::kNone:
      break;
  }
  return Error("unsupported well-known type");
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

// Timestamp and Duration: seconds (int64) and nanos (int32), zero = unset.
void PutSecondsAndNanos(const MessageTable& table, int64_t seconds,
                        int32_t nanos, std::string* out) {
  PutVarintField(table.Named("seconds"), static_cast<uint64_t>(seconds), out);
  PutVarintField(table.Named("nanos"),
                 static_cast<uint64_t>(static_cast<int64_t>(nanos)), out);
}

absl::Status Reader::ReadTimestamp(Element json, const MessageTable& table,
                                   std::string* out) {
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
  PutSecondsAndNanos(table, seconds,
                     static_cast<int32_t>(absl::ToInt64Nanoseconds(
                         time - absl::FromUnixSeconds(seconds))),
                     out);
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
absl::Status Reader::ReadDuration(Element json, const MessageTable& table,
                                  std::string* out) {
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
  PutSecondsAndNanos(table, negative ? -signed_seconds : signed_seconds,
                     static_cast<int32_t>(negative ? -nanos : nanos), out);
  return absl::OkStatus();
}

// google.protobuf.Value: each kind is a member of its oneof, so even a zero
// is written.
absl::Status Reader::ReadStructValue(Element json, const MessageTable& table,
                                     std::string* out) {
  switch (json.type()) {
    case element_type::NULL_VALUE:
      PutTag(table.Named("null_value"), out);
      PutVarint(0, out);
      return absl::OkStatus();
    case element_type::BOOL:
      PutTag(table.Named("bool_value"), out);
      PutVarint(json.get_bool().value_unsafe() ? 1 : 0, out);
      return absl::OkStatus();
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      PutTag(table.Named("number_value"), out);
      PutFixed64(std::bit_cast<uint64_t>(DoubleOf(json)), out);
      return absl::OkStatus();
    case element_type::STRING:
      PutTag(table.Named("string_value"), out);
      PutLengthDelimited(StringOf(json), out);
      return absl::OkStatus();
    case element_type::OBJECT:
      return ReadNested(json, table.Named("struct_value"), out);
    case element_type::ARRAY:
      return ReadNested(json, table.Named("list_value"), out);
  }
  return Error("unsupported JSON value");
}

absl::Status Reader::ReadAny(Element json, const MessageTable& table,
                             std::string* out) {
  if (!json.is_object()) return Mismatch("object", json);
  std::optional<Element> type_member = json::Member(json, "@type");
  if (!type_member.has_value() || !type_member->is_string()) {
    return Error("an Any needs a string \"@type\"");
  }
  absl::string_view url = StringOf(*type_member);
  std::string name(url.substr(url.rfind('/') + 1));
  const Descriptor* type =
      table.descriptor->file()->pool()->FindMessageTypeByName(name);
  if (type == nullptr) {
    return Error(absl::StrCat("unknown type \"", Quoted(url), "\""));
  }
  const MessageTable& inner_table = MessageTable::Of(type);
  std::string inner;
  absl::Status status;
  if (inner_table.well_known != WellKnown::kNone) {
    std::optional<Element> value = json::Member(json, "value");
    if (value.has_value()) status = ReadMessage(*value, inner_table, &inner);
  } else {
    status = ReadMessage(json, inner_table, &inner, /*skip_type=*/true);
  }
  if (!status.ok()) return status;
  // type_url and value: empty = unset, as for any proto3 string.
  if (!url.empty()) {
    PutTag(table.Named("type_url"), out);
    PutLengthDelimited(url, out);
  }
  if (!inner.empty()) {
    PutTag(table.Named("value"), out);
    PutLengthDelimited(inner, out);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status JsonValueToWire(json::Element json, const Descriptor* type,
                             std::string* out, JsonReadStats* stats) {
  return Reader(stats).ReadRoot(json, MessageTable::Of(type), out);
}

absl::Status JsonValueToMessage(json::Element json, Message* message,
                                JsonReadStats* stats) {
  std::string wire;
  absl::Status status =
      JsonValueToWire(json, message->GetDescriptor(), &wire, stats);
  if (!status.ok()) return status;
  if (!message->MergeFromString(wire)) {
    return absl::InternalError(
        absl::StrCat("the wire format written for ",
                     message->GetDescriptor()->full_name(), " does not parse"));
  }
  return absl::OkStatus();
}

absl::Status JsonToMessage(absl::string_view json, Message* message,
                           JsonReadStats* stats) {
  absl::StatusOr<json::Document> document = json::Parse(json);
  if (!document.ok()) return document.status();
  return JsonValueToMessage(document->root(), message, stats);
}

}  // namespace envelope
