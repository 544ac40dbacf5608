// Message -> JSON. Reflection over the message's own descriptor, so dynamic
// messages of runtime-loaded descriptors are written like generated ones.
#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gateway/transcode/json_internal.h"
#include "gateway/transcode/transcode.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace envelope {
namespace json_internal {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

namespace {

// Characters that need an escape inside a JSON string.
bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

void AppendEscape(unsigned char c, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out->append("\\\"");
      break;
    case '\\':
      out->append("\\\\");
      break;
    case '\n':
      out->append("\\n");
      break;
    case '\r':
      out->append("\\r");
      break;
    case '\t':
      out->append("\\t");
      break;
    default:
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
  }
}

// The fields of a message type in number order, each with its member name
// already written as `"Name":`: built once per type, not per call.
struct WritePlan {
  struct Entry {
    const FieldDescriptor* field;
    std::string key;
  };
  std::vector<Entry> entries;
};

std::unique_ptr<const WritePlan> BuildWritePlan(
    const google::protobuf::Descriptor* descriptor) {
  auto built = std::make_unique<WritePlan>();
  WritePlan& plan = *built;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    std::string key;
    AppendString(field->json_name(), &key);
    key.push_back(':');
    plan.entries.push_back({field, std::move(key)});
  }
  std::sort(plan.entries.begin(), plan.entries.end(),
            [](const auto& a, const auto& b) {
              return a.field->number() < b.field->number();
            });
  return built;
}

}  // namespace

void AppendString(absl::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;  // start of the pending run that needs no escape
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (!NeedsEscape(c)) continue;
    out->append(s.data() + run, i - run);
    AppendEscape(c, out);
    run = i + 1;
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendDouble(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("\"NaN\"");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    char buffer[32];
    auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    // The shortest form of a large double may be plain digits
    // ("18446744073709552000"): a JSON reader takes that for an integer,
    // beyond 64 bits and refused (json::Parse does). An exponent keeps it a
    // double.
    if (result.ptr - buffer > 18 &&
        std::find_if(buffer, result.ptr, [](char c) {
          return c == '.' || c == 'e';
        }) == result.ptr) {
      result = std::to_chars(buffer, buffer + sizeof(buffer), value,
                             std::chars_format::scientific);
    }
    out->append(buffer, result.ptr);
  }
}

