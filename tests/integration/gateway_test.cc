// The gateway and the emulator as real processes on loopback, called with a
// real gRPC C++ client: what an application sees, for success and for every
// seed code, through the typed and the untyped route.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "envelope/gateway/v1/json_api.pb.h"
#include "gateway/envelope/envelope.h"
#include "gateway/envelope/reason.h"
#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"
#include "gateway/transcode/transcode.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/common/seed_codes.h"
#include "tests/integration/process.h"
#include "tools/cli/client.h"

namespace envelope {
namespace {

using testing::Http;
using testing::Process;
using C = absl::StatusCode;

constexpr char kSecretId[] = "AKIDINTEGRATION000000000000000000";
constexpr char kSecretKey[] = "integration-secret-key-00000000";

std::unique_ptr<Process> StartEmulator() {
  auto emulator = Process::Start(
      {"/usr/bin/python3", EMULATOR_PY, "--listen", "127.0.0.1:0", "--quiet",
       "--secret-id", kSecretId, "--secret-key", kSecretKey},
      {"TENCENTCLOUD_SECRET_ID=", "TENCENTCLOUD_SECRET_KEY=",
       "TENCENTCLOUD_SESSION_TOKEN="});
  EXPECT_TRUE(emulator.ok()) << emulator.status();
  return emulator.ok() ? *std::move(emulator) : nullptr;
}

absl::StatusOr<std::unique_ptr<Process>> StartGateway(
    const std::string& endpoint, std::vector<std::string> extra_flags = {},
    const std::string& secret_key = kSecretKey) {
  std::vector<std::string> argv = {GATEWAY_BIN, "--listen=127.0.0.1:0",
                                   "--endpoint=" + endpoint,
                                   "--region=ap-guangzhou"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  return Process::Start(argv,
                        {absl::StrCat("TENCENTCLOUD_SECRET_ID=", kSecretId),
                         absl::StrCat("TENCENTCLOUD_SECRET_KEY=", secret_key),
                         "TENCENTCLOUD_SESSION_TOKEN="});
}

std::string ExampleOutput(const std::string& product,
                          const std::string& action) {
  std::ifstream in(absl::StrCat(SPECS_DIR, "/", product, "/examples.json"));
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  return doc["actions"][action.c_str()][0]["output"].GetString();
}

template <typename T>
int Unpack(const google::rpc::Status& status, T* out) {
  int count = 0;
  for (const auto& any : status.details()) {
    if (any.Is<T>()) {
      ++count;
      any.UnpackTo(out);
    }
  }
  return count;
}

std::string Trailer(const UnaryResult& result, const std::string& key) {
  auto it = result.trailers.find(key);
  return it == result.trailers.end() ? "" : it->second;
}

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    emulator_ = StartEmulator().release();
    ASSERT_NE(emulator_, nullptr);
    // One attempt per call: these tests read how each answer maps, and
    // one-shot emulator rules would otherwise be retried away
    // (upstream_test.cc covers retries).
    auto gateway = StartGateway(emulator_->address(), {"--max-attempts=1"});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = gateway->release();
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        gateway_->address(), grpc::InsecureChannelCredentials()));
    auto router = Router::Create({{"bundled", "", &BundledFiles()}});
    ASSERT_TRUE(router.ok());
    router_ = router->release();
  }

  static void TearDownTestSuite() {
    delete channel_;
    if (gateway_ != nullptr) {
      EXPECT_EQ(gateway_->Terminate(), 0);
    }
    delete gateway_;
    delete emulator_;
    delete router_;
  }

  void SetUp() override {
    ASSERT_NE(gateway_, nullptr);
    Http("POST", Emulator("/_emulator/reset"));
  }

  static std::string Emulator(const std::string& path) {
    return emulator_->address() + path;
  }

  static void Rule(const std::string& json) {
    auto answer = Http("POST", Emulator("/_emulator/rules"), json);
    ASSERT_EQ(answer.status, 200) << answer.body;
  }

  // The requests the emulator received, parsed.
  static rapidjson::Document Requests() {
    rapidjson::Document doc;
    doc.Parse(Http("GET", Emulator("/_emulator/requests")).body.c_str());
    return doc;
  }

  static UnaryResult CallTyped(
      const std::string& method, const std::string& params_json,
      std::vector<std::pair<std::string, std::string>> metadata = {},
      absl::Duration timeout = absl::Seconds(10)) {
    const MethodRoute* route = router_->Find(method);
    EXPECT_NE(route, nullptr) << method;
    std::unique_ptr<google::protobuf::Message> request(
        route->request_prototype->New());
    EXPECT_TRUE(JsonToMessage(params_json, request.get()).ok());
    return CallUnary(*channel_, method, request->SerializeAsString(), metadata,
                     timeout);
  }

  static UnaryResult CallUntyped(
      const std::string& action, const std::string& params_json,
      std::vector<std::pair<std::string, std::string>> metadata = {}) {
    envelope::gateway::v1::CallRequest request;
    request.set_service("cvm");
    request.set_version("2017-03-12");
    request.set_action(action);
    request.set_params_json(params_json);
    return CallUnary(*channel_, "/envelope.gateway.v1.JsonApi/Call",
                     request.SerializeAsString(), metadata);
  }

  static Process* emulator_;
  static Process* gateway_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static Router* router_;
};

