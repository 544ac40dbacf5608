// File: the descriptor database under the router's DescriptorPool.
//
// Two layers: the files of the sets loaded at start-up (--descriptor-set),
// which are found first, over the bundled set kept encoded (EncodedFiles),
// minus the bundled files a loaded set replaces. The pool asks it for a file
// only when a name or symbol is not built yet, so a bundled product's file is
// parsed and built on its first use (docs/design.md, "Descriptors").
#ifndef GATEWAY_ROUTE_LAYERED_DATABASE_H_
#define GATEWAY_ROUTE_LAYERED_DATABASE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gateway/route/encoded_files.h"
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
class LayeredDatabase : public google::protobuf::DescriptorDatabase {
 public:
  explicit LayeredDatabase(const EncodedFiles* first) : first_(first) {}

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
  bool FindAllFileNames(std::vector<std::string>* output) override;

 private:
  const EncodedFiles* first_;
  absl::flat_hash_set<std::string> hidden_;
  google::protobuf::SimpleDescriptorDatabase later_;
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_LAYERED_DATABASE_H_
