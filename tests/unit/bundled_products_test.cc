// Every bundled product version (docs/protogen.md): kept encoded, listed
// without building, built on first use, each file once.
#include <algorithm>
#include <thread>
#include <vector>

#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/encoded_files.h"
#include "gateway/route/product_parts.h"
#include "gateway/route/router.h"
#include "gateway/transcode/transcode.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

constexpr char kCbsFile[] = "tencentcloud/cbs/v20170312/cbs.proto";
constexpr char kDescribeDisks[] =
    "/tencentcloud.cbs.v20170312.Cbs/DescribeDisks";

std::unique_ptr<Router> BundledRouter() {
  auto router = Router::Create({{"bundled", "", &BundledFiles()}});
  EXPECT_TRUE(router.ok()) << router.status();
  return router.ok() ? *std::move(router) : nullptr;
}

TEST(BundledProductsTest, EveryProductVersionIsIndexed) {
  const EncodedFiles& files = BundledFiles();
  int lazy = 0;
  for (const EncodedFiles::File& file : files.files()) {
    if (!file.lazy) continue;
    ++lazy;
    EXPECT_EQ(file.services.size(), 1u) << file.name;
    EXPECT_FALSE(file.bytes.empty()) << file.name;
  }
  // 288 product versions of the vendored specs had online actions.
  EXPECT_GE(lazy, 280);
  const EncodedFiles::File* cbs = files.FindByName(kCbsFile);
  ASSERT_NE(cbs, nullptr);
  EXPECT_TRUE(cbs->lazy);
  EXPECT_EQ(cbs->package, "tencentcloud.cbs.v20170312");
  EXPECT_EQ(files.FindLazyBySymbol("tencentcloud.cbs.v20170312.Disk.DiskId"),
            cbs);
  EXPECT_EQ(files.FindLazyBySymbol("tencentcloud.cbs"), nullptr);
  EXPECT_EQ(files.FindLazyBySymbol("envelope.gateway.v1.JsonApi"), nullptr);
  // The index agrees with the set it was made from.
  auto parsed = EncodedFiles::FromSet(std::string(BundledDescriptorSet()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->files().size(), files.files().size());
  for (size_t i = 0; i < files.files().size(); ++i) {
    EXPECT_EQ(parsed->files()[i].name, files.files()[i].name);
    EXPECT_EQ(parsed->files()[i].bytes, files.files()[i].bytes);
    EXPECT_EQ(parsed->files()[i].services, files.files()[i].services);
    EXPECT_EQ(parsed->files()[i].lazy, files.files()[i].lazy);
  }
}

TEST(BundledProductsTest, ListsEveryServiceAndBuildsOnlyWhatIsCalled) {
  std::unique_ptr<Router> router = BundledRouter();
  ASSERT_NE(router, nullptr);
  std::vector<std::string> services = router->ServiceNames();
  EXPECT_GE(services.size(), 280u);
  for (const char* name :
       {"tencentcloud.cbs.v20170312.Cbs", "tencentcloud.cvm.v20170312.Cvm",
        "tencentcloud.cii.v20210408.Cii", "envelope.gateway.v1.JsonApi"}) {
    EXPECT_NE(std::find(services.begin(), services.end(), name), services.end())
        << name;
  }
  EXPECT_FALSE(router->pool().InternalIsFileLoaded(kCbsFile));
  EXPECT_FALSE(router->pool().InternalIsFileLoaded(
      "tencentcloud/cvm/v20170312/cvm.proto"));
  const MethodRoute* route = router->Find(kDescribeDisks);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->service, "cbs");
  EXPECT_EQ(route->version, "2017-03-12");
  EXPECT_EQ(route->action, "DescribeDisks");
  EXPECT_EQ(route->request_prototype->GetDescriptor()->full_name(),
            "tencentcloud.cbs.v20170312.DescribeDisksRequest");
  // Only the parts its request and response reach are built: not the
  // product's file with its services, not another method's messages.
  auto parts =
      ProductParts::Split(kCbsFile, BundledFiles().FindByName(kCbsFile)->bytes);
  ASSERT_TRUE(parts.ok()) << parts.status();
  const std::string request_part(
      parts->FileOfSymbol("tencentcloud.cbs.v20170312.DescribeDisksRequest"));
  EXPECT_EQ(route->request_prototype->GetDescriptor()->file()->name(),
            request_part);
  EXPECT_TRUE(router->pool().InternalIsFileLoaded(request_part));
  EXPECT_FALSE(router->pool().InternalIsFileLoaded(kCbsFile));
  EXPECT_FALSE(router->pool().InternalIsFileLoaded(std::string(
      parts->FileOfSymbol("tencentcloud.cbs.v20170312.CreateDisksRequest"))));
  EXPECT_FALSE(router->pool().InternalIsFileLoaded(
      "tencentcloud/cvm/v20170312/cvm.proto"));
  EXPECT_EQ(router->Find(kDescribeDisks), route);  // built once
  EXPECT_EQ(router->Find("/tencentcloud.cbs.v20170312.Cbs/NoSuchAction"),
            nullptr);
  EXPECT_EQ(router->Find("/tencentcloud.nosuch.v20170312.X/Y"), nullptr);
  EXPECT_EQ(router->Find("/"), nullptr);
  EXPECT_EQ(router->Find("//"), nullptr);
}

