// File: product_parts.h
//
// A bundled product's file served as smaller files, so that a first call
// builds only the descriptors its method reaches (docs/design.md,
// "Descriptors"). A product version is one file of up to 500 KB (csip:
// 1,711 messages and enums, 613 methods), protobuf's DescriptorPool builds
// a file whole, and one method's request and response reach at most a fifth
// of it (most reach under 1 %).
//
// The split, done on the encoded bytes without parsing them:
// - the product's file keeps its name, its package, options and services,
//   and imports every part;
// - each message and enum goes to the part of the types that exactly the
//   same set of methods reaches.
// A type refers only to types reached by every method that reaches it, so a
// part imports only parts of strictly larger method sets: never a cycle.
// Building a method's request type builds its part and what that imports:
// the types the method reaches and no others. Names of messages, enums,
// services and the package do not change; only file names do
// ("csip.proto" → "csip.part12.proto" for a part).
#ifndef GATEWAY_ROUTE_PRODUCT_PARTS_H_
#define GATEWAY_ROUTE_PRODUCT_PARTS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace envelope {

class ProductParts {
 public:
  // Splits the encoded FileDescriptorProto `bytes` of file `name`, which
  // must outlive the result. An error when the file is malformed, refers
  // to a type by a relative name, or to a type of its package it does not
  // define: such a file is served whole.
  // Example:
  //   absl::StatusOr<ProductParts> parts =
  //       ProductParts::Split(file.name, file.bytes);
  static absl::StatusOr<ProductParts> Split(absl::string_view name,
                                            absl::string_view bytes);

  // The encoded file `bytes` without its messages, enums and dependencies:
  // what routing needs (package, options, services), cheap to parse. False
  // when `bytes` is not an encoded message.
  // Example:
  //   std::string services;
  //   ProductParts::ServicesOnly(file.bytes, &services);
  static bool ServicesOnly(absl::string_view bytes, std::string* out);

  // The product file that part file `name` belongs to, else empty.
  // Example:
  //   ProductParts::ProductOfPart("tencentcloud/cvm/v20170312/cvm.part3.proto")
  //   // "tencentcloud/cvm/v20170312/cvm.proto"
  static std::string ProductOfPart(absl::string_view name);

  // Example: for (size_t i = 0; i < parts.part_count(); ++i) ...
  size_t part_count() const { return parts_.size(); }
  // Example: parts.PartName(0)  // "tencentcloud/cvm/v20170312/cvm.part0.proto"
  const std::string& PartName(size_t index) const { return parts_[index].name; }

  // The encoded FileDescriptorProto of the product file (services only) or
  // of one of its parts; false for another name.
  // Example:
  //   std::string encoded;
  //   parts.Encode("tencentcloud/cvm/v20170312/cvm.proto", &encoded);
  bool Encode(absl::string_view name, std::string* out) const;

  // The file that defines `symbol`: the product file for its package, a
  // service or method, a part for a message or enum or anything inside one.
  // Empty for a symbol the product does not define.
  // Example:
  //   parts.FileOfSymbol("tencentcloud.cvm.v20170312.Filter.Name")
  //   // "tencentcloud/cvm/v20170312/cvm.part7.proto"
  absl::string_view FileOfSymbol(absl::string_view symbol) const;

 private:
  struct Part {
    std::string name;
    std::vector<absl::string_view> types;  // encoded fields 4 and 5, tagged
    std::vector<size_t> imports;           // other parts
  };

  std::string name_;
  std::string package_;
  // Fields every file of the product keeps, tagged: package, dependency,
  // options, syntax.
  std::vector<absl::string_view> shared_fields_;
  std::vector<absl::string_view> product_only_fields_;  // services and the rest
  std::vector<std::string> services_;                   // short names
  std::vector<Part> parts_;
  absl::flat_hash_map<std::string, size_t> part_of_type_;  // by short name
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_PRODUCT_PARTS_H_