Process* GatewayTest::emulator_ = nullptr;
Process* GatewayTest::gateway_ = nullptr;
std::shared_ptr<grpc::Channel>* GatewayTest::channel_ = nullptr;
Router* GatewayTest::router_ = nullptr;

constexpr char kDescribeZones[] =
    "/tencentcloud.cvm.v20170312.Cvm/DescribeZones";
constexpr char kDescribeInstances[] =
    "/tencentcloud.cvm.v20170312.Cvm/DescribeInstances";

TEST_F(GatewayTest, TypedSuccessCarriesTheResponseAndRequestId) {
  UnaryResult result = CallTyped(kDescribeZones, "{}");
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  const MethodRoute* route = router_->Find(kDescribeZones);
  std::unique_ptr<google::protobuf::Message> response(
      route->response_prototype->New());
  ASSERT_TRUE(response->ParseFromString(result.response));
  std::string json;
  (void)MessageToJson(*response, &json);
  rapidjson::Document got, want;
  got.Parse(json.c_str());
  want.Parse(ExampleOutput("cvm/v20170312", "DescribeZones").c_str());
  EXPECT_TRUE(got == want["Response"]) << json;
  EXPECT_EQ(Trailer(result, "x-tc-requestid"),
            want["Response"]["RequestId"].GetString());
  EXPECT_EQ(Trailer(result, "x-tc-error-code"), "");
}

TEST_F(GatewayTest, TypedRequestIsSentInApiConventionsAndSigned) {
  UnaryResult result = CallTyped(
      kDescribeInstances, R"({"InstanceIds":["ins-1","ins-2"],"Limit":1})",
      {{"x-tc-region", "ap-shanghai"}, {"x-tc-language", "en-US"}});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  rapidjson::Document requests = Requests();
  ASSERT_EQ(requests.Size(), 1u);
  const auto& request = requests[0];
  rapidjson::Document body, want;
  body.Parse(request["body"].GetString());
  want.Parse(R"({"InstanceIds":["ins-1","ins-2"],"Limit":1})");
  EXPECT_TRUE(body == want) << request["body"].GetString();
  const auto& headers = request["headers"];
  EXPECT_STREQ(headers["x-tc-action"].GetString(), "DescribeInstances");
  EXPECT_STREQ(headers["x-tc-version"].GetString(), "2017-03-12");
  EXPECT_STREQ(headers["x-tc-region"].GetString(), "ap-shanghai");
  EXPECT_STREQ(headers["x-tc-language"].GetString(), "en-US");
  EXPECT_STREQ(headers["content-type"].GetString(),
               "application/json; charset=utf-8");
  EXPECT_EQ(
      std::string(headers["authorization"].GetString())
          .rfind(absl::StrCat("TC3-HMAC-SHA256 Credential=", kSecretId, "/"),
                 0),
      0u);
  EXPECT_TRUE(request["signature_ok"].GetBool());
}

