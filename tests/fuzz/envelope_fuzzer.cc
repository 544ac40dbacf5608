// The envelope interpreter on any upstream answer: InterpretResponse
// (gateway/envelope/outcome.h) with an HTTP status and a body.
//
// Input: one status byte, then the body. The byte's low four bits pick the
// HTTP status (fuzz_support.h, HttpStatusOf: '0'..'7' 200, '8' 400, ...).
// Bit 4 picks the language of the error context.
//
// Beyond "no crash, no sanitizer report", what the front does with the
// outcome must be possible:
//   - the RequestId and error code go out as gRPC trailers through
//     MetadataValue (gateway/front/call_reactor.cc): that must give legal
//     ASCII metadata of at most kMaxMetadataValue bytes, or gRPC aborts the
//     process (text_limits.h);
//   - the details (grpc-status-details-bin) must parse as a
//     google.rpc.Status with the outcome's code and message, and each detail
//     as the type it names (proto3 strings: valid UTF-8): a client that
//     cannot parse them sees no details at all;
//   - an OK outcome carries no details; a failure has a message of at most
//     kMaxErrorMessage bytes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/envelope/details.h"
#include "gateway/envelope/outcome.h"
#include "gateway/envelope/status_table.h"
#include "gateway/envelope/text_limits.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr char kHarness[] = "envelope_fuzzer";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const long http_status = envelope::fuzz::HttpStatusOf(data[0]);
  static const envelope::StatusTable* table = [] {
    // protobuf logs each string with invalid UTF-8 it refuses to parse;
    // at thousands of inputs a second that is mostly what the run does.
    google::protobuf::SetLogHandler(nullptr);
    // The detail types register with the generated pool only when their
    // object file is linked in: naming one keeps it.
    (void)google::rpc::ErrorInfo::default_instance();
    return new envelope::StatusTable(envelope::StatusTable::Default());
  }();
  envelope::ErrorContext context;
  context.service = "cvm";
  context.version = "2017-03-12";
  context.action = "DescribeInstances";
  context.region = "ap-guangzhou";
  context.language = (data[0] & 0x10) ? "zh-CN" : "";
  // A copy of exactly the body's bytes: ASan then sees a read past its end.
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  envelope::Outcome outcome =
      envelope::InterpretResponse(http_status, body, context, *table);

  for (const auto& [name, value] :
       {std::pair{"x-tc-requestid", &outcome.request_id},
        std::pair{"x-tc-error-code", &outcome.error_code}}) {
    const std::string sent = envelope::MetadataValue(*value);
    FUZZ_CHECK(kHarness, envelope::fuzz::IsPrintableAscii(sent),
               absl::StrCat(name, " is no legal gRPC metadata value: ",
                            absl::CEscape(sent)));
    FUZZ_CHECK(kHarness, sent.size() <= envelope::kMaxMetadataValue,
               absl::StrCat(name, " is ", sent.size(), " bytes long"));
  }
  if (outcome.ok()) {
    FUZZ_CHECK(kHarness, outcome.details.empty(), "OK with details");
    if (outcome.envelope.has_value()) {
      FUZZ_CHECK(kHarness, outcome.envelope->response.is_object(),
                 "OK envelope without a Response object");
    }
    return 0;
  }
  FUZZ_CHECK(kHarness, !outcome.message.empty(), "a failure without message");
  FUZZ_CHECK(kHarness, outcome.message.size() <= envelope::kMaxErrorMessage,
             absl::StrCat("a message of ", outcome.message.size(), " bytes"));
  if (!outcome.details.empty()) {
    google::rpc::Status details;
    FUZZ_CHECK(kHarness, details.ParseFromString(outcome.details),
               "grpc-status-details-bin does not parse as google.rpc.Status "
               "(invalid UTF-8 in a string?)");
    FUZZ_CHECK(kHarness, details.code() == static_cast<int>(outcome.code),
               "details name another code than the status");
    FUZZ_CHECK(kHarness, details.message() == outcome.message,
               "details hold another message than the status");
    for (const google::protobuf::Any& detail : details.details()) {
      const std::string type =
          detail.type_url().substr(detail.type_url().rfind('/') + 1);
      const google::protobuf::Descriptor* descriptor =
          google::protobuf::DescriptorPool::generated_pool()
              ->FindMessageTypeByName(type);
      FUZZ_CHECK(kHarness, descriptor != nullptr,
                 "a detail of unknown type " + type);
      std::unique_ptr<google::protobuf::Message> message(
          google::protobuf::MessageFactory::generated_factory()
              ->GetPrototype(descriptor)
              ->New());
      FUZZ_CHECK(kHarness, message->ParseFromString(detail.value()),
                 "the detail " + type +
                     " does not parse (invalid UTF-8 in a string?)");
    }
  }
  return 0;
}
