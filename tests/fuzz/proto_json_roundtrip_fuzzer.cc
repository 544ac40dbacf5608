// proto -> JSON -> proto: MessageToJson then JsonToMessage
// (gateway/transcode/transcode.h) must give back the message, as a gRPC
// request written for the upstream must say what the client sent.
//
// Input: protobuf wire bytes, optionally after a selector line
// "@full.message.Name\n" (any message of the bundled descriptors or the test
// protos). Without one, the first byte picks DescribeInstancesResponse,
// envelope.test.AllTypes or envelope.test.WellKnown and the rest is the
// message.
//
// Bytes that do not parse are no message and end there. What JSON cannot
// say is dropped first (Canonicalize: unknown fields, the number in a
// NullValue, non-canonical Any bytes). The round trip is checked for
// every message protobuf's own JSON printer (util::MessageToJsonString)
// accepts; the others hold values proto3 JSON has no form for (a Timestamp
// after year 9999, an Any of an unknown type, a FieldMask path that does not
// survive camelCase, ...), which the gateway writes as best it can; so does
// an Any whose bytes do not parse as its type. They still go through both
// directions, for the sanitizers.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/transcode/transcode.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/messages.h"

namespace {

constexpr char kHarness[] = "proto_json_roundtrip_fuzzer";

// Makes `message` what its JSON can say, and says whether that is possible:
//   - unknown fields go (JSON has no place for them), also inside an Any;
//   - every google.protobuf.NullValue becomes 0: proto3 JSON writes any
//     number in it as null, which reads back as NULL_VALUE (protobuf's own
//     printer and parser do the same);
//   - a FieldMask path that is not lower_snake_case makes it false;
//   - a Value of no kind becomes null_value; one holding NaN or an infinity
//     makes it false;
//   - a map that names a key twice keeps only the key's last entry (what
//     the map holds; the JSON names each key once);
//   - an Any's bytes are parsed as the type it names and written again
//     (canonical bytes); false when they do not parse, or the type is
//     unknown: Any.value is opaque to the outer parse, and the writer can
//     only write what parses.
// A map read from the wire may name a key twice; its value is the last
// entry's. A dynamic message's reflection lists both (and serializes both),
// JSON names the key once: only each key's last entry is kept.
void KeepLastEntryOfEachKey(google::protobuf::Message* message,
                            const google::protobuf::FieldDescriptor* field) {
  const google::protobuf::Reflection* r = message->GetReflection();
  const int n = r->FieldSize(*message, field);
  std::vector<std::string> keys(n);
  std::map<std::string, int> last;
  for (int i = 0; i < n; ++i) {
    const google::protobuf::Message& entry =
        r->GetRepeatedMessage(*message, field, i);
    google::protobuf::TextFormat::PrintFieldValueToString(
        entry, entry.GetDescriptor()->map_key(), -1, &keys[i]);
    last[keys[i]] = i;
  }
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    if (last[keys[i]] != i) continue;
    if (kept != i) r->SwapElements(message, field, kept, i);
    ++kept;
  }
  while (r->FieldSize(*message, field) > kept) r->RemoveLast(message, field);
}

