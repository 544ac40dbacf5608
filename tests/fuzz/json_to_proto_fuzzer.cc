// JSON -> proto: JsonToMessage (gateway/transcode/transcode.h), as the
// dispatcher reads an upstream's Response into the method's response type.
//
// Input: JSON text, optionally after a selector line "@full.message.Name\n"
// naming any message of the bundled descriptors or the test protos (the
// generated seeds name each example's own response or request type).
// Without one, the JSON goes into three messages: DescribeInstancesResponse
// (a dynamic message, as the gateway builds them), envelope.test.AllTypes
// (every scalar, map and enum shape) and envelope.test.WellKnown (Timestamp,
// Duration, Struct, Any, wrappers, ...).
//
// When the read succeeds, the message is sent to a gRPC client next, so
// (the correctness oracle):
//   - every string field holds valid UTF-8, or the client's parser refuses
//     the whole response;
//   - it serializes, and the bytes parse again with protobuf's default
//     limits (nesting depth 100) into an equal message.
// A read that fails says INVALID_ARGUMENT, as transcode.h promises.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/transcode/transcode.h"
#include "google/protobuf/message.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/messages.h"

namespace {

constexpr char kHarness[] = "json_to_proto_fuzzer";

void ReadInto(const google::protobuf::Message& prototype,
              absl::string_view json) {
  std::unique_ptr<google::protobuf::Message> message(prototype.New());
  envelope::JsonReadStats stats;
  const absl::Status status =
      envelope::JsonToMessage(json, message.get(), &stats);
  const std::string type = prototype.GetDescriptor()->full_name();
  if (!status.ok()) {
    FUZZ_CHECK(kHarness, status.code() == absl::StatusCode::kInvalidArgument,
               absl::StrCat(type, ": a failed read is not INVALID_ARGUMENT: ",
                            status.ToString()));
    return;
  }
  FUZZ_CHECK(kHarness, stats.unknown_members >= 0,
             "negative count of unknown members");
  envelope::fuzz::ForEachString(
      *message, [&](const google::protobuf::FieldDescriptor* field,
                    const std::string& value) {
        FUZZ_CHECK(kHarness, envelope::fuzz::IsValidUtf8(value),
                   absl::StrCat(type, ": string field ", field->full_name(),
                                " holds invalid UTF-8: \"",
                                absl::CEscape(value.substr(0, 200)), "\""));
      });
  std::string wire;
  FUZZ_CHECK(kHarness, message->SerializeToString(&wire),
             absl::StrCat(type, ": the message read does not serialize"));
  std::unique_ptr<google::protobuf::Message> again(prototype.New());
  FUZZ_CHECK(kHarness, again->ParseFromString(wire),
             absl::StrCat(type,
                          ": the message read serializes to bytes protobuf "
                          "cannot parse with its default limits (",
                          wire.size(), " bytes; nesting deeper than 100?)"));
  const std::string differences = envelope::fuzz::Differences(*message, *again);
  FUZZ_CHECK(
      kHarness, differences.empty(),
      absl::StrCat(type, ": parsed again, the message differs: ", differences));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exactly the input's bytes in their own allocation: ASan then sees a read
  // past the end of the text.
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::string_view json = input;
  const std::string selected = envelope::fuzz::TakeSelector(&json);
  if (!selected.empty()) {
    const google::protobuf::Message* prototype =
        envelope::fuzz::FindPrototype(selected);
    if (prototype != nullptr) ReadInto(*prototype, json);
    return 0;
  }
  for (absl::string_view name :
       {envelope::fuzz::kDescribeInstancesResponse, envelope::fuzz::kAllTypes,
        envelope::fuzz::kWellKnown}) {
    ReadInto(*envelope::fuzz::FindPrototype(name), json);
  }
  return 0;
}
