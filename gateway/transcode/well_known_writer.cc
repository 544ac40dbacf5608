// proto3 JSON of the well-known types, for hand-written protos that use them.
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gateway/transcode/json_internal.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/reflection.h"

namespace envelope::json_internal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const FieldDescriptor* Field(const Message& m, const char* name) {
  return m.GetDescriptor()->FindFieldByName(name);
}

int64_t Int64(const Message& m, const char* name) {
  return m.GetReflection()->GetInt64(m, Field(m, name));
}

int32_t Int32(const Message& m, const char* name) {
  return m.GetReflection()->GetInt32(m, Field(m, name));
}

// Why the value last written on this thread has no JSON form (TakeWriteError).
thread_local const char* write_error = nullptr;

// 0, 3, 6 or 9 fractional digits, as proto3 JSON prints them.
std::string Fraction(int32_t nanos) {
  if (nanos == 0) return "";
  if (nanos % 1000000 == 0) return absl::StrFormat(".%03d", nanos / 1000000);
  if (nanos % 1000 == 0) return absl::StrFormat(".%06d", nanos / 1000);
  return absl::StrFormat(".%09d", nanos);
}

void AppendTimestamp(const Message& m, std::string* out) {
  const int64_t seconds = Int64(m, "seconds");
  const int32_t nanos = Int32(m, "nanos");
  if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds ||
      nanos < 0 || nanos > kMaxNanos) {
    write_error = "a google.protobuf.Timestamp outside years 0001 to 9999";
    out->append("null");
    return;
  }
  absl::Time t = absl::FromUnixSeconds(seconds);
  AppendString(absl::StrCat(absl::FormatTime("%E4Y-%m-%dT%H:%M:%S", t,
                                             absl::UTCTimeZone()),
                            Fraction(Int32(m, "nanos")), "Z"),
               out);
}

void AppendDuration(const Message& m, std::string* out) {
  int64_t seconds = Int64(m, "seconds");
  int32_t nanos = Int32(m, "nanos");
  // Out of range, or of mixed signs (5 s and -1 ns): no text means it, and
  // writing one sign would send another value.
  if (seconds < -kMaxDurationSeconds || seconds > kMaxDurationSeconds ||
      nanos < -kMaxNanos || nanos > kMaxNanos || (seconds < 0 && nanos > 0) ||
      (seconds > 0 && nanos < 0)) {
    write_error = "a google.protobuf.Duration out of range or of mixed signs";
    out->append("null");
    return;
  }
  const bool negative = seconds < 0 || nanos < 0;
  const int64_t whole = seconds < 0 ? -seconds : seconds;
  const int32_t fraction = nanos < 0 ? -nanos : nanos;
  AppendString(
      absl::StrCat(negative ? "-" : "", whole, Fraction(fraction), "s"), out);
}

void AppendFieldMask(const Message& m, std::string* out) {
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* paths = Field(m, "paths");
  std::vector<std::string> camel;
  for (int i = 0; i < r->FieldSize(m, paths); ++i) {
    camel.push_back(SnakeToCamel(r->GetRepeatedString(m, paths, i)));
  }
  AppendString(absl::StrJoin(camel, ","), out);
}

void AppendValue(const Message& m, std::string* out);

void AppendStruct(const Message& m, std::string* out) {
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* fields = Field(m, "fields");
  out->push_back('{');
  bool first = true;
  for (int i : MapEntriesToWrite(m, fields)) {
    if (!first) out->push_back(',');
    first = false;
    const Message& entry = r->GetRepeatedMessage(m, fields, i);
    const Reflection* er = entry.GetReflection();
    AppendString(er->GetString(entry, entry.GetDescriptor()->map_key()), out);
    out->push_back(':');
    AppendValue(er->GetMessage(entry, entry.GetDescriptor()->map_value()), out);
  }
  out->push_back('}');
}

void AppendListValue(const Message& m, std::string* out) {
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* values = Field(m, "values");
  out->push_back('[');
  for (int i = 0; i < r->FieldSize(m, values); ++i) {
    if (i > 0) out->push_back(',');
    AppendValue(r->GetRepeatedMessage(m, values, i), out);
  }
  out->push_back(']');
}

void AppendValue(const Message& m, std::string* out) {
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* kind =
      r->GetOneofFieldDescriptor(m, m.GetDescriptor()->FindOneofByName("kind"));
  if (kind == nullptr || kind->name() == "null_value") {
    out->append("null");
  } else if (kind->name() == "number_value") {
    AppendDouble(r->GetDouble(m, kind), out);
  } else if (kind->name() == "string_value") {
    AppendString(r->GetString(m, kind), out);
  } else if (kind->name() == "bool_value") {
    out->append(r->GetBool(m, kind) ? "true" : "false");
  } else if (kind->name() == "struct_value") {
    AppendStruct(r->GetMessage(m, kind), out);
  } else {
    AppendListValue(r->GetMessage(m, kind), out);
  }
}

