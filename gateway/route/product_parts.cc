#include "gateway/route/product_parts.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace envelope {
namespace {

// Field numbers of google/protobuf/descriptor.proto.
namespace file_field {
constexpr uint32_t kName = 1, kPackage = 2, kDependency = 3, kMessage = 4,
                   kEnum = 5, kService = 6, kExtension = 7, kOptions = 8,
                   kSourceCodeInfo = 9, kSyntax = 12, kEdition = 13;
}
namespace message_field {
constexpr uint32_t kName = 1, kField = 2, kNested = 3, kExtension = 6;
}
namespace field_field {
constexpr uint32_t kExtendee = 2, kTypeName = 6;
}
namespace service_field {
constexpr uint32_t kName = 1, kMethod = 2;
}
namespace method_field {
constexpr uint32_t kInputType = 2, kOutputType = 3;
}

constexpr uint32_t kLengthDelimited = 2;
constexpr int kMaxNesting = 64;  // deeper is not a file protoc made

// One field of an encoded message: `tagged` is its bytes from the tag on,
// `value` the payload of a length-delimited one.
struct WireField {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  absl::string_view tagged;
  absl::string_view value;
};

// Walks the fields of an encoded message, checking every bound. ok() is
// false once it met bytes that are not a message.
class WireReader {
 public:
  explicit WireReader(absl::string_view bytes) : rest_(bytes) {}

  bool Next(WireField* field) {
    if (rest_.empty() || !ok_) return false;
    const absl::string_view start = rest_;
    uint64_t key = 0;
    if (!Varint(&key) || (key >> 3) == 0 || (key >> 3) > (1u << 29)) {
      return Fail();
    }
    field->number = static_cast<uint32_t>(key >> 3);
    field->wire_type = static_cast<uint32_t>(key & 7);
    uint64_t size = 0;
    switch (field->wire_type) {
      case 0:
        if (!Varint(&size)) return Fail();
        size = 0;
        break;
      case 1:
        size = 8;
        break;
      case 2:
        if (!Varint(&size)) return Fail();
        break;
      case 5:
        size = 4;
        break;
      default:
        return Fail();  // groups: not in descriptors
    }
    if (size > rest_.size()) return Fail();
    field->value = field->wire_type == kLengthDelimited ? rest_.substr(0, size)
                                                        : absl::string_view();
    rest_.remove_prefix(size);
    field->tagged = start.substr(0, start.size() - rest_.size());
    return true;
  }
  bool ok() const { return ok_; }

 private:
  bool Varint(uint64_t* out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64 && !rest_.empty(); shift += 7) {
      const uint8_t byte = static_cast<uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) {
        *out = value;
        return true;
      }
    }
    return false;
  }
  bool Fail() {
    ok_ = false;
    return false;
  }

  absl::string_view rest_;
  bool ok_ = true;
};

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendString(uint32_t number, absl::string_view value, std::string* out) {
  AppendVarint((uint64_t{number} << 3) | kLengthDelimited, out);
  AppendVarint(value.size(), out);
  out->append(value.data(), value.size());
}

// The types of one product file and what refers to what, by index.
class TypeGraph {
 public:
  explicit TypeGraph(std::string package)
      : prefix_(absl::StrCat(".", package, ".")) {}

  absl::Status AddType(absl::string_view name, absl::string_view tagged,
                       absl::string_view body, bool message) {
    if (name.empty() ||
        !index_.emplace(std::string(name), names_.size()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("type \"", name, "\" is unnamed or defined twice"));
    }
    names_.emplace_back(name);
    tagged_.push_back(tagged);
    bodies_.push_back(message ? body : absl::string_view());
    return absl::OkStatus();
  }

  // Once every type is added: what each message refers to.
  absl::Status Link() {
    refs_.assign(names_.size(), {});
    for (size_t i = 0; i < names_.size(); ++i) {
      if (bodies_[i].empty()) continue;
      absl::flat_hash_set<size_t> refs;
      if (absl::Status s = MessageRefs(bodies_[i], 0, refs); !s.ok()) return s;
      refs.erase(i);
      refs_[i].assign(refs.begin(), refs.end());
    }
    return absl::OkStatus();
  }

