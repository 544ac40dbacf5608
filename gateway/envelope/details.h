#ifndef GATEWAY_ENVELOPE_DETAILS_H_
#define GATEWAY_ENVELOPE_DETAILS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/rpc/status.pb.h"

namespace envelope {

// What the gateway knows about a call, for the details of a failure.
struct ErrorContext {
  std::string service;
  std::string version;
  std::string action;
  std::string region;    // empty: not sent, not in the metadata
  std::string language;  // empty: en-US
  std::string domain = "tencentcloudapi.com";
  // RetryInfo's delay for RequestLimitExceeded*.
  absl::Duration retry_delay = absl::Seconds(1);
};

// google.rpc.Status for a failure envelope (docs/errors.md, "Details"):
// ErrorInfo, RequestInfo, LocalizedMessage, and the detail of the code's
// family.
google::rpc::Status BuildErrorStatus(absl::StatusCode code,
                                     absl::string_view error_code,
                                     absl::string_view message,
                                     absl::string_view request_id,
                                     const ErrorContext& context);

// Appends a google.rpc.RetryInfo saying "try again after `delay`".
void AddRetryInfo(absl::Duration delay, google::rpc::Status& status);

// The API member a message names, e.g. "InstanceIds" in "The value specified
// in parameter `InstanceIds` is invalid."; empty when it names none.
std::string FieldNamedIn(absl::string_view message);

}  // namespace envelope

#endif  // GATEWAY_ENVELOPE_DETAILS_H_
