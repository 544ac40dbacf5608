// envelope-cli: calls the gateway like an application would, and prints what
// the application sees: the response, or code, message, details, trailers.
//
//   envelope-cli tencentcloud.cvm.v20170312.Cvm/DescribeZones '{}'
//   envelope-cli cvm.DescribeInstances '{"Limit": 1}'
//   envelope-cli json cvm 2017-03-12 DescribeZones '{}'
#include <algorithm>
#include <iostream>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "envelope/gateway/v1/json_api.pb.h"
#include "gateway/config/flag_spelling.h"
#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"
#include "gateway/transcode/transcode.h"
#include "tools/cli/client.h"

namespace envelope {
namespace {

constexpr int kUsageError = 2;

// Flags as envelope-gateway's are read: --key=value or --key value, dashes
// or underscores, a typo answered with the nearest flag
// (docs/configuration.md).
struct Flags {
  std::string target = "127.0.0.1:50051";
  std::string region;
  std::string language;
  absl::Duration timeout = absl::Seconds(30);
};

constexpr char kUsage[] =
    "envelope-cli: calls envelope-gateway and prints what the caller sees\n"
    "usage: envelope-cli [FLAGS] METHOD [JSON]\n"
    "           METHOD: tencentcloud.cvm.v20170312.Cvm/DescribeZones, or\n"
    "           cvm.DescribeZones for a bundled product\n"
    "       envelope-cli [FLAGS] json SERVICE VERSION ACTION [JSON]\n"
    "           any action, through envelope.gateway.v1.JsonApi/Call\n"
    "       envelope-cli --help\n"
    "\n"
    "Flags:\n"
    "  --target=ADDR\n"
    "      the gateway's address: host:port or unix:/path\n"
    "      default: 127.0.0.1:50051\n"
    "  --region=REGION\n"
    "      sent as x-tc-region metadata (and the region of a json call)\n"
    "  --language=zh-CN|en-US\n"
    "      sent as x-tc-language metadata\n"
    "  --timeout=DURATION\n"
    "      the call's deadline\n"
    "      default: 30s\n"
    "\n"
    "Environment:\n"
    "  grpc_proxy, https_proxy, http_proxy, no_grpc_proxy, no_proxy\n"
    "      a proxy for the gRPC channel (read by gRPC)\n"
    "\n"
    "Exit status: 0 the call was OK, 1 it failed, 2 a usage error.\n";

absl::Status SetFlag(absl::string_view name, const std::string& value,
                     Flags& flags) {
  if (name == "target") {
    flags.target = value;
  } else if (name == "region") {
    flags.region = value;
  } else if (name == "language") {
    flags.language = value;
  } else if (name == "timeout") {
    if (!absl::ParseDuration(value, &flags.timeout) ||
        flags.timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          "--timeout: expected a duration like 250ms, 5s or 1m");
    }
  }
  return absl::OkStatus();
}

// The words that are not flags, in order; nullopt for --help.
absl::StatusOr<std::optional<std::vector<std::string>>> ParseArgs(
    int argc, char** argv, Flags& flags) {
  static const std::vector<std::string> kNames = {
      "target", "region", "language", "timeout", "help"};
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {  // the rest are words, even if they start with --
      words.insert(words.end(), argv + i + 1, argv + argc);
      break;
    }
    if (!absl::StartsWith(arg, "--")) {
      if (arg == "-h") return std::nullopt;
      words.push_back(arg);
      continue;
    }
    const size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
    absl::StrReplaceAll({{"-", "_"}}, &name);
    if (name == "help") return std::nullopt;
    if (std::find(kNames.begin(), kNames.end(), name) == kNames.end()) {
      return absl::InvalidArgumentError(UnknownFlagMessage(name, kNames));
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSpelling(name), " needs a value"));
    }
    absl::Status status = SetFlag(name, value, flags);
    if (!status.ok()) return status;
  }
  return std::optional<std::vector<std::string>>(std::move(words));
}

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
  // Only that product's services: Find builds the file of what it finds.
  const std::string prefix = absl::StrCat("tencentcloud.", service, ".");
  for (const std::string& full : router.ServiceNames()) {
    if (!absl::StartsWith(full, prefix)) continue;
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

int Run(const std::vector<std::string>& args, const Flags& flags) {
  absl::StatusOr<std::unique_ptr<Router>> router =
      Router::Create({{"bundled", "", &BundledFiles()}});
  if (!router.ok()) {
    std::cerr << router.status() << "\n";
    return 1;
  }
  const MethodRoute* route = nullptr;
  std::string request;
  if (args.size() >= 4 && args[0] == "json") {
    route = (*router)->Find("/envelope.gateway.v1.JsonApi/Call");
    envelope::gateway::v1::CallRequest call;
    call.set_service(args[1]);
    call.set_version(args[2]);
    call.set_action(args[3]);
    call.set_params_json(args.size() > 4 ? args[4] : "{}");
    call.set_region(flags.region);
    call.SerializeToString(&request);
  } else if (!args.empty() && args[0] != "json") {
    route = FindMethod(**router, args[0]);
    if (route == nullptr) {
      std::cerr << "envelope-cli: no method " << args[0] << "\n";
      return kUsageError;
    }
    std::unique_ptr<google::protobuf::Message> message(
        route->request_prototype->New());
    absl::Status status =
        JsonToMessage(args.size() > 1 ? args[1] : "{}", message.get());
    if (!status.ok()) {
      std::cerr << "envelope-cli: parameters: " << status.message() << "\n";
      return kUsageError;
    }
    message->SerializeToString(&request);
  } else {
    std::cerr << kUsage;
    return kUsageError;
  }
  std::vector<std::pair<std::string, std::string>> metadata;
  if (!flags.region.empty()) metadata.emplace_back("x-tc-region", flags.region);
  if (!flags.language.empty()) {
    metadata.emplace_back("x-tc-language", flags.language);
  }
  auto channel =
      grpc::CreateChannel(flags.target, grpc::InsecureChannelCredentials());
  const std::string& path = route->path;
  std::cout << "call " << path << "\n";
  return PrintResult(CallUnary(channel, path, request, metadata, flags.timeout),
                     route);
}

}  // namespace
}  // namespace envelope

int main(int argc, char** argv) {
  envelope::Flags flags;
  auto words = envelope::ParseArgs(argc, argv, flags);
  if (!words.ok()) {
    std::cerr << "envelope-cli: " << words.status().message() << "\n";
    return envelope::kUsageError;
  }
  if (!words->has_value()) {
    std::cout << envelope::kUsage;
    return 0;
  }
  return envelope::Run(**words, flags);
}