bool Canonicalize(google::protobuf::Message* message) {
  using google::protobuf::FieldDescriptor;
  message->DiscardUnknownFields();
  const google::protobuf::Descriptor* d = message->GetDescriptor();
  const google::protobuf::Reflection* r = message->GetReflection();
  if (d->full_name() == "google.protobuf.Any") {
    const FieldDescriptor* value = d->FindFieldByName("value");
    const std::string url =
        r->GetString(*message, d->FindFieldByName("type_url"));
    const google::protobuf::Descriptor* type =
        d->file()->pool()->FindMessageTypeByName(
            url.substr(url.rfind('/') + 1));
    // An unknown type has no JSON form, though protobuf's printer writes an
    // empty one as {"@type": ...}; no reader can take it back.
    if (type == nullptr) return false;
    google::protobuf::DynamicMessageFactory factory;
    std::unique_ptr<google::protobuf::Message> inner(
        factory.GetPrototype(type)->New());
    if (!inner->ParseFromString(r->GetString(*message, value)) ||
        !Canonicalize(inner.get())) {
      return false;
    }
    r->SetString(message, value, inner->SerializeAsString());
    return true;
  }
  if (d->full_name() == "google.protobuf.FieldMask") {
    // Only lower_snake_case paths survive camelCase and back; protobuf's C++
    // printer takes any (Java's refuses uppercase), so this is checked here.
    for (const std::string& path : r->GetRepeatedFieldRef<std::string>(
             *message, d->FindFieldByName("paths"))) {
      for (size_t i = 0; i < path.size(); ++i) {
        const char c = path[i];
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                             c == '.' || c == '_';
        const bool bad_underscore =
            c == '_' &&
            (i + 1 == path.size() || path[i + 1] < 'a' || path[i + 1] > 'z');
        if (!allowed || bad_underscore) return false;
      }
    }
    return true;
  }
  if (d->full_name() == "google.protobuf.Value") {
    const FieldDescriptor* kind =
        r->GetOneofFieldDescriptor(*message, d->FindOneofByName("kind"));
    if (kind == nullptr) {
      // A Value of no kind is written as null, which reads back as
      // null_value: the same in JSON.
      r->SetEnumValue(message, d->FindFieldByName("null_value"), 0);
    } else if (kind->name() == "number_value" &&
               !std::isfinite(r->GetDouble(*message, kind))) {
      return false;  // JSON numbers are finite; "NaN" would be a string
    }
  }
  if (d->map_value() != nullptr) {
    // A map entry without its value means the default value: for a message
    // (a Struct's Value) that is an empty one, which JSON writes as null.
    const FieldDescriptor* value = d->map_value();
    if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        !r->HasField(*message, value)) {
      r->MutableMessage(message, value);
    }
  }
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  bool ok = true;
  for (const FieldDescriptor* field : fields) {
    if (field->is_map()) KeepLastEntryOfEachKey(message, field);
    const int n = field->is_repeated() ? r->FieldSize(*message, field) : 1;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
        field->enum_type()->full_name() == "google.protobuf.NullValue") {
      for (int i = 0; i < n; ++i) {
        if (field->is_repeated()) {
          r->SetRepeatedEnumValue(message, field, i, 0);
        } else {
          r->SetEnumValue(message, field, 0);
        }
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      for (int i = 0; i < n; ++i) {
        ok &= Canonicalize(field->is_repeated()
                               ? r->MutableRepeatedMessage(message, field, i)
                               : r->MutableMessage(message, field));
      }
    }
  }
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::string_view wire = input;
  const std::string selected = envelope::fuzz::TakeSelector(&wire);
  const google::protobuf::Message* prototype = nullptr;
  if (!selected.empty()) {
    prototype = envelope::fuzz::FindPrototype(selected);
  } else if (!wire.empty()) {
    static constexpr absl::string_view kDefaults[] = {
        envelope::fuzz::kDescribeInstancesResponse, envelope::fuzz::kAllTypes,
        envelope::fuzz::kWellKnown};
    prototype = envelope::fuzz::FindPrototype(
        kDefaults[static_cast<uint8_t>(wire[0]) % 3]);
    wire.remove_prefix(1);
  }
  if (prototype == nullptr) return 0;

  std::unique_ptr<google::protobuf::Message> message(prototype->New());
  if (!message->ParseFromString(std::string(wire))) return 0;
  const bool comparable = Canonicalize(message.get());
  std::string json;
  const absl::Status written = envelope::MessageToJson(*message, &json);
  if (!written.ok()) {
    // Its one error: Any nested past its bound (transcode.h).
    FUZZ_CHECK(kHarness, written.code() == absl::StatusCode::kInvalidArgument,
               "MessageToJson failed with " + written.ToString());
    return 0;
  }
  std::unique_ptr<google::protobuf::Message> back(prototype->New());
  const absl::Status read = envelope::JsonToMessage(json, back.get());

  std::string reference;
  if (!comparable ||
      !google::protobuf::util::MessageToJsonString(*message, &reference).ok()) {
    return 0;  // no proto3 JSON form: see above
  }
  const std::string type = prototype->GetDescriptor()->full_name();
  FUZZ_CHECK(kHarness, read.ok(),
             absl::StrCat(type,
                          ": JsonToMessage refuses what MessageToJson "
                          "wrote: ",
                          read.ToString(), "\nJSON: ", json.substr(0, 2000)));
  const std::string differences = envelope::fuzz::Differences(*message, *back);
  FUZZ_CHECK(kHarness, differences.empty(),
             absl::StrCat(type, ": the round trip changed the message: ",
                          differences, "\nJSON: ", json.substr(0, 2000)));
  return 0;
}