// Any values nested inside Any values being written on this thread. Each
// level parses its value anew, with protobuf's recursion budget anew and a
// copy of everything below it, so depth must be bounded here.
thread_local int any_nesting = 0;

void AppendTypeOnly(const std::string& url, std::string* out) {
  out->append("{\"@type\":");
  AppendString(url, out);
  out->append("}");
}

// {"@type": url, ...members} or, for a well-known type, {"@type", "value"}.
void AppendAny(const Message& m, std::string* out) {
  const Reflection* r = m.GetReflection();
  std::string url = r->GetString(m, Field(m, "type_url"));
  std::string name = url.substr(url.rfind('/') + 1);
  const Descriptor* type =
      m.GetDescriptor()->file()->pool()->FindMessageTypeByName(name);
  if (type == nullptr) {
    // Unknown type: keep what can be kept rather than fail the whole call.
    AppendTypeOnly(url, out);
    return;
  }
  if (any_nesting >= kMaxAnyNesting) {
    write_error = "google.protobuf.Any nested deeper than 8";
    AppendTypeOnly(url, out);
    return;
  }
  std::string scratch;
  const std::string& bytes =
      r->GetStringReference(m, Field(m, "value"), &scratch);
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<Message> inner(factory.GetPrototype(type)->New());
  inner->ParseFromString(bytes);
  ++any_nesting;
  std::string body;
  AppendMessage(*inner, &body);
  --any_nesting;
  out->append("{\"@type\":");
  AppendString(url, out);
  if (IsWellKnown(type)) {
    out->append(",\"value\":");
    out->append(body);
    out->push_back('}');
  } else if (body.size() > 2) {
    out->push_back(',');
    out->append(body, 1, body.size() - 1);  // members and the closing brace
  } else {
    out->push_back('}');
  }
}

bool IsWrapper(absl::string_view name) {
  return name == "google.protobuf.DoubleValue" ||
         name == "google.protobuf.FloatValue" ||
         name == "google.protobuf.Int64Value" ||
         name == "google.protobuf.UInt64Value" ||
         name == "google.protobuf.Int32Value" ||
         name == "google.protobuf.UInt32Value" ||
         name == "google.protobuf.BoolValue" ||
         name == "google.protobuf.StringValue" ||
         name == "google.protobuf.BytesValue";
}

}  // namespace

bool IsWellKnown(const Descriptor* descriptor) {
  const std::string& name = descriptor->full_name();
  return name == "google.protobuf.Timestamp" ||
         name == "google.protobuf.Duration" ||
         name == "google.protobuf.FieldMask" ||
         name == "google.protobuf.Struct" || name == "google.protobuf.Value" ||
         name == "google.protobuf.ListValue" || name == "google.protobuf.Any" ||
         IsWrapper(name);
}

std::string SnakeToCamel(absl::string_view path) {
  std::string out;
  bool upper = false;
  for (char c : path) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out.push_back(upper ? absl::ascii_toupper(c) : c);
    upper = false;
  }
  return out;
}

std::string CamelToSnake(absl::string_view path) {
  std::string out;
  for (char c : path) {
    if (absl::ascii_isupper(c)) {
      out.push_back('_');
      out.push_back(absl::ascii_tolower(c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

const char* TakeWriteError() { return std::exchange(write_error, nullptr); }

bool AppendWellKnown(const Message& message, std::string* out) {
  const Descriptor* d = message.GetDescriptor();
  if (d->file()->package() != "google.protobuf") return false;
  const std::string& name = d->full_name();
  if (name == "google.protobuf.Timestamp") {
    AppendTimestamp(message, out);
  } else if (name == "google.protobuf.Duration") {
    AppendDuration(message, out);
  } else if (name == "google.protobuf.FieldMask") {
    AppendFieldMask(message, out);
  } else if (name == "google.protobuf.Struct") {
    AppendStruct(message, out);
  } else if (name == "google.protobuf.Value") {
    AppendValue(message, out);
  } else if (name == "google.protobuf.ListValue") {
    AppendListValue(message, out);
  } else if (name == "google.protobuf.Any") {
    AppendAny(message, out);
  } else if (IsWrapper(name)) {
    AppendFieldValue(message, Field(message, "value"), out);  // the value alone
  } else {
    return false;
  }
  return true;
}

}  // namespace envelope::json_internal
