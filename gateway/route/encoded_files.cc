#include "gateway/route/encoded_files.h"

#include <climits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace envelope {
namespace {

using google::protobuf::internal::WireFormatLite;

constexpr uint32_t kFileTag = WireFormatLite::MakeTag(
    1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);  // FileDescriptorSet.file

}  // namespace

absl::StatusOr<EncodedFiles> EncodedFiles::FromIndex(absl::string_view set,
                                                     absl::string_view index) {
  EncodedFiles out;
  int line_number = 0;
  for (absl::string_view line :
       absl::StrSplit(index, '\n', absl::SkipEmpty())) {
    ++line_number;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    File file;
    size_t offset = 0, size = 0;
    if (parts.size() != 6 || !absl::SimpleAtoi(parts[0], &offset) ||
        !absl::SimpleAtoi(parts[1], &size) ||
        !absl::SimpleAtoi(parts[4], &file.extensions) || offset > set.size() ||
        size > set.size() - offset) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor index line ", line_number, " is malformed"));
    }
    file.bytes = set.substr(offset, size);
    file.name = std::string(parts[2]);
    if (parts[3] != "-") file.package = std::string(parts[3]);
    if (parts[5] != "-") {
      file.services = absl::StrSplit(parts[5], ',');
    }
    out.files_.push_back(std::move(file));
  }
  if (absl::Status status = out.Finish(); !status.ok()) return status;
  return out;
}

absl::StatusOr<EncodedFiles> EncodedFiles::FromSet(std::string set) {
  EncodedFiles out;
  out.owned_ = std::make_shared<const std::string>(std::move(set));
  const std::string& bytes = *out.owned_;
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  input.SetTotalBytesLimit(INT_MAX);
  while (uint32_t tag = input.ReadTag()) {
    if (tag != kFileTag) {
      if (!WireFormatLite::SkipField(&input, tag)) {
        return absl::InvalidArgumentError("not a FileDescriptorSet");
      }
      continue;
    }
    uint32_t size = 0;
    if (!input.ReadVarint32(&size)) {
      return absl::InvalidArgumentError("not a FileDescriptorSet");
    }
    const int offset = input.CurrentPosition();
    if (size > bytes.size() - offset || !input.Skip(static_cast<int>(size))) {
      return absl::InvalidArgumentError("not a FileDescriptorSet");
    }
    google::protobuf::FileDescriptorProto proto;
    absl::string_view encoded(bytes.data() + offset, size);
    if (!proto.ParseFromArray(encoded.data(), static_cast<int>(size))) {
      return absl::InvalidArgumentError("not a FileDescriptorSet");
    }
    if (const File* seen = out.FindByNameSlow(proto.name())) {
      if (seen->bytes == encoded) continue;  // the same file twice: fine
      return absl::InvalidArgumentError(
          absl::StrCat("the set has two different ", proto.name()));
    }
    File file;
    file.name = proto.name();
    file.package = proto.package();
    file.bytes = encoded;
    file.extensions = proto.extension_size();
    for (const auto& service : proto.service()) {
      file.services.push_back(
          file.package.empty()
              ? service.name()
              : absl::StrCat(file.package, ".", service.name()));
    }
    out.files_.push_back(std::move(file));
  }
  if (input.CurrentPosition() != static_cast<int>(bytes.size())) {
    return absl::InvalidArgumentError("not a FileDescriptorSet");
  }
  if (absl::Status status = out.Finish(); !status.ok()) return status;
  return out;
}

const EncodedFiles::File* EncodedFiles::FindByNameSlow(
    absl::string_view name) const {
  for (const File& file : files_) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

absl::Status EncodedFiles::Finish() {
  absl::flat_hash_map<std::string, int> per_package;
  for (size_t i = 0; i < files_.size(); ++i) {
    if (!by_name_.emplace(files_[i].name, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("the set has ", files_[i].name, " twice"));
    }
    ++per_package[files_[i].package];
  }
  for (size_t i = 0; i < files_.size(); ++i) {
    File& file = files_[i];
    file.lazy = absl::StartsWith(file.package, "tencentcloud.") &&
                file.extensions == 0 && per_package[file.package] == 1;
    if (file.lazy) lazy_by_package_[file.package] = i;
  }
  return absl::OkStatus();
}

const EncodedFiles::File* EncodedFiles::FindByName(
    absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &files_[it->second];
}

const EncodedFiles::File* EncodedFiles::FindLazyBySymbol(
    absl::string_view symbol) const {
  // "tencentcloud.cvm.v20170312.Filter.Name": try each enclosing scope.
  absl::string_view scope = symbol;
  while (!scope.empty()) {
    auto it = lazy_by_package_.find(scope);
    if (it != lazy_by_package_.end()) return &files_[it->second];
    const size_t dot = scope.rfind('.');
    if (dot == absl::string_view::npos) break;
    scope = scope.substr(0, dot);
  }
  return nullptr;
}

}  // namespace envelope