TEST_F(GatewayTest, UntypedSuccessIsByteForByte) {
  UnaryResult result = CallUntyped("DescribeInstances", R"({"Limit": 1})");
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  envelope::gateway::v1::CallResponse response;
  ASSERT_TRUE(response.ParseFromString(result.response));
  std::string example = ExampleOutput("cvm/v20170312", "DescribeInstances");
  EXPECT_EQ(response.response_json(),
            json::FindMemberText(example, "Response"));
  EXPECT_FALSE(response.request_id().empty());
  EXPECT_EQ(Trailer(result, "x-tc-requestid"), response.request_id());
  rapidjson::Document requests = Requests();
  EXPECT_STREQ(requests[0]["body"].GetString(), R"({"Limit": 1})");
}

TEST_F(GatewayTest, UntypedKeeps64BitIntegersExact) {
  Rule(
      R"({"action":"DescribeZones","response":{"TotalCount":18446744073709551615,"Big":-9223372036854775808,"RequestId":"r-64"}})");
  UnaryResult result = CallUntyped("DescribeZones", "");
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  envelope::gateway::v1::CallResponse response;
  response.ParseFromString(result.response);
  EXPECT_NE(response.response_json().find("18446744073709551615"),
            std::string::npos);
  EXPECT_NE(response.response_json().find("-9223372036854775808"),
            std::string::npos);
  EXPECT_EQ(response.request_id(), "r-64");
}

// Every seed code, typed and untyped: code, message, every detail, trailers.
void CheckFailure(const UnaryResult& result, const testing::SeedCode& seed,
                  const std::string& message, const std::string& action,
                  const std::string& locale) {
  SCOPED_TRACE(seed.code);
  ASSERT_EQ(static_cast<int>(result.status.error_code()),
            static_cast<int>(seed.status));
  EXPECT_EQ(result.status.error_message(), message);
  EXPECT_EQ(Trailer(result, "x-tc-error-code"), seed.code);
  std::string request_id = Trailer(result, "x-tc-requestid");
  EXPECT_FALSE(request_id.empty());
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(result.status.error_details()));
  EXPECT_EQ(status.code(), static_cast<int>(seed.status));
  EXPECT_EQ(status.message(), message);
  google::rpc::ErrorInfo info;
  ASSERT_EQ(Unpack(status, &info), 1);
  EXPECT_EQ(info.reason(), ErrorReason(seed.code));
  EXPECT_EQ(info.domain(), "tencentcloudapi.com");
  EXPECT_EQ(info.metadata().at("code"), seed.code);
  EXPECT_EQ(info.metadata().at("service"), "cvm");
  EXPECT_EQ(info.metadata().at("version"), "2017-03-12");
  EXPECT_EQ(info.metadata().at("action"), action);
  EXPECT_EQ(info.metadata().at("region"), "ap-guangzhou");
  google::rpc::RequestInfo request_info;
  ASSERT_EQ(Unpack(status, &request_info), 1);
  EXPECT_EQ(request_info.request_id(), request_id);
  google::rpc::LocalizedMessage localized;
  ASSERT_EQ(Unpack(status, &localized), 1);
  EXPECT_EQ(localized.locale(), locale);
  EXPECT_EQ(localized.message(), message);
  const std::string family = seed.family;
  ASSERT_EQ(status.details_size(), family.empty() ? 3 : 4);
  if (family == "google.rpc.BadRequest") {
    google::rpc::BadRequest bad;
    ASSERT_EQ(Unpack(status, &bad), 1);
    EXPECT_EQ(bad.field_violations(0).field(), "Limit");
  } else if (family == "google.rpc.RetryInfo") {
    google::rpc::RetryInfo retry;
    ASSERT_EQ(Unpack(status, &retry), 1);
    // The wait the gateway would have taken next: --rate-limit-backoff (1 s)
    // with equal jitter, so between half of it and all of it.
    const int64_t ms = retry.retry_delay().seconds() * 1000 +
                       retry.retry_delay().nanos() / 1000000;
    EXPECT_GE(ms, 500);
    EXPECT_LE(ms, 1000);
  } else if (family == "google.rpc.QuotaFailure") {
    google::rpc::QuotaFailure quota;
    ASSERT_EQ(Unpack(status, &quota), 1);
    EXPECT_EQ(quota.violations(0).subject(), "cvm:" + action);
  } else if (family == "google.rpc.ResourceInfo") {
    google::rpc::ResourceInfo resource;
    ASSERT_EQ(Unpack(status, &resource), 1);
    EXPECT_EQ(resource.description(), message);
  }
}