TEST(BundledProductsTest, ASymbolLookupBuildsItsFile) {
  std::unique_ptr<Router> router = BundledRouter();
  ASSERT_NE(router, nullptr);
  // What reflection asks: a service, a message, a method.
  const auto* service =
      router->pool().FindServiceByName("tencentcloud.tke.v20180525.Tke");
  ASSERT_NE(service, nullptr);
  EXPECT_GT(service->method_count(), 10);
  EXPECT_NE(router->pool().FindMessageTypeByName(
                "tencentcloud.cbs.v20170312.DescribeDisksResponse"),
            nullptr);
  EXPECT_EQ(router->pool().FindMessageTypeByName(
                "tencentcloud.cbs.v20170312.NoSuchMessage"),
            nullptr);
  EXPECT_EQ(router->pool().FindMessageTypeByName("tencentcloud.nosuch.X"),
            nullptr);
}

TEST(BundledProductsTest, ConcurrentFirstCallsBuildOnce) {
  std::unique_ptr<Router> router = BundledRouter();
  ASSERT_NE(router, nullptr);
  std::vector<const MethodRoute*> found(8, nullptr);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < found.size(); ++i) {
    threads.emplace_back([&, i] {
      found[i] =
          router->Find("/tencentcloud.cdb.v20170320.Cdb/DescribeDBInstances");
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_NE(found[0], nullptr);
  for (const MethodRoute* route : found) EXPECT_EQ(route, found[0]);
}

// Every bundled product version builds and routes: a file that would not
// could only fail on its first call in production.
TEST(BundledProductsTest, EveryProductBuildsAndRoutes) {
  std::unique_ptr<Router> router = BundledRouter();
  ASSERT_NE(router, nullptr);
  ASSERT_TRUE(router->BuildAll().ok()) << router->BuildAll();
  for (const std::string& name : router->ServiceNames()) {
    const auto* service = router->pool().FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    ASSERT_GT(service->method_count(), 0) << name;
    const std::string path = "/" + name + "/" + service->method(0)->name();
    EXPECT_NE(router->Find(path), nullptr) << path;
  }
}

// `binary` members (cii UploadMedicalFileRequest.File) are protobuf bytes,
// base64 in the JSON sent upstream (docs/protogen.md, "Types").
TEST(BundledProductsTest, BinaryMembersAreBase64Bytes) {
  std::unique_ptr<Router> router = BundledRouter();
  ASSERT_NE(router, nullptr);
  const MethodRoute* route =
      router->Find("/tencentcloud.cii.v20210408.Cii/UploadMedicalFile");
  ASSERT_NE(route, nullptr);
  const auto* field =
      route->request_prototype->GetDescriptor()->FindFieldByName("file");
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(field->type(), google::protobuf::FieldDescriptor::TYPE_BYTES);
  EXPECT_EQ(field->json_name(), "File");
  std::unique_ptr<google::protobuf::Message> request(
      route->request_prototype->New());
  request->GetReflection()->SetString(request.get(), field,
                                      std::string("%PDF\x00\xff", 6));
  std::string json;
  ASSERT_TRUE(MessageToJson(*request, &json).ok());
  EXPECT_EQ(json, R"({"File":"JVBERgD/"})");
  std::unique_ptr<google::protobuf::Message> back(
      route->request_prototype->New());
  ASSERT_TRUE(JsonToMessage(json, back.get()).ok());
  EXPECT_EQ(back->GetReflection()->GetString(*back, field),
            std::string("%PDF\x00\xff", 6));
}

// A loaded set's newer version of a product that was never built replaces
// it; the bundled copy is not built at all.
TEST(BundledProductsTest, ALoadedSetReplacesALazyProduct) {
  auto parsed = EncodedFiles::FromSet(std::string(BundledDescriptorSet()));
  ASSERT_TRUE(parsed.ok());
  const EncodedFiles::File* cbs = parsed->FindByName(kCbsFile);
  ASSERT_NE(cbs, nullptr);
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromArray(cbs->bytes.data(), cbs->bytes.size()));
  auto* method = file.mutable_service(0)->add_method();
  *method = file.service(0).method(0);
  method->set_name("DescribeSomethingNew");
  google::protobuf::FileDescriptorSet newer;
  *newer.add_file() = file;
  auto router = Router::Create({{"bundled", "", &BundledFiles()},
                                {"newer-cbs.pb", newer.SerializeAsString()}});
  ASSERT_TRUE(router.ok()) << router.status();
  EXPECT_NE(
      (*router)->Find("/tencentcloud.cbs.v20170312.Cbs/DescribeSomethingNew"),
      nullptr);
  EXPECT_NE((*router)->Find(kDescribeDisks), nullptr);
  // The replaced product's parts are never served.
  EXPECT_FALSE((*router)->pool().InternalIsFileLoaded(
      "tencentcloud/cbs/v20170312/cbs.part0.proto"));
  EXPECT_EQ((*router)->pool().FindFileByName(
                "tencentcloud/cbs/v20170312/cbs.part0.proto"),
            nullptr);
  EXPECT_EQ((*router)->load_notes(),
            std::vector<std::string>{std::string(kCbsFile) +
                                     " replaced by newer-cbs.pb"});
  // The same package under another file name would clash on first use.
  file.set_name("acme/cbs.proto");
  google::protobuf::FileDescriptorSet clash;
  *clash.add_file() = file;
  auto refused = Router::Create({{"bundled", "", &BundledFiles()},
                                 {"clash.pb", clash.SerializeAsString()}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("defines package "
                                            "tencentcloud.cbs.v20170312"),
            std::string::npos)
      << refused.status();
}

}  // namespace
}  // namespace envelope