namespace {

// One value of a field; `index` < 0 for a singular field.
void AppendValue(const Message& message, const FieldDescriptor* field,
                 int index, std::string* out) {
  const Reflection* r = message.GetReflection();
  const bool repeated = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(out, repeated ? r->GetRepeatedInt32(message, field, index)
                                    : r->GetInt32(message, field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(out, repeated ? r->GetRepeatedInt64(message, field, index)
                                    : r->GetInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(out, repeated
                               ? r->GetRepeatedUInt32(message, field, index)
                               : r->GetUInt32(message, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(out, repeated
                               ? r->GetRepeatedUInt64(message, field, index)
                               : r->GetUInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      AppendDouble(repeated ? r->GetRepeatedDouble(message, field, index)
                            : r->GetDouble(message, field),
                   out);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      AppendDouble(repeated ? r->GetRepeatedFloat(message, field, index)
                            : r->GetFloat(message, field),
                   out);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((repeated ? r->GetRepeatedBool(message, field, index)
                            : r->GetBool(message, field))
                      ? "true"
                      : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number = repeated ? r->GetRepeatedEnumValue(message, field, index)
                            : r->GetEnumValue(message, field);
      const auto* value = field->enum_type()->FindValueByNumber(number);
      if (value != nullptr) {
        AppendString(value->name(), out);
      } else {
        absl::StrAppend(out, number);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s =
          repeated
              ? r->GetRepeatedStringReference(message, field, index, &scratch)
              : r->GetStringReference(message, field, &scratch);
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        AppendString(absl::Base64Escape(s), out);
      } else {
        AppendString(s, out);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      AppendMessage(repeated ? r->GetRepeatedMessage(message, field, index)
                             : r->GetMessage(message, field),
                    out);
      break;
  }
}

// A map entry's key as a JSON member name.
void AppendMapKey(const Message& entry, std::string* out) {
  const FieldDescriptor* key = entry.GetDescriptor()->map_key();
  if (key->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    AppendValue(entry, key, -1, out);
    return;
  }
  std::string text;
  AppendValue(entry, key, -1, &text);
  AppendString(text, out);
}

void AppendField(const Message& message, const FieldDescriptor* field,
                 std::string* out) {
  const Reflection* r = message.GetReflection();
  if (field->is_map()) {
    out->push_back('{');
    bool first = true;
    for (int i : MapEntriesToWrite(message, field)) {
      if (!first) out->push_back(',');
      first = false;
      const Message& entry = r->GetRepeatedMessage(message, field, i);
      AppendMapKey(entry, out);
      out->push_back(':');
      AppendValue(entry, entry.GetDescriptor()->map_value(), -1, out);
    }
    out->push_back('}');
  } else if (field->is_repeated()) {
    out->push_back('[');
    int size = r->FieldSize(message, field);
    for (int i = 0; i < size; ++i) {
      if (i > 0) out->push_back(',');
      AppendValue(message, field, i, out);
    }
    out->push_back(']');
  } else {
    AppendValue(message, field, -1, out);
  }
}

// A map entry's key, as text to compare keys by.
std::string MapKeyText(const Message& entry) {
  const FieldDescriptor* key = entry.GetDescriptor()->map_key();
  if (key->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    return entry.GetReflection()->GetString(entry, key);
  }
  std::string text;
  AppendValue(entry, key, -1, &text);
  return text;
}

}  // namespace

std::vector<int> MapEntriesToWrite(const Message& message,
                                   const FieldDescriptor* field) {
  const Reflection* r = message.GetReflection();
  const int size = r->FieldSize(message, field);
  std::vector<int> indexes;
  indexes.reserve(size);
  if (size < 2) {
    for (int i = 0; i < size; ++i) indexes.push_back(i);
    return indexes;
  }
  absl::flat_hash_map<std::string, int> last;
  for (int i = 0; i < size; ++i) {
    last[MapKeyText(r->GetRepeatedMessage(message, field, i))] = i;
  }
  for (int i = 0; i < size; ++i) {
    if (last[MapKeyText(r->GetRepeatedMessage(message, field, i))] == i) {
      indexes.push_back(i);
    }
  }
  return indexes;
}

void AppendFieldValue(const Message& message, const FieldDescriptor* field,
                      std::string* out) {
  AppendValue(message, field, -1, out);
}

void AppendMessage(const Message& message, std::string* out) {
  if (AppendWellKnown(message, out)) return;
  const WritePlan& plan =
      CachedPerDescriptor<WritePlan, BuildWritePlan>(message.GetDescriptor());
  const Reflection* r = message.GetReflection();
  out->push_back('{');
  bool first = true;
  for (const WritePlan::Entry& entry : plan.entries) {
    // Sent only when set: present optional fields, non-default proto3
    // scalars, non-empty repeated fields.
    const bool set = entry.field->is_repeated()
                         ? r->FieldSize(message, entry.field) > 0
                         : r->HasField(message, entry.field);
    if (!set) continue;
    if (!first) out->push_back(',');
    first = false;
    out->append(entry.key);
    AppendField(message, entry.field, out);
  }
  out->push_back('}');
}

}  // namespace json_internal

namespace {

// The length of the valid UTF-8 sequence at text[i], or 0 when there is none
// (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF).
size_t Utf8SequenceAt(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) -> unsigned {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
  };
  const auto tail = [&](size_t k) { return (byte(k) & 0xC0) == 0x80; };
  const unsigned b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return tail(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned b1 = byte(1);
    if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F)) return 0;
    return tail(1) && tail(2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned b1 = byte(1);
    if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F)) return 0;
    return tail(1) && tail(2) && tail(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

void AppendJsonString(absl::string_view text, std::string* out) {
  std::string repaired;
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = Utf8SequenceAt(text, i);
    if (n == 0) break;
    i += n;
  }
  if (i == text.size()) {
    json_internal::AppendString(text, out);
    return;
  }
  // Not UTF-8: each byte that starts no valid sequence becomes U+FFFD.
  repaired.assign(text.data(), i);
  while (i < text.size()) {
    const size_t n = Utf8SequenceAt(text, i);
    if (n == 0) {
      repaired.append("\xEF\xBF\xBD");
      ++i;
    } else {
      repaired.append(text.data() + i, n);
      i += n;
    }
  }
  json_internal::AppendString(repaired, out);
}

absl::Status MessageToJson(const google::protobuf::Message& message,
                           std::string* out) {
  // Most responses are a few KiB; growing from empty costs several copies.
  if (out->capacity() - out->size() < 4096) out->reserve(out->size() + 4096);
  json_internal::AppendMessage(message, out);
  if (const char* error = json_internal::TakeWriteError()) {
    return absl::InvalidArgumentError(error);
  }
  return absl::OkStatus();
}

}  // namespace envelope