TEST_F(GatewayTest, EverySeedCodeTypedAndUntyped) {
  for (const auto& seed : testing::SeedCodes()) {
    const std::string message =
        absl::StrCat("seed ", seed.code, ": parameter `Limit` is involved");
    for (bool typed : {true, false}) {
      Rule(absl::StrCat(
          R"({"action":"DescribeZones","times":1,"error":{"Code":")", seed.code,
          R"(","Message":")", message, R"("}})"));
      const bool chinese = seed.status == C::kNotFound;
      std::vector<std::pair<std::string, std::string>> metadata;
      if (chinese) metadata.emplace_back("x-tc-language", "zh-CN");
      UnaryResult result = typed ? CallTyped(kDescribeZones, "{}", metadata)
                                 : CallUntyped("DescribeZones", "{}", metadata);
      if (seed.status == C::kOk) {  // DryRunOperation
        ASSERT_TRUE(result.status.ok()) << result.status.error_message();
        EXPECT_EQ(result.response, "");
        EXPECT_EQ(Trailer(result, "x-tc-error-code"), seed.code);
        EXPECT_FALSE(Trailer(result, "x-tc-requestid").empty());
        continue;
      }
      SCOPED_TRACE(typed ? "typed" : "untyped");
      CheckFailure(result, seed, message, "DescribeZones",
                   chinese ? "zh-CN" : "en-US");
    }
  }
}

TEST_F(GatewayTest, SubCodesAndUnknownCodes) {
  struct Case {
    const char* code;
    grpc::StatusCode want;
  } cases[] = {
      {"ResourceNotFound.InstanceNotExist", grpc::NOT_FOUND},
      {"AuthFailure.SomethingNew", grpc::UNAUTHENTICATED},
      {"OperationDenied.Locked", grpc::PERMISSION_DENIED},
      {"ResourcesSoldOut.EipInsufficient", grpc::RESOURCE_EXHAUSTED},
      {"Something.Unheard.Of", grpc::UNKNOWN},
  };
  for (const auto& c : cases) {
    Rule(
        absl::StrCat(R"({"action":"DescribeZones","times":1,"error":{"Code":")",
                     c.code, R"("}})"));
    UnaryResult result = CallTyped(kDescribeZones, "{}");
    EXPECT_EQ(result.status.error_code(), c.want) << c.code;
    EXPECT_EQ(Trailer(result, "x-tc-error-code"), c.code);
  }
}

