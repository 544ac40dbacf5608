// gateway/route/product_parts.h: a product's file split by the methods that
// reach its types, served to a DescriptorPool as several files.
#include "gateway/route/product_parts.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/encoded_files.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::DescriptorProto;
using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptorProto;

constexpr char kFile[] = "tencentcloud/demo/v20200101/demo.proto";
constexpr char kPackage[] = "tencentcloud.demo.v20200101";

void AddField(DescriptorProto* message, const std::string& name, int number,
              const std::string& type_name = "") {
  FieldDescriptorProto* field = message->add_field();
  field->set_name(name);
  field->set_number(number);
  field->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  if (type_name.empty()) {
    field->set_type(FieldDescriptorProto::TYPE_STRING);
  } else {
    field->set_type_name(absl::StrCat(".", kPackage, ".", type_name));
  }
}

DescriptorProto* AddMessage(FileDescriptorProto* file,
                            const std::string& name) {
  DescriptorProto* message = file->add_message_type();
  message->set_name(name);
  return message;
}

// Two methods: GetA (ARequest → AResponse) and GetB (BRequest → BResponse).
// Both responses hold a Shared, which holds a Leaf (nested) and a Kind
// (enum); AResponse also holds an OnlyA; Orphan is reached by no method.
FileDescriptorProto DemoFile() {
  FileDescriptorProto file;
  file.set_name(kFile);
  file.set_package(kPackage);
  file.set_syntax("proto3");
  file.mutable_options()->set_go_package("example.com/demo");
  AddField(AddMessage(&file, "ARequest"), "id", 1);
  DescriptorProto* a = AddMessage(&file, "AResponse");
  AddField(a, "shared", 1, "Shared");
  AddField(a, "only_a", 2, "OnlyA");
  AddField(AddMessage(&file, "BRequest"), "id", 1);
  AddField(AddMessage(&file, "BResponse"), "shared", 1, "Shared");
  DescriptorProto* shared = AddMessage(&file, "Shared");
  AddField(shared, "leaf", 1, "Shared.Leaf");
  shared->add_field()->CopyFrom(shared->field(0));
  FieldDescriptorProto* kind = shared->mutable_field(1);
  kind->set_name("kind");
  kind->set_number(2);
  kind->set_type(FieldDescriptorProto::TYPE_ENUM);
  kind->set_type_name(absl::StrCat(".", kPackage, ".Kind"));
  AddField(shared->add_nested_type(), "text", 1);
  shared->mutable_nested_type(0)->set_name("Leaf");
  AddField(AddMessage(&file, "OnlyA"), "text", 1);
  AddField(AddMessage(&file, "Orphan"), "shared", 1, "Shared");
  auto* kind_enum = file.add_enum_type();
  kind_enum->set_name("Kind");
  kind_enum->add_value()->set_name("KIND_UNSPECIFIED");
  auto* service = file.add_service();
  service->set_name("Demo");
  for (const char* letter : {"A", "B"}) {
    auto* method = service->add_method();
    method->set_name(absl::StrCat("Get", letter));
    method->set_input_type(absl::StrCat(".", kPackage, ".", letter, "Request"));
    method->set_output_type(
        absl::StrCat(".", kPackage, ".", letter, "Response"));
  }
  return file;
}

// A pool over every file of `parts`, as the gateway's database serves them.
class PartsDatabase : public google::protobuf::DescriptorDatabase {
 public:
  explicit PartsDatabase(const ProductParts* parts) : parts_(parts) {}
  bool FindFileByName(const std::string& name,
                      FileDescriptorProto* output) override {
    ++served_;
    std::string encoded;
    return parts_->Encode(name, &encoded) && output->ParseFromString(encoded);
  }
  bool FindFileContainingSymbol(const std::string& symbol,
                                FileDescriptorProto* output) override {
    const absl::string_view name = parts_->FileOfSymbol(symbol);
    return !name.empty() && FindFileByName(std::string(name), output);
  }
  bool FindFileContainingExtension(const std::string&, int,
                                   FileDescriptorProto*) override {
    return false;
  }
  int served() const { return served_; }

 private:
  const ProductParts* parts_;
  int served_ = 0;
};

std::string Encoded(const FileDescriptorProto& file) {
  return file.SerializeAsString();
}