  // The index of the type a name refers to; -1 for a type of another
  // package; an error for a relative name or a type the file lacks.
  absl::StatusOr<int64_t> Resolve(absl::string_view type_name) const {
    if (!absl::StartsWith(type_name, ".")) {
      return absl::InvalidArgumentError(
          absl::StrCat("relative type name \"", type_name, "\""));
    }
    if (!absl::StartsWith(type_name, prefix_)) return -1;
    absl::string_view rest = type_name.substr(prefix_.size());
    rest = rest.substr(0, rest.find('.'));
    auto it = index_.find(rest);
    if (it == index_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("no type \"", type_name, "\" in the file"));
    }
    return static_cast<int64_t>(it->second);
  }

  size_t size() const { return names_.size(); }
  const std::string& name(size_t i) const { return names_[i]; }
  absl::string_view tagged(size_t i) const { return tagged_[i]; }
  const std::vector<size_t>& refs(size_t i) const { return refs_[i]; }

 private:
  absl::Status AddRef(absl::string_view type_name,
                      absl::flat_hash_set<size_t>& refs) const {
    absl::StatusOr<int64_t> index = Resolve(type_name);
    if (!index.ok()) return index.status();
    if (*index >= 0) refs.insert(static_cast<size_t>(*index));
    return absl::OkStatus();
  }

  absl::Status FieldRefs(absl::string_view body,
                         absl::flat_hash_set<size_t>& refs) const {
    WireReader reader(body);
    WireField f;
    while (reader.Next(&f)) {
      if ((f.number == field_field::kTypeName ||
           f.number == field_field::kExtendee) &&
          f.wire_type == kLengthDelimited && !f.value.empty()) {
        if (absl::Status s = AddRef(f.value, refs); !s.ok()) return s;
      }
    }
    return reader.ok() ? absl::OkStatus()
                       : absl::InvalidArgumentError("malformed field");
  }

  absl::Status MessageRefs(absl::string_view body, int depth,
                           absl::flat_hash_set<size_t>& refs) const {
    if (depth > kMaxNesting) {
      return absl::InvalidArgumentError("messages nested too deep");
    }
    WireReader reader(body);
    WireField f;
    while (reader.Next(&f)) {
      if (f.wire_type != kLengthDelimited) continue;
      absl::Status s;
      if (f.number == message_field::kField ||
          f.number == message_field::kExtension) {
        s = FieldRefs(f.value, refs);
      } else if (f.number == message_field::kNested) {
        s = MessageRefs(f.value, depth + 1, refs);
      }
      if (!s.ok()) return s;
    }
    return reader.ok() ? absl::OkStatus()
                       : absl::InvalidArgumentError("malformed message");
  }

  std::string prefix_;  // ".tencentcloud.cvm.v20170312."
  std::vector<std::string> names_;
  std::vector<absl::string_view> tagged_;
  std::vector<absl::string_view> bodies_;  // messages only
  std::vector<std::vector<size_t>> refs_;
  absl::flat_hash_map<std::string, size_t> index_;
};

absl::StatusOr<std::string> NameOf(absl::string_view body, uint32_t number) {
  WireReader reader(body);
  WireField f;
  std::string name;
  while (reader.Next(&f)) {
    if (f.number == number && f.wire_type == kLengthDelimited) {
      name = std::string(f.value);
    }
  }
  if (!reader.ok()) return absl::InvalidArgumentError("malformed definition");
  return name;
}

// The request and response types of every method of a service.
absl::Status MethodRoots(absl::string_view service, const TypeGraph& graph,
                         std::vector<std::vector<size_t>>& roots) {
  WireReader reader(service);
  WireField f;
  while (reader.Next(&f)) {
    if (f.number != service_field::kMethod || f.wire_type != kLengthDelimited) {
      continue;
    }
    std::vector<size_t>& method = roots.emplace_back();
    WireReader fields(f.value);
    WireField m;
    while (fields.Next(&m)) {
      if ((m.number != method_field::kInputType &&
           m.number != method_field::kOutputType) ||
          m.wire_type != kLengthDelimited) {
        continue;
      }
      absl::StatusOr<int64_t> index = graph.Resolve(m.value);
      if (!index.ok()) return index.status();
      if (*index >= 0) method.push_back(static_cast<size_t>(*index));
    }
    if (!fields.ok()) return absl::InvalidArgumentError("malformed method");
  }
  return reader.ok() ? absl::OkStatus()
                     : absl::InvalidArgumentError("malformed service");
}

