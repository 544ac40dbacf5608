#ifndef GATEWAY_ROUTE_API_NAMES_H_
#define GATEWAY_ROUTE_API_NAMES_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace envelope {

// The names a call carries to the API (docs/design.md), checked the same way
// whether they come from route options when descriptors load or from a
// JsonApi request per call. Errors are INVALID_ARGUMENT naming the value
// (escaped, cut at 64 characters).

// "cvm": lower-case letters, digits, '-'; 1 to 64 characters (it goes into
// the endpoint's host name and the signature's scope).
absl::Status ValidateService(absl::string_view service);
// "2017-03-12".
absl::Status ValidateVersion(absl::string_view version);
// "DescribeInstances": letters and digits, 1 to 64 (sent as X-TC-Action).
absl::Status ValidateAction(absl::string_view action);
// "ap-guangzhou", or empty (none).
absl::Status ValidateRegion(absl::string_view region);
// "zh-CN", "en-US", or empty.
absl::Status ValidateLanguage(absl::string_view language);

}  // namespace envelope

#endif  // GATEWAY_ROUTE_API_NAMES_H_
