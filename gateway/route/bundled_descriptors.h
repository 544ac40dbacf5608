// File: the descriptors embedded in the binary at build time.
//
// Every .proto under proto/ and every bundled product version generated
// from the vendored specs (docs/protogen.md), as one serialized
// FileDescriptorSet, with the index the build made of it.
#ifndef GATEWAY_ROUTE_BUNDLED_DESCRIPTORS_H_
#define GATEWAY_ROUTE_BUNDLED_DESCRIPTORS_H_

#include "absl/strings/string_view.h"
#include "gateway/route/encoded_files.h"

namespace envelope {

// The serialized FileDescriptorSet (imports included). Reading all of it
// brings all of it into memory: prefer BundledFiles().
// Example: set.ParseFromString(std::string(BundledDescriptorSet()));
absl::string_view BundledDescriptorSet();

// The set's index (tools/protogen/index_descriptors.py).
// Example: EncodedFiles::FromIndex(BundledDescriptorSet(), BundledIndex());
absl::string_view BundledIndex();

// The set's files, kept encoded, read from the index once; for the first
// set of Router::Create, which builds a product's file on first use.
// Example:
//   Router::Create({{"bundled", "", &BundledFiles()}});
const EncodedFiles& BundledFiles();

}  // namespace envelope

#endif  // GATEWAY_ROUTE_BUNDLED_DESCRIPTORS_H_
