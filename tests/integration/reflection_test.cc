// Server reflection as a client tool uses it: list the services, fetch the
// file of a method with its imports, build a pool from the answer, and find
// the method and the API's member names in it.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/process.h"
#include "tools/cli/client.h"

namespace envelope {
namespace {

template <typename Reflection>
class ReflectionClient {
 public:
  using Request = typename Reflection::ServerReflectionRequest;
  using Response = typename Reflection::ServerReflectionResponse;

  explicit ReflectionClient(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(Reflection::ServerReflection::NewStub(channel)),
        stream_(stub_->ServerReflectionInfo(&context_)) {}

  ~ReflectionClient() {
    stream_->WritesDone();
    EXPECT_TRUE(stream_->Finish().ok());
  }

  Response Ask(const Request& request) {
    EXPECT_TRUE(stream_->Write(request));
    Response response;
    EXPECT_TRUE(stream_->Read(&response));
    return response;
  }

  std::vector<std::string> Services() {
    Request request;
    request.set_list_services("*");
    std::vector<std::string> names;
    Response response = Ask(request);
    for (const auto& s : response.list_services_response().service()) {
      names.push_back(s.name());
    }
    return names;
  }

  // Builds the files of the answer into `pool`, imports first.
  bool LoadSymbol(const std::string& symbol,
                  google::protobuf::DescriptorPool* pool) {
    Request request;
    request.set_file_containing_symbol(symbol);
    Response response = Ask(request);
    if (!response.has_file_descriptor_response()) return false;
    std::vector<google::protobuf::FileDescriptorProto> files;
    for (const auto& bytes :
         response.file_descriptor_response().file_descriptor_proto()) {
      files.emplace_back().ParseFromString(bytes);
    }
    // Add until everything built: the order of the answer is not promised.
    for (size_t round = 0; round < files.size(); ++round) {
      for (const auto& file : files) {
        if (pool->FindFileByName(file.name()) == nullptr) {
          pool->BuildFile(file);
        }
      }
    }
    return pool->FindFileContainingSymbol(symbol) != nullptr;
  }

 private:
  std::unique_ptr<typename Reflection::ServerReflection::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
};

struct V1Alpha {
  using ServerReflection = grpc::reflection::v1alpha::ServerReflection;
  using ServerReflectionRequest =
      grpc::reflection::v1alpha::ServerReflectionRequest;
  using ServerReflectionResponse =
      grpc::reflection::v1alpha::ServerReflectionResponse;
};
struct V1 {
  using ServerReflection = grpc::reflection::v1::ServerReflection;
  using ServerReflectionRequest = grpc::reflection::v1::ServerReflectionRequest;
  using ServerReflectionResponse =
      grpc::reflection::v1::ServerReflectionResponse;
};

template <typename T>
class ReflectionTest : public ::testing::Test {};
using Versions = ::testing::Types<V1Alpha, V1>;
TYPED_TEST_SUITE(ReflectionTest, Versions);

TYPED_TEST(ReflectionTest, ListsAndDescribesBundledAndLoadedServices) {
  auto gateway = testing::Process::Start(
      {GATEWAY_BIN, "--listen=127.0.0.1:0", "--signing=none",
       "--endpoint=http://127.0.0.1:1",
       absl::StrCat("--descriptor-set=", ACME_DESCRIPTOR_SET)});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto channel = grpc::CreateChannel((*gateway)->address(),
                                     grpc::InsecureChannelCredentials());
  ReflectionClient<TypeParam> client(channel);

  std::vector<std::string> services = client.Services();
  for (const char* name :
       {"tencentcloud.cvm.v20170312.Cvm", "tencentcloud.vpc.v20170312.Vpc",
        "tencentcloud.cbs.v20170312.Cbs", "tencentcloud.tke.v20180525.Tke",
        "envelope.gateway.v1.JsonApi", "acme.billing.v1.Billing",
        "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_NE(std::find(services.begin(), services.end(), name), services.end())
        << name;
  }

  google::protobuf::DescriptorPool pool;
  ASSERT_TRUE(client.LoadSymbol(
      "tencentcloud.cvm.v20170312.Cvm.DescribeInstances", &pool));
  const auto* method =
      pool.FindMethodByName("tencentcloud.cvm.v20170312.Cvm.DescribeInstances");
  ASSERT_NE(method, nullptr);
  const auto* limit = method->input_type()->FindFieldByName("limit");
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(limit->json_name(), "Limit");
  EXPECT_TRUE(limit->has_presence());

  // A product whose proto is generated at build time: its file is built
  // when reflection is first asked for it (docs/design.md, "Descriptors").
  ASSERT_TRUE(client.LoadSymbol("tencentcloud.cbs.v20170312.Cbs", &pool));
  const auto* disks =
      pool.FindMethodByName("tencentcloud.cbs.v20170312.Cbs.DescribeDisks");
  ASSERT_NE(disks, nullptr);
  EXPECT_EQ(disks->input_type()->FindFieldByName("disk_ids")->json_name(),
            "DiskIds");
  typename TypeParam::ServerReflectionRequest tke_file;
  tke_file.set_file_by_filename("tencentcloud/tke/v20180525/tke.proto");
  EXPECT_TRUE(client.Ask(tke_file).has_file_descriptor_response());

  // Loaded at start-up, with its import of the route options.
  ASSERT_TRUE(client.LoadSymbol("acme.billing.v1.Billing", &pool));
  EXPECT_NE(pool.FindMethodByName("acme.billing.v1.Billing.GetInvoice"),
            nullptr);

  typename TypeParam::ServerReflectionRequest missing;
  missing.set_file_containing_symbol("no.such.Symbol");
  auto answer = client.Ask(missing);
  ASSERT_TRUE(answer.has_error_response());
  EXPECT_EQ(answer.error_response().error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));

  typename TypeParam::ServerReflectionRequest by_name;
  by_name.set_file_by_filename("envelope/gateway/v1/json_api.proto");
  EXPECT_TRUE(client.Ask(by_name).has_file_descriptor_response());
}

// grpc.health.v1.Health, which the gateway serves (docs/operations.md,
// "Probes"), as a client that knows only reflection finds it: listed,
// described by symbol and by file name, then called with messages built
// from the descriptors reflection gave.
TYPED_TEST(ReflectionTest, ListsDescribesAndCallsTheHealthService) {
  auto gateway = testing::Process::Start({GATEWAY_BIN, "--listen=127.0.0.1:0",
                                          "--admin-listen=", "--signing=none",
                                          "--endpoint=http://127.0.0.1:1"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto channel = grpc::CreateChannel((*gateway)->address(),
                                     grpc::InsecureChannelCredentials());
  ReflectionClient<TypeParam> client(channel);

  std::vector<std::string> services = client.Services();
  EXPECT_NE(
      std::find(services.begin(), services.end(), "grpc.health.v1.Health"),
      services.end());

  google::protobuf::DescriptorPool pool;
  ASSERT_TRUE(client.LoadSymbol("grpc.health.v1.Health", &pool));
  const auto* check = pool.FindMethodByName("grpc.health.v1.Health.Check");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->file()->name(), "grpc/health/v1/health.proto");
  EXPECT_NE(pool.FindMethodByName("grpc.health.v1.Health.Watch"), nullptr);

  typename TypeParam::ServerReflectionRequest by_name;
  by_name.set_file_by_filename("grpc/health/v1/health.proto");
  auto answer = client.Ask(by_name);
  ASSERT_TRUE(answer.has_file_descriptor_response());
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(
      answer.file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.name(), "grpc/health/v1/health.proto");
  ASSERT_EQ(file.service_size(), 1);
  EXPECT_EQ(file.service(0).name(), "Health");

  google::protobuf::DynamicMessageFactory factory(&pool);
  std::unique_ptr<google::protobuf::Message> request(
      factory.GetPrototype(check->input_type())->New());  // service "": all
  UnaryResult result = CallUnary(channel, "/grpc.health.v1.Health/Check",
                                 request->SerializeAsString());
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  std::unique_ptr<google::protobuf::Message> response(
      factory.GetPrototype(check->output_type())->New());
  ASSERT_TRUE(response->ParseFromString(result.response));
  const auto* status = check->output_type()->FindFieldByName("status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(response->GetReflection()->GetEnum(*response, status)->name(),
            "SERVING");
}

}  // namespace
}  // namespace envelope
