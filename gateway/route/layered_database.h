// File: the descriptor database under the router's DescriptorPool.
//
// Two layers: the files of the sets loaded at start-up (--descriptor-set),
// which are found first, over the bundled set kept encoded (EncodedFiles),
// minus the bundled files a loaded set replaces. The pool asks it for a file
// only when a name or symbol is not built yet, so a bundled product is
// parsed and built on its first use (docs/design.md, "Descriptors").
//
// A bundled product (a lazy file) is served split (ProductParts): its file
// holds the services and imports parts that hold its messages and enums,
// grouped by the methods that reach them, so that looking up one method's
// request builds only what that method reaches.
#ifndef GATEWAY_ROUTE_LAYERED_DATABASE_H_
#define GATEWAY_ROUTE_LAYERED_DATABASE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "gateway/route/encoded_files.h"
#include "gateway/route/product_parts.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"

namespace envelope {

// Not thread-safe by itself: the DescriptorPool over it calls it under its
// own lock. `first` must outlive it.
// Example:
//   LayeredDatabase database(&bundled);
//   database.AddLater(company_file);
//   google::protobuf::DescriptorPool pool(&database, &errors);
//   pool.FindServiceByName("tencentcloud.cbs.v20170312.Cbs");  // builds cbs
//   pool.FindMessageTypeByName(  // builds the parts this request reaches
//       "tencentcloud.cvm.v20170312.DescribeZonesRequest");
class LayeredDatabase : public google::protobuf::DescriptorDatabase {
 public:
  explicit LayeredDatabase(const EncodedFiles* first) : first_(first) {}
  ~LayeredDatabase() override;

  // A loaded set's file that serves. False if a different file of that name
  // was added before.
  // Example: database.AddLater(file);
  bool AddLater(const google::protobuf::FileDescriptorProto& file);
  // The bundled file `name` is not served (a loaded set replaces it).
  // Example: database.Hide("tencentcloud/cvm/v20170312/cvm.proto");
  void Hide(const std::string& name) { hidden_.insert(name); }

  bool FindFileByName(const std::string& filename,
                      google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingSymbol(
      const std::string& symbol_name,
      google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingExtension(
      const std::string& containing_type, int field_number,
      google::protobuf::FileDescriptorProto* output) override;
  bool FindAllExtensionNumbers(const std::string& extendee_type,
                               std::vector<int>* output) override;
  // The product files and not their parts, which their imports name.
  bool FindAllFileNames(std::vector<std::string>* output) override;

 private:
  // `file` split, made on first need; nullptr when it does not split (it is
  // then served whole).
  const ProductParts* PartsOf(const EncodedFiles::File& file);
  // The bundled file `name`: `file` itself, or one of its parts.
  bool Serve(const EncodedFiles::File& file, const std::string& name,
             google::protobuf::FileDescriptorProto* output);

  const EncodedFiles* first_;
  absl::flat_hash_map<const EncodedFiles::File*, std::unique_ptr<ProductParts>>
      parts_;
  absl::flat_hash_set<std::string> hidden_;
  google::protobuf::SimpleDescriptorDatabase later_;
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_LAYERED_DATABASE_H_