TEST_F(GatewayTest, FaultsWithoutAnEnvelope) {
  struct Case {
    const char* rule;
    grpc::StatusCode want;
    const char* says;
  } cases[] = {
      {R"("status":503,"body":"<html>busy</html>")", grpc::UNAVAILABLE,
       "HTTP 503"},
      {R"("status":400,"body":"bad")", grpc::INTERNAL, "HTTP 400"},
      {R"("status":401,"body":"")", grpc::UNAUTHENTICATED, "HTTP 401"},
      {R"("status":404,"body":"nope")", grpc::UNIMPLEMENTED, "HTTP 404"},
      {R"("status":500,"body":"oops")", grpc::UNKNOWN, "HTTP 500"},
      {R"("body":"this is not json")", grpc::INTERNAL, "not JSON"},
      {R"("body":"{\"Data\":{}}")", grpc::INTERNAL, "no \"Response\" object"},
      {R"("body":"{\"Response\":{\"Error\":{\"Message\":\"m\"}}}")",
       grpc::INTERNAL, "no string \"Code\""},
      {R"("fault":"reset")", grpc::UNAVAILABLE, "upstream unreachable"},
      {R"("response":{"TotalCount":"many"})", grpc::INTERNAL,
       "TotalCount: expected an integer"},
  };
  for (const auto& c : cases) {
    // times 2: libcurl re-sends once when a reused keep-alive connection
    // turns out dead before any response byte (the keep-alive race).
    Rule(absl::StrCat(R"({"action":"DescribeZones","times":2,)", c.rule, "}"));
    UnaryResult result = CallTyped(kDescribeZones, "{}");
    Http("DELETE", Emulator("/_emulator/rules"));
    EXPECT_EQ(result.status.error_code(), c.want) << c.rule;
    EXPECT_NE(result.status.error_message().find(c.says), std::string::npos)
        << c.rule << " -> " << result.status.error_message();
  }
}

TEST_F(GatewayTest, TheCallersDeadlineBoundsTheUpstreamExchange) {
  Rule(R"({"action":"DescribeZones","times":1,"delay_ms":20000})");
  absl::Time start = absl::Now();
  UnaryResult result =
      CallTyped(kDescribeZones, "{}", {}, absl::Milliseconds(500));
  EXPECT_EQ(result.status.error_code(), grpc::DEADLINE_EXCEEDED);
  // Long before the answer; the margin is for a loaded machine.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(GatewayTest, GatewaySideRefusals) {
  EXPECT_EQ(CallTyped(kDescribeZones, "{}", {{"x-tc-language", "fr-FR"}})
                .status.error_code(),
            grpc::INVALID_ARGUMENT);
  EXPECT_EQ(CallTyped(kDescribeZones, "{}", {{"x-tc-region", "ap guangzhou"}})
                .status.error_code(),
            grpc::INVALID_ARGUMENT);
  UnaryResult unknown =
      CallUnary(*channel_, "/tencentcloud.cvm.v20170312.Cvm/Nope", "");
  EXPECT_EQ(unknown.status.error_code(), grpc::UNIMPLEMENTED);
  UnaryResult garbage =
      CallUnary(*channel_, kDescribeInstances, "\xff\xff\xff");
  EXPECT_EQ(garbage.status.error_code(), grpc::INVALID_ARGUMENT);
  UnaryResult bad_params = CallUntyped("DescribeZones", "[1,2]");
  EXPECT_EQ(bad_params.status.error_code(), grpc::INVALID_ARGUMENT);
  envelope::gateway::v1::CallRequest bad_version;
  bad_version.set_service("cvm");
  bad_version.set_version("2017/03/12");
  bad_version.set_action("DescribeZones");
  EXPECT_EQ(CallUnary(*channel_, "/envelope.gateway.v1.JsonApi/Call",
                      bad_version.SerializeAsString())
                .status.error_code(),
            grpc::INVALID_ARGUMENT);
  // None of these reached the upstream.
  EXPECT_EQ(Requests().Size(), 0u);
}

TEST_F(GatewayTest, ManyConcurrentCallsAllEndWithTheirOwnAnswer) {
  Rule(R"({"action":"DescribeZones","delay_ms":200})");
  constexpr int kCalls = 64;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&] {
      if (CallTyped(kDescribeZones, "{}").status.ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kCalls);
}