// For each type, the methods that reach it, in method order.
std::vector<std::vector<uint32_t>> MethodsReaching(
    const TypeGraph& graph, const std::vector<std::vector<size_t>>& roots) {
  std::vector<std::vector<uint32_t>> reached_by(graph.size());
  std::vector<uint32_t> seen(graph.size(),
                             std::numeric_limits<uint32_t>::max());
  std::vector<size_t> stack;
  for (uint32_t method = 0; method < roots.size(); ++method) {
    stack = roots[method];
    while (!stack.empty()) {
      const size_t type = stack.back();
      stack.pop_back();
      if (seen[type] == method) continue;
      seen[type] = method;
      reached_by[type].push_back(method);
      for (size_t ref : graph.refs(type)) stack.push_back(ref);
    }
  }
  return reached_by;
}

// A product file's fields, sorted by where they go.
struct FileFields {
  std::string package;
  std::vector<absl::string_view> shared;        // tagged: every file's
  std::vector<absl::string_view> product_only;  // tagged: services and more
  std::vector<WireField> types;                 // messages and enums
  std::vector<WireField> services;
};

absl::StatusOr<FileFields> ReadFileFields(absl::string_view bytes) {
  FileFields out;
  WireReader reader(bytes);
  WireField f;
  while (reader.Next(&f)) {
    const bool definition = f.number == file_field::kMessage ||
                            f.number == file_field::kEnum ||
                            f.number == file_field::kService;
    if (definition && f.wire_type != kLengthDelimited) {
      return absl::InvalidArgumentError("malformed file");
    }
    switch (f.number) {
      case file_field::kName:
      case file_field::kSourceCodeInfo:  // its paths would point elsewhere
        break;
      case file_field::kPackage:
        out.package = std::string(f.value);
        out.shared.push_back(f.tagged);
        break;
      case file_field::kDependency:
      case file_field::kOptions:
      case file_field::kSyntax:
      case file_field::kEdition:
        out.shared.push_back(f.tagged);
        break;
      case file_field::kMessage:
      case file_field::kEnum:
        out.types.push_back(f);
        break;
      case file_field::kService:
        out.services.push_back(f);
        out.product_only.push_back(f.tagged);
        break;
      case file_field::kExtension:
        return absl::InvalidArgumentError("the file extends a message");
      default:  // public and weak dependencies (indexes of the product's)
        out.product_only.push_back(f.tagged);
    }
  }
  if (!reader.ok() || out.package.empty()) {
    return absl::InvalidArgumentError("malformed, or no package");
  }
  return out;
}