TEST(ProductPartsTest, TypesGoToThePartOfTheMethodsThatReachThem) {
  const std::string bytes = Encoded(DemoFile());
  auto parts = ProductParts::Split(kFile, bytes);
  ASSERT_TRUE(parts.ok()) << parts.status();
  // {GetA}: ARequest, AResponse, OnlyA; {GetB}: BRequest, BResponse;
  // {GetA, GetB}: Shared, Kind; {}: Orphan.
  EXPECT_EQ(parts->part_count(), 4u);
  auto part_of = [&](const std::string& type) {
    return std::string(parts->FileOfSymbol(absl::StrCat(kPackage, ".", type)));
  };
  EXPECT_EQ(part_of("ARequest"), part_of("AResponse"));
  EXPECT_EQ(part_of("ARequest"), part_of("OnlyA"));
  EXPECT_EQ(part_of("BRequest"), part_of("BResponse"));
  EXPECT_NE(part_of("ARequest"), part_of("BRequest"));
  EXPECT_EQ(part_of("Shared"), part_of("Kind"));
  EXPECT_EQ(part_of("Shared.Leaf"), part_of("Shared"));
  EXPECT_EQ(part_of("Shared.Leaf.text"), part_of("Shared"));
  EXPECT_NE(part_of("Orphan"), part_of("Shared"));
  EXPECT_EQ(part_of("ARequest"),
            "tencentcloud/demo/v20200101/demo.part0.proto");
  // The package, services and methods are the product file's.
  EXPECT_EQ(parts->FileOfSymbol(kPackage), kFile);
  EXPECT_EQ(parts->FileOfSymbol(absl::StrCat(kPackage, ".Demo")), kFile);
  EXPECT_EQ(parts->FileOfSymbol(absl::StrCat(kPackage, ".Demo.GetA")), kFile);
  EXPECT_EQ(parts->FileOfSymbol(absl::StrCat(kPackage, ".Nothing")), "");
  EXPECT_EQ(parts->FileOfSymbol("tencentcloud.demo"), "");
  EXPECT_EQ(parts->FileOfSymbol(absl::StrCat(kPackage, "x.ARequest")), "");
}

TEST(ProductPartsTest, ARequestBuildsOnlyWhatItsMethodReaches) {
  const std::string bytes = Encoded(DemoFile());
  auto parts = ProductParts::Split(kFile, bytes);
  ASSERT_TRUE(parts.ok()) << parts.status();
  PartsDatabase database(&*parts);
  DescriptorPool pool(&database);
  const auto* response =
      pool.FindMessageTypeByName(absl::StrCat(kPackage, ".BResponse"));
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(response->FindFieldByName("shared")->message_type()->full_name(),
            absl::StrCat(kPackage, ".Shared"));
  // BResponse's part and Shared's: not GetA's, not Orphan's, not the
  // product's file.
  EXPECT_EQ(database.served(), 2);
  EXPECT_FALSE(pool.InternalIsFileLoaded(kFile));
  EXPECT_FALSE(pool.InternalIsFileLoaded(
      std::string(parts->FileOfSymbol(absl::StrCat(kPackage, ".OnlyA")))));
  // The whole product builds, its service with both methods.
  const auto* service = pool.FindServiceByName(absl::StrCat(kPackage, ".Demo"));
  ASSERT_NE(service, nullptr);
  ASSERT_EQ(service->method_count(), 2);
  EXPECT_EQ(service->method(0)->output_type()->full_name(),
            absl::StrCat(kPackage, ".AResponse"));
  EXPECT_EQ(service->file()->name(), kFile);
  EXPECT_EQ(service->file()->dependency_count(), 4);
  // File options go with every part (go_package names the package in Go).
  EXPECT_EQ(response->file()->options().go_package(), "example.com/demo");
  EXPECT_EQ(response->file()->syntax(),
            google::protobuf::FileDescriptor::SYNTAX_PROTO3);
}

TEST(ProductPartsTest, EncodeKnowsOnlyItsOwnFiles) {
  const std::string bytes = Encoded(DemoFile());
  auto parts = ProductParts::Split(kFile, bytes);
  ASSERT_TRUE(parts.ok()) << parts.status();
  std::string out;
  EXPECT_TRUE(parts->Encode(parts->PartName(3), &out));
  EXPECT_FALSE(
      parts->Encode("tencentcloud/demo/v20200101/demo.part4.proto", &out));
  EXPECT_FALSE(
      parts->Encode("tencentcloud/other/v20200101/other.part0.proto", &out));
  EXPECT_FALSE(parts->Encode("demo.proto", &out));
  FileDescriptorProto product;
  ASSERT_TRUE(parts->Encode(kFile, &out));
  ASSERT_TRUE(product.ParseFromString(out));
  EXPECT_EQ(product.message_type_size(), 0);
  EXPECT_EQ(product.enum_type_size(), 0);
  EXPECT_EQ(product.service_size(), 1);
  EXPECT_EQ(product.dependency_size(), 4);
}

TEST(ProductPartsTest, NamesOfParts) {
  EXPECT_EQ(ProductParts::ProductOfPart("a/b/demo.part12.proto"),
            "a/b/demo.proto");
  EXPECT_EQ(ProductParts::ProductOfPart("a/b/demo.proto"), "");
  EXPECT_EQ(ProductParts::ProductOfPart("a/b/demo.part.proto"), "");
  EXPECT_EQ(ProductParts::ProductOfPart("a/b/demo.partx1.proto"), "");
  EXPECT_EQ(ProductParts::ProductOfPart("a/b/demo.part1"), "");
  EXPECT_EQ(ProductParts::ProductOfPart(".part1.proto"), ".proto");
}

