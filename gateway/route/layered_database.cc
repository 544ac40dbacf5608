#include "gateway/route/layered_database.h"

namespace envelope {

using google::protobuf::FileDescriptorProto;

bool LayeredDatabase::AddLater(const FileDescriptorProto& file) {
  return later_.Add(file);
}

bool LayeredDatabase::FindFileByName(const std::string& filename,
                                     FileDescriptorProto* output) {
  if (later_.FindFileByName(filename, output)) return true;
  if (hidden_.contains(filename)) return false;
  const EncodedFiles::File* file = first_->FindByName(filename);
  return file != nullptr &&
         output->ParseFromArray(file->bytes.data(),
                                static_cast<int>(file->bytes.size()));
}

// Files built at start-up are in the pool's tables, so the pool asks only
// for symbols of files not built yet: a loaded set's, or a lazy bundled
// product's, which its package names. The pool accepts a file that turns
// out not to define the symbol.
bool LayeredDatabase::FindFileContainingSymbol(const std::string& symbol_name,
                                               FileDescriptorProto* output) {
  if (later_.FindFileContainingSymbol(symbol_name, output)) return true;
  const EncodedFiles::File* file = first_->FindLazyBySymbol(symbol_name);
  return file != nullptr && !hidden_.contains(file->name) &&
         output->ParseFromArray(file->bytes.data(),
                                static_cast<int>(file->bytes.size()));
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