TEST(GatewayProcessTest, WrongKeyIsARealSignatureFailure) {
  auto emulator = StartEmulator();
  ASSERT_NE(emulator, nullptr);
  auto gateway = StartGateway(emulator->address(), {}, "the-wrong-key");
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto channel = grpc::CreateChannel((*gateway)->address(),
                                     grpc::InsecureChannelCredentials());
  UnaryResult result = CallUnary(channel, kDescribeZones, "");
  EXPECT_EQ(result.status.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(Trailer(result, "x-tc-error-code"), "AuthFailure.SignatureFailure");
  EXPECT_EQ(result.status.error_message().find("the-wrong-key"),
            std::string::npos);
  EXPECT_EQ((*gateway)->Terminate(), 0);
}

TEST(GatewayProcessTest, UnreachableUpstreamIsUnavailable) {
  auto gateway = StartGateway("http://127.0.0.1:1");
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto channel = grpc::CreateChannel((*gateway)->address(),
                                     grpc::InsecureChannelCredentials());
  UnaryResult result = CallUnary(channel, kDescribeZones, "");
  EXPECT_EQ(result.status.error_code(), grpc::UNAVAILABLE);
  EXPECT_NE(result.status.error_message().find("upstream unreachable"),
            std::string::npos);
}

TEST(GatewayProcessTest, CompanyApiLoadedFromADescriptorSet) {
  auto emulator = StartEmulator();
  ASSERT_NE(emulator, nullptr);
  auto gateway =
      StartGateway(emulator->address(),
                   {absl::StrCat("--descriptor-set=", ACME_DESCRIPTOR_SET),
                    absl::StrCat("--descriptor-set=", ORDERS_DESCRIPTOR_SET),
                    "--service-error-domain=orders=orders.acme.example"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  Http(
      "POST", emulator->address() + "/_emulator/rules",
      R"({"action":"DescribeInvoice","times":1,"response":{"InvoiceId":"inv-1","AmountCents":9007199254740993,"RequestId":"r-acme"}})");
  auto channel = grpc::CreateChannel((*gateway)->address(),
                                     grpc::InsecureChannelCredentials());
  UnaryResult result = CallUnary(channel, "/acme.billing.v1.Billing/GetInvoice",
                                 "\x0a\x05inv-1");
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(Trailer(result, "x-tc-requestid"), "r-acme");
  rapidjson::Document requests;
  requests.Parse(
      Http("GET", emulator->address() + "/_emulator/requests").body.c_str());
  ASSERT_EQ(requests.Size(), 1u);
  EXPECT_STREQ(requests[0]["headers"]["x-tc-action"].GetString(),
               "DescribeInvoice");
  EXPECT_STREQ(requests[0]["headers"]["x-tc-version"].GetString(),
               "2024-01-01");
  EXPECT_STREQ(requests[0]["body"].GetString(), R"({"InvoiceId":"inv-1"})");
  Http(
      "POST", emulator->address() + "/_emulator/rules",
      R"({"action":"DescribeInvoice","times":1,"error":{"Code":"ResourceNotFound"}})");
  UnaryResult failure =
      CallUnary(channel, "/acme.billing.v1.Billing/GetInvoice", "");
  ASSERT_EQ(failure.status.error_code(), grpc::NOT_FOUND);
  google::rpc::Status status;
  status.ParseFromString(failure.status.error_details());
  google::rpc::ErrorInfo info;
  ASSERT_EQ(Unpack(status, &info), 1);
  // The domain of billing's failures comes from its route option.
  EXPECT_EQ(info.domain(), "billing.acme.example");
  EXPECT_EQ(info.metadata().at("service"), "billing");
  // --service-error-domain for orders; the default for everyone else.
  for (const auto& [method, action, domain] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/acme.orders.v1.Orders/DescribeOrders", "DescribeOrders",
            "orders.acme.example"},
           {kDescribeZones, "DescribeZones", "tencentcloudapi.com"}}) {
    Http("POST", emulator->address() + "/_emulator/rules",
         absl::StrCat(R"({"action":")", action,
                      R"(","times":1,"error":{"Code":"ResourceNotFound"}})"));
    UnaryResult failed = CallUnary(channel, method, "");
    ASSERT_EQ(failed.status.error_code(), grpc::NOT_FOUND) << method;
    google::rpc::Status details;
    details.ParseFromString(failed.status.error_details());
    google::rpc::ErrorInfo error_info;
    ASSERT_EQ(Unpack(details, &error_info), 1) << method;
    EXPECT_EQ(error_info.domain(), domain) << method;
  }

  // The second, repeated --descriptor-set is routed too.
  Http(
      "POST", emulator->address() + "/_emulator/rules",
      R"({"action":"DescribeOrders","times":1,"response":{"OrderIds":["o-1"]}})");
  UnaryResult orders =
      CallUnary(channel, "/acme.orders.v1.Orders/DescribeOrders", "\x08\x02");
  ASSERT_TRUE(orders.status.ok()) << orders.status.error_message();
  requests.Parse(
      Http("GET", emulator->address() + "/_emulator/requests").body.c_str());
  const auto& last = requests[requests.Size() - 1];
  EXPECT_STREQ(last["headers"]["x-tc-version"].GetString(), "2024-02-02");
  EXPECT_STREQ(last["body"].GetString(), R"({"Limit":2})");
}

