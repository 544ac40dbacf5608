#include "gateway/route/layered_database.h"

namespace envelope {

using google::protobuf::FileDescriptorProto;

LayeredDatabase::~LayeredDatabase() = default;

bool LayeredDatabase::AddLater(const FileDescriptorProto& file) {
  return later_.Add(file);
}

const ProductParts* LayeredDatabase::PartsOf(const EncodedFiles::File& file) {
  auto [it, added] = parts_.try_emplace(&file);
  if (added) {
    absl::StatusOr<ProductParts> parts =
        ProductParts::Split(file.name, file.bytes);
    if (parts.ok())
      it->second = std::make_unique<ProductParts>(*std::move(parts));
  }
  return it->second.get();
}

bool LayeredDatabase::Serve(const EncodedFiles::File& file,
                            const std::string& name,
                            FileDescriptorProto* output) {
  if (file.lazy) {
    if (const ProductParts* parts = PartsOf(file)) {
      std::string encoded;
      return parts->Encode(name, &encoded) && output->ParseFromString(encoded);
    }
  }
  return name == file.name &&
         output->ParseFromArray(file.bytes.data(),
                                static_cast<int>(file.bytes.size()));
}

bool LayeredDatabase::FindFileByName(const std::string& filename,
                                     FileDescriptorProto* output) {
  if (later_.FindFileByName(filename, output)) return true;
  const EncodedFiles::File* file = first_->FindByName(filename);
  if (file == nullptr) {  // a part of a bundled product?
    const std::string product = ProductParts::ProductOfPart(filename);
    file = product.empty() ? nullptr : first_->FindByName(product);
    if (file == nullptr || !file->lazy) return false;
  }
  return !hidden_.contains(file->name) && Serve(*file, filename, output);
}

// Files built at start-up are in the pool's tables, so the pool asks only
// for symbols of files not built yet: a loaded set's, or a lazy bundled
// product's, which its package names. The pool accepts a file that turns
// out not to define the symbol.
bool LayeredDatabase::FindFileContainingSymbol(const std::string& symbol_name,
                                               FileDescriptorProto* output) {
  if (later_.FindFileContainingSymbol(symbol_name, output)) return true;
  const EncodedFiles::File* file = first_->FindLazyBySymbol(symbol_name);
  if (file == nullptr || hidden_.contains(file->name)) return false;
  const ProductParts* parts = PartsOf(*file);
  if (parts == nullptr) return Serve(*file, file->name, output);
  const absl::string_view name = parts->FileOfSymbol(symbol_name);
  return !name.empty() && Serve(*file, std::string(name), output);
}

// Lazy bundled files extend nothing; the others are built at start-up.
bool LayeredDatabase::FindFileContainingExtension(
    const std::string& containing_type, int field_number,
    FileDescriptorProto* output) {
  return later_.FindFileContainingExtension(containing_type, field_number,
                                            output);
}

bool LayeredDatabase::FindAllExtensionNumbers(const std::string& extendee_type,
                                              std::vector<int>* output) {
  return later_.FindAllExtensionNumbers(extendee_type, output);
}

bool LayeredDatabase::FindAllFileNames(std::vector<std::string>* output) {
  later_.FindAllFileNames(output);
  for (const EncodedFiles::File& file : first_->files()) {
    if (!hidden_.contains(file.name)) output->push_back(file.name);
  }
  return true;
}

}  // namespace envelope