// The file's types and what refers to what into `graph`; each method's
// request and response into `roots`; the services' names.
absl::Status ReadTypesAndMethods(const FileFields& fields, TypeGraph& graph,
                                 std::vector<std::vector<size_t>>& roots,
                                 std::vector<std::string>& services) {
  for (const WireField& type : fields.types) {
    absl::StatusOr<std::string> name = NameOf(type.value, message_field::kName);
    if (!name.ok()) return name.status();
    const bool message = type.number == file_field::kMessage;
    if (absl::Status s = graph.AddType(*name, type.tagged, type.value, message);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = graph.Link(); !s.ok()) return s;
  for (const WireField& service : fields.services) {
    absl::StatusOr<std::string> name =
        NameOf(service.value, service_field::kName);
    if (!name.ok()) return name.status();
    services.push_back(*std::move(name));
    if (absl::Status s = MethodRoots(service.value, graph, roots); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// The part of each type: one part per set of methods reaching its types,
// numbered in the order of the types' first use.
std::vector<size_t> PartOfEachType(
    const TypeGraph& graph, const std::vector<std::vector<size_t>>& roots,
    size_t* part_count) {
  const std::vector<std::vector<uint32_t>> reached_by =
      MethodsReaching(graph, roots);
  absl::flat_hash_map<std::vector<uint32_t>, size_t> part_of_set;
  std::vector<size_t> part_of(graph.size());
  for (size_t type = 0; type < graph.size(); ++type) {
    part_of[type] =
        part_of_set.try_emplace(reached_by[type], part_of_set.size())
            .first->second;
  }
  *part_count = part_of_set.size();
  return part_of;
}

std::string PartFileName(absl::string_view product, size_t index) {
  absl::string_view stem = product;
  absl::ConsumeSuffix(&stem, ".proto");
  return absl::StrCat(stem, ".part", index, ".proto");
}

}  // namespace

absl::StatusOr<ProductParts> ProductParts::Split(absl::string_view name,
                                                 absl::string_view bytes) {
  absl::StatusOr<FileFields> fields = ReadFileFields(bytes);
  if (!fields.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", fields.status().message()));
  }
  ProductParts out;
  out.name_ = std::string(name);
  out.package_ = fields->package;
  out.shared_fields_ = std::move(fields->shared);
  out.product_only_fields_ = std::move(fields->product_only);
  TypeGraph graph(out.package_);
  std::vector<std::vector<size_t>> roots;
  if (absl::Status s =
          ReadTypesAndMethods(*fields, graph, roots, out.services_);
      !s.ok()) {
    return s;
  }
  size_t part_count = 0;
  const std::vector<size_t> part_of = PartOfEachType(graph, roots, &part_count);
  for (size_t i = 0; i < part_count; ++i) {
    out.parts_.push_back(Part{PartFileName(name, i), {}, {}});
  }
  for (size_t type = 0; type < graph.size(); ++type) {
    Part& part = out.parts_[part_of[type]];
    part.types.push_back(graph.tagged(type));
    out.part_of_type_[graph.name(type)] = part_of[type];
    for (size_t ref : graph.refs(type)) {
      if (part_of[ref] != part_of[type]) part.imports.push_back(part_of[ref]);
    }
  }
  for (Part& part : out.parts_) {
    std::sort(part.imports.begin(), part.imports.end());
    part.imports.erase(std::unique(part.imports.begin(), part.imports.end()),
                       part.imports.end());
  }
  return out;
}

bool ProductParts::ServicesOnly(absl::string_view bytes, std::string* out) {
  out->clear();
  WireReader reader(bytes);
  WireField f;
  while (reader.Next(&f)) {
    switch (f.number) {
      case file_field::kName:
      case file_field::kPackage:
      case file_field::kService:
      case file_field::kOptions:
      case file_field::kSyntax:
        absl::StrAppend(out, f.tagged);
    }
  }
  return reader.ok();
}

std::string ProductParts::ProductOfPart(absl::string_view name) {
  absl::string_view stem = name;
  if (!absl::ConsumeSuffix(&stem, ".proto")) return "";
  const size_t dot = stem.rfind(".part");
  if (dot == absl::string_view::npos) return "";
  absl::string_view digits = stem.substr(dot + 5);
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit)) {
    return "";
  }
  return absl::StrCat(stem.substr(0, dot), ".proto");
}

bool ProductParts::Encode(absl::string_view name, std::string* out) const {
  out->clear();
  if (name == name_) {
    AppendString(file_field::kName, name_, out);
    for (absl::string_view field : shared_fields_) absl::StrAppend(out, field);
    for (absl::string_view field : product_only_fields_)
      absl::StrAppend(out, field);
    for (const Part& part : parts_) {
      AppendString(file_field::kDependency, part.name, out);
    }
    return true;
  }
  if (ProductOfPart(name) != name_) return false;
  size_t index = 0;
  absl::string_view stem = name.substr(0, name.size() - 6);  // ".proto"
  if (!absl::SimpleAtoi(stem.substr(stem.rfind(".part") + 5), &index) ||
      index >= parts_.size() || parts_[index].name != name) {
    return false;
  }
  const Part& part = parts_[index];
  AppendString(file_field::kName, part.name, out);
  for (absl::string_view field : shared_fields_) absl::StrAppend(out, field);
  for (size_t import : part.imports) {
    AppendString(file_field::kDependency, parts_[import].name, out);
  }
  for (absl::string_view type : part.types) absl::StrAppend(out, type);
  return true;
}

absl::string_view ProductParts::FileOfSymbol(absl::string_view symbol) const {
  if (symbol == package_) return name_;
  if (!absl::StartsWith(symbol, package_) || symbol.size() <= package_.size() ||
      symbol[package_.size()] != '.') {
    return "";
  }
  absl::string_view first = symbol.substr(package_.size() + 1);
  first = first.substr(0, first.find('.'));
  if (auto it = part_of_type_.find(first); it != part_of_type_.end()) {
    return parts_[it->second].name;
  }
  for (const std::string& service : services_) {
    if (service == first) return name_;
  }
  return "";
}

}  // namespace envelope