TEST(GatewayProcessTest, StopAndContinueIsNoShutdown) {
  auto gateway = StartGateway("http://127.0.0.1:1", {"--signing=none"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto channel = grpc::CreateChannel((*gateway)->address(),
                                     grpc::InsecureChannelCredentials());
  // A debugger or `kill -STOP` / `kill -CONT` must not look like SIGTERM.
  ASSERT_EQ((*gateway)->Signal(SIGSTOP), 0);
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_EQ((*gateway)->Signal(SIGCONT), 0);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ((*gateway)->WaitExit(absl::Milliseconds(100)), -1)
      << "the gateway exited after SIGSTOP/SIGCONT";
  UnaryResult result = CallUnary(channel, kDescribeZones, "");
  EXPECT_EQ(result.status.error_code(), grpc::UNAVAILABLE);  // port 1: no API
  EXPECT_EQ((*gateway)->Terminate(), 0);
}

TEST(GatewayProcessTest, StatusOverridesApply) {
  auto emulator = StartEmulator();
  ASSERT_NE(emulator, nullptr);
  auto gateway = StartGateway(emulator->address(),
                              {"--status-override=ResourceInUse=ABORTED"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  Http("POST", emulator->address() + "/_emulator/rules",
       R"({"action":"DescribeZones","error":{"Code":"ResourceInUse.Disk"}})");
  auto channel = grpc::CreateChannel((*gateway)->address(),
                                     grpc::InsecureChannelCredentials());
  EXPECT_EQ(CallUnary(channel, kDescribeZones, "").status.error_code(),
            grpc::ABORTED);
}

TEST(GatewayProcessTest, BadStartUpStopsWithExitCode2AndOneClearLine) {
  const std::string junk = ::testing::TempDir() + "junk.pb";
  std::ofstream(junk) << "\xff\xff\xff not a descriptor set";
  struct Case {
    std::vector<std::string> flags;
    std::vector<std::string> env;
    const char* says;
  } cases[] = {
      {{"--signing=tc3", "--credential-sources=env,magic"}, {}, "magic"},
      {{"--signing=magic"}, {}, "--signing"},
      {{"--signing=none", "--descriptor-set=/nonexistent.pb"},
       {},
       "cannot read"},
      {{"--signing=none", "--descriptor-set=" + junk}, {}, "junk.pb"},
      {{"--signing=none", "--status-override=Foo=BAR"},
       {},
       "--status-override"},
      {{"--signing=none", "--region=AP GUANGZHOU"}, {}, "region"},
      {{"--signing=none", "--endpoint=ftp://example.com"}, {}, "endpoint"},
      {{"--signing=none", "--endpoint=https://example.com/api"}, {}, "path"},
      {{"--signing=none", "--max-attempts=abc"}, {}, "--max-attempts"},
      {{"--signing=none", "--no-such-flag=1"}, {}, "unknown flag"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {GATEWAY_BIN, "--listen=127.0.0.1:0"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    auto [code, err] = testing::RunToExit(argv, c.env);
    EXPECT_EQ(code, 2) << err;
    EXPECT_NE(err.find(c.says), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace envelope
