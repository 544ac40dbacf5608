// envelope-cli: calls the gateway like an application would, and prints what
// the application sees: the response, or code, message, details, trailers.
//
//   envelope-cli tencentcloud.cvm.v20170312.Cvm/DescribeZones '{}'
//   envelope-cli cvm.DescribeInstances '{"Limit": 1}'
//   envelope-cli json cvm 2017-03-12 DescribeZones '{}'
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "envelope/gateway/v1/json_api.pb.h"
#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"
#include "gateway/transcode/transcode.h"
#include "tools/cli/client.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "the gateway's address");
ABSL_FLAG(std::string, region, "", "x-tc-region metadata");
ABSL_FLAG(std::string, language, "", "x-tc-language metadata");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "call deadline");

namespace envelope {
namespace {

constexpr int kUsageError = 2;

// "pkg.Service/Method", "pkg.Service.Method" or the short "cvm.Action".
const MethodRoute* FindMethod(const Router& router, absl::string_view name) {
  std::string path = absl::StrCat("/", name);
  if (!absl::StrContains(name, '/')) {
    size_t dot = path.rfind('.');
    if (dot != std::string::npos) path[dot] = '/';
  }
  if (const MethodRoute* route = router.Find(path)) return route;
  // Short form: the service name of a tencentcloud package.
  size_t slash = path.find('/', 1);
  std::string service = path.substr(1, slash - 1);
  std::string action = path.substr(slash + 1);
  for (const std::string& full : router.ServiceNames()) {
    std::string candidate = absl::StrCat("/", full, "/", action);
    const MethodRoute* route = router.Find(candidate);
    if (route != nullptr && route->service == service) return route;
  }
  return nullptr;
}

int PrintResult(const UnaryResult& result, const MethodRoute* route) {
  if (!result.status.ok()) {
    std::cout << DescribeFailure(result);
    return 1;
  }
  std::string json;
  if (route->untyped) {
    envelope::gateway::v1::CallResponse response;
    response.ParseFromString(result.response);
    json = response.response_json();
  } else {
    std::unique_ptr<google::protobuf::Message> response(
        route->response_prototype->New());
    response->ParseFromString(result.response);
    (void)MessageToJson(*response, &json);
  }
  std::cout << "code: OK (0)\nresponse: " << json << "\ntrailers:\n"
            << DescribeTrailers(result);
  return 0;
}

int Run(std::vector<char*> args) {
  absl::StatusOr<std::unique_ptr<Router>> router =
      Router::Create({{"bundled", std::string(BundledDescriptorSet())}});
  if (!router.ok()) {
    std::cerr << router.status() << "\n";
    return 1;
  }
  const MethodRoute* route = nullptr;
  std::string request;
  if (args.size() >= 5 && absl::string_view(args[1]) == "json") {
    route = (*router)->Find("/envelope.gateway.v1.JsonApi/Call");
    envelope::gateway::v1::CallRequest call;
    call.set_service(args[2]);
    call.set_version(args[3]);
    call.set_action(args[4]);
    call.set_params_json(args.size() > 5 ? args[5] : "{}");
    call.set_region(absl::GetFlag(FLAGS_region));
    call.SerializeToString(&request);
  } else if (args.size() >= 2) {
    route = FindMethod(**router, args[1]);
    if (route == nullptr) {
      std::cerr << "envelope-cli: no method " << args[1] << "\n";
      return kUsageError;
    }
    std::unique_ptr<google::protobuf::Message> message(
        route->request_prototype->New());
    absl::Status status =
        JsonToMessage(args.size() > 2 ? args[2] : "{}", message.get());
    if (!status.ok()) {
      std::cerr << "envelope-cli: parameters: " << status.message() << "\n";
      return kUsageError;
    }
    message->SerializeToString(&request);
  } else {
    std::cerr << absl::ProgramUsageMessage() << "\n";
    return kUsageError;
  }
  std::vector<std::pair<std::string, std::string>> metadata;
  if (!absl::GetFlag(FLAGS_region).empty()) {
    metadata.emplace_back("x-tc-region", absl::GetFlag(FLAGS_region));
  }
  if (!absl::GetFlag(FLAGS_language).empty()) {
    metadata.emplace_back("x-tc-language", absl::GetFlag(FLAGS_language));
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_target),
                                     grpc::InsecureChannelCredentials());
  std::string path = absl::StrCat("/", route->method->service()->full_name(),
                                  "/", route->method->name());
  std::cout << "call " << path << "\n";
  return PrintResult(
      CallUnary(channel, path, request, metadata, absl::GetFlag(FLAGS_timeout)),
      route);
}

}  // namespace
}  // namespace envelope

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "calls envelope-gateway and prints what the caller sees\n"
      "  envelope-cli [--target=HOST:PORT] METHOD [JSON]\n"
      "      METHOD: tencentcloud.cvm.v20170312.Cvm/DescribeZones or "
      "cvm.DescribeZones\n"
      "  envelope-cli [--target=HOST:PORT] json SERVICE VERSION ACTION [JSON]");
  return envelope::Run(absl::ParseCommandLine(argc, argv));
}
