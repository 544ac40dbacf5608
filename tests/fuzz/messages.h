// The messages the transcoder harnesses read into: every message of the
// bundled descriptors (dynamic messages, as the gateway builds them) and the
// generated test protos (tests/protos/test_types.proto, well-known types).
#ifndef TESTS_FUZZ_MESSAGES_H_
#define TESTS_FUZZ_MESSAGES_H_

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace envelope::fuzz {

// The prototype of the message `full_name`, or nullptr when neither the
// bundled descriptors nor the test protos define it. Built once; lives for
// the whole process.
const google::protobuf::Message* FindPrototype(absl::string_view full_name);

// A product response from the bundled descriptors and the test protos: what
// an input without a selector line goes into.
inline constexpr absl::string_view kDescribeInstancesResponse =
    "tencentcloud.cvm.v20170312.DescribeInstancesResponse";
inline constexpr absl::string_view kAllTypes = "envelope.test.AllTypes";
inline constexpr absl::string_view kWellKnown = "envelope.test.WellKnown";

}  // namespace envelope::fuzz

#endif  // TESTS_FUZZ_MESSAGES_H_