TEST(ProductPartsTest, FilesItCannotSplitSafelyAreRefused) {
  FileDescriptorProto relative = DemoFile();
  relative.mutable_message_type(1)->mutable_field(0)->set_type_name("Shared");
  EXPECT_FALSE(ProductParts::Split(kFile, Encoded(relative)).ok());
  FileDescriptorProto missing = DemoFile();
  missing.mutable_message_type(1)->mutable_field(0)->set_type_name(
      absl::StrCat(".", kPackage, ".Missing"));
  EXPECT_FALSE(ProductParts::Split(kFile, Encoded(missing)).ok());
  FileDescriptorProto twice = DemoFile();
  *twice.add_message_type() = twice.message_type(0);
  EXPECT_FALSE(ProductParts::Split(kFile, Encoded(twice)).ok());
  FileDescriptorProto extending = DemoFile();
  extending.add_extension()->set_name("x");
  EXPECT_FALSE(ProductParts::Split(kFile, Encoded(extending)).ok());
  FileDescriptorProto no_package = DemoFile();
  no_package.clear_package();
  EXPECT_FALSE(ProductParts::Split(kFile, Encoded(no_package)).ok());
  // Cut short anywhere: refused, never read past the end.
  const std::string bytes = Encoded(DemoFile());
  for (size_t size = 1; size < bytes.size(); size += 7) {
    auto cut =
        ProductParts::Split(kFile, absl::string_view(bytes).substr(0, size));
    std::string services;
    ProductParts::ServicesOnly(absl::string_view(bytes).substr(0, size),
                               &services);
    if (cut.ok()) EXPECT_LE(cut->part_count(), 4u);
  }
  EXPECT_FALSE(ProductParts::Split(kFile, "\xff\xff\xff").ok());
}

TEST(ProductPartsTest, ServicesOnlyKeepsWhatRoutingReads) {
  std::string services;
  ASSERT_TRUE(ProductParts::ServicesOnly(Encoded(DemoFile()), &services));
  FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(services));
  EXPECT_EQ(file.name(), kFile);
  EXPECT_EQ(file.package(), kPackage);
  EXPECT_EQ(file.service_size(), 1);
  EXPECT_EQ(file.message_type_size(), 0);
  EXPECT_FALSE(
      ProductParts::ServicesOnly("\x0a\x05"
                                 "ab",
                                 &services));
}

// Every bundled product version splits, and its parts define exactly what
// its file does: each message and enum as protoc made it.
TEST(ProductPartsTest, EveryBundledProductSplitsWithoutLosingAnything) {
  const EncodedFiles& files = BundledFiles();
  google::protobuf::EncodedDescriptorDatabase whole_database;
  for (const EncodedFiles::File& file : files.files()) {
    ASSERT_TRUE(whole_database.Add(file.bytes.data(),
                                   static_cast<int>(file.bytes.size())));
  }
  DescriptorPool whole(&whole_database);
  int split = 0;
  for (const EncodedFiles::File& file : files.files()) {
    if (!file.lazy) continue;
    auto parts = ProductParts::Split(file.name, file.bytes);
    ASSERT_TRUE(parts.ok()) << file.name << ": " << parts.status();
    ++split;
    FileDescriptorProto original;
    ASSERT_TRUE(original.ParseFromArray(file.bytes.data(),
                                        static_cast<int>(file.bytes.size())));
    size_t types = 0;
    for (size_t i = 0; i < parts->part_count(); ++i) {
      std::string encoded;
      FileDescriptorProto part;
      ASSERT_TRUE(parts->Encode(parts->PartName(i), &encoded));
      ASSERT_TRUE(part.ParseFromString(encoded));
      types += part.message_type_size() + part.enum_type_size();
      for (const DescriptorProto& message : part.message_type()) {
        EXPECT_EQ(parts->FileOfSymbol(
                      absl::StrCat(file.package, ".", message.name())),
                  parts->PartName(i));
      }
    }
    EXPECT_EQ(types, static_cast<size_t>(original.message_type_size() +
                                         original.enum_type_size()))
        << file.name;
    // A method's request builds in a pool of the parts as in the whole.
    if (original.service_size() == 0) continue;
    PartsDatabase database(&*parts);
    DescriptorPool pool(&database);
    const auto* service = pool.FindServiceByName(
        absl::StrCat(file.package, ".", original.service(0).name()));
    ASSERT_NE(service, nullptr) << file.name;
    for (const DescriptorProto& message : original.message_type()) {
      const std::string name = absl::StrCat(file.package, ".", message.name());
      DescriptorProto from_parts, from_whole;
      const auto* built = pool.FindMessageTypeByName(name);
      ASSERT_NE(built, nullptr) << name;
      built->CopyTo(&from_parts);
      whole.FindMessageTypeByName(name)->CopyTo(&from_whole);
      ASSERT_EQ(from_parts.SerializeAsString(), from_whole.SerializeAsString())
          << name;
    }
  }
  EXPECT_GE(split, 280);
}

}  // namespace
}  // namespace envelope
