// The multipart/form-data form of a request with binary members
// (gateway/transcode/multipart.h), from a caller's request.
//
// Input: protobuf wire bytes of envelope.test.AllTypes (every field shape,
// a top-level bytes field among them). Bytes that do not parse are no
// message and end there.
//
// Properties beyond "no crash, no sanitizer report": a refusal is
// INVALID_ARGUMENT (a string that is not UTF-8); a form holds the bytes
// member as it is, as a file part; it is empty exactly when no member is
// set, and otherwise ends with the closing boundary.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gateway/transcode/multipart.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/protos/test_types.pb.h"

namespace {

constexpr char kHarness[] = "multipart_fuzzer";
constexpr char kBoundary[] = "0123456789abcdef0123456789abcdef";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  envelope::test::AllTypes request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  std::string form;
  const absl::Status status =
      envelope::MessageToMultipart(request, kBoundary, &form);
  if (!status.ok()) {
    FUZZ_CHECK(kHarness, status.code() == absl::StatusCode::kInvalidArgument,
               "a refusal other than INVALID_ARGUMENT: " + status.ToString());
    return 0;
  }
  std::vector<const google::protobuf::FieldDescriptor*> set;
  request.GetReflection()->ListFields(request, &set);
  FUZZ_CHECK(kHarness, form.empty() == set.empty(),
             "a form that is empty when members are set, or not when none is");
  if (!set.empty()) {
    FUZZ_CHECK(kHarness,
               absl::EndsWith(form, std::string("--") + kBoundary + "--\r\n"),
               "a form without its closing boundary");
  }
  if (request.has_blob()) {
    FUZZ_CHECK(kHarness,
               absl::StrContains(form, "; filename=\"Blob\"\r\n\r\n" +
                                           request.blob() + "\r\n"),
               "the bytes member is not a file part as it is");
  }
  return 0;
}
