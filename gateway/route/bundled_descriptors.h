#ifndef GATEWAY_ROUTE_BUNDLED_DESCRIPTORS_H_
#define GATEWAY_ROUTE_BUNDLED_DESCRIPTORS_H_

#include "absl/strings/string_view.h"

namespace envelope {

// The serialized FileDescriptorSet of every proto under proto/ (imports
// included), embedded in the binary at build time.
absl::string_view BundledDescriptorSet();

}  // namespace envelope

#endif  // GATEWAY_ROUTE_BUNDLED_DESCRIPTORS_H_
