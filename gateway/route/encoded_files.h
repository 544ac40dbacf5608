// File: the files of a descriptor set kept encoded, with what each defines.
//
// The bundled set holds every product version (docs/protogen.md); building
// all of it costs about 0.8 MB of memory per product. EncodedFiles keeps the
// set as the build embedded it and knows, per file, its name, package and
// services, so that the gateway lists and routes every service while a
// DescriptorPool builds a product's file only when a call first needs it
// (docs/design.md, "Descriptors").
#ifndef GATEWAY_ROUTE_ENCODED_FILES_H_
#define GATEWAY_ROUTE_ENCODED_FILES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace envelope {

class EncodedFiles {
 public:
  struct File {
    std::string name;         // "tencentcloud/cvm/v20170312/cvm.proto"
    std::string package;      // "tencentcloud.cvm.v20170312"
    absl::string_view bytes;  // the encoded FileDescriptorProto
    int extensions = 0;       // top-level `extend` fields
    std::vector<std::string> services;  // full names
    // Built only when first needed: a tencentcloud.* product, alone in its
    // package and extending nothing. Other files are built at start-up.
    bool lazy = false;
  };

  // From the build's index of `set` (tools/protogen/index_descriptors.py:
  // "<offset> <size> <name> <package|-> <extensions> <services|->" lines).
  // `set` must outlive the result.
  // Example:
  //   absl::StatusOr<EncodedFiles> files =
  //       EncodedFiles::FromIndex(BundledDescriptorSet(), BundledIndex());
  static absl::StatusOr<EncodedFiles> FromIndex(absl::string_view set,
                                                absl::string_view index);

  // Parses every file of a serialized FileDescriptorSet, which it keeps.
  // Example:
  //   absl::StatusOr<EncodedFiles> files = EncodedFiles::FromSet(bytes);
  static absl::StatusOr<EncodedFiles> FromSet(std::string set);

  // Example: for (const EncodedFiles::File& f : files.files()) { ... }
  const std::vector<File>& files() const { return files_; }

  // nullptr when no file has that name.
  // Example: files.FindByName("tencentcloud/cvm/v20170312/cvm.proto")
  const File* FindByName(absl::string_view name) const;

  // The lazy file whose package encloses `symbol` (a package, or anything
  // defined in one), else nullptr. It may not define `symbol`.
  // Example: files.FindLazyBySymbol("tencentcloud.cvm.v20170312.Cvm")
  const File* FindLazyBySymbol(absl::string_view symbol) const;

 private:
  absl::Status Finish();
  const File* FindByNameSlow(absl::string_view name) const;  // before Finish

  std::shared_ptr<const std::string> owned_;  // FromSet's bytes
  std::vector<File> files_;
  absl::flat_hash_map<std::string, size_t> by_name_;
  absl::flat_hash_map<std::string, size_t> lazy_by_package_;
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_ENCODED_FILES_H_
