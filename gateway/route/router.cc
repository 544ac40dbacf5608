#include "gateway/route/router.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "envelope/gateway/v1/options.pb.h"
#include "gateway/upstream/upstream.h"
#include "google/protobuf/descriptor.pb.h"

namespace envelope {
namespace {

using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::FileDescriptorSet;

constexpr absl::string_view kJsonApiService = "envelope.gateway.v1.JsonApi";

class CollectErrors : public google::protobuf::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message*, ErrorLocation,
                const std::string& message) override {
    if (!errors.empty()) errors.append("; ");
    absl::StrAppend(&errors, filename, ": ", element_name, ": ", message);
  }
  std::string errors;
};

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), absl::ascii_isdigit);
}

// Letters and digits (and '-' when `dash`): what can go into a host name,
// a credential scope and an X-TC-Action header unchanged.
bool IsPlainName(absl::string_view s, bool dash) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [dash](char c) {
    return absl::ascii_isalnum(c) || (dash && c == '-');
  });
}

// "2017-03-12".
bool IsApiVersion(absl::string_view v) {
  return v.size() == 10 && v[4] == '-' && v[7] == '-' &&
         AllDigits(v.substr(0, 4)) && AllDigits(v.substr(5, 2)) &&
         AllDigits(v.substr(8, 2));
}

// Route options merge: a non-empty member overrides.
void Apply(const envelope::gateway::v1::Route& options, MethodRoute& route) {
  if (!options.service().empty()) route.service = options.service();
  if (!options.version().empty()) route.version = options.version();
  if (!options.action().empty()) route.action = options.action();
  if (!options.endpoint().empty()) route.endpoint = options.endpoint();
  if (!options.error_domain().empty()) {
    route.error_domain = options.error_domain();
  }
}

// Product files of the first set (package tencentcloud.*) that a later set
// defines differently -> the name of the first such set. No other file of
// the first set imports a product file, so leaving it out breaks nothing.
absl::flat_hash_map<std::string, std::string> ReplacedProductFiles(
    const std::vector<Router::DescriptorSet>& sets) {
  absl::flat_hash_map<std::string, std::string> replaced;
  FileDescriptorSet first;
  if (sets.empty() || !first.ParseFromString(sets[0].bytes)) return replaced;
  absl::flat_hash_map<std::string, std::string> products;  // name -> bytes
  for (const FileDescriptorProto& file : first.file()) {
    if (absl::StartsWith(file.package(), "tencentcloud.")) {
      products[file.name()] = file.SerializeAsString();
    }
  }
  for (size_t i = 1; i < sets.size(); ++i) {
    FileDescriptorSet later;
    if (!later.ParseFromString(sets[i].bytes)) continue;  // AddFiles says so
    for (const FileDescriptorProto& file : later.file()) {
      auto it = products.find(file.name());
      if (it != products.end() && it->second != file.SerializeAsString()) {
        replaced.emplace(file.name(), sets[i].name);
      }
    }
  }
  return replaced;
}

}  // namespace

bool ParseTencentCloudPackage(absl::string_view package, std::string* service,
                              std::string* version) {
  std::vector<absl::string_view> parts = absl::StrSplit(package, '.');
  if (parts.size() != 3 || parts[0] != "tencentcloud" || parts[1].empty()) {
    return false;
  }
  absl::string_view v = parts[2];
  if (v.size() != 9 || v[0] != 'v' || !AllDigits(v.substr(1))) return false;
  *service = std::string(parts[1]);
  *version =
      absl::StrCat(v.substr(1, 4), "-", v.substr(5, 2), "-", v.substr(7, 2));
  return true;
}

Router::Router(const Options& options)
    : options_(options),
      pool_(std::make_unique<google::protobuf::DescriptorPool>()),
      factory_(std::make_unique<google::protobuf::DynamicMessageFactory>(
          pool_.get())) {}

absl::StatusOr<std::unique_ptr<Router>> Router::Create(
    const std::vector<DescriptorSet>& descriptor_sets, const Options& options) {
  std::unique_ptr<Router> router(new Router(options));
  const absl::flat_hash_map<std::string, std::string> replaced =
      ReplacedProductFiles(descriptor_sets);
  for (const auto& [file, by] : replaced) {
    router->replaced_files_.push_back(absl::StrCat(file, " replaced by ", by));
  }
  std::sort(router->replaced_files_.begin(), router->replaced_files_.end());
  for (size_t i = 0; i < descriptor_sets.size(); ++i) {
    const DescriptorSet& set = descriptor_sets[i];
    absl::Status status =
        i == 0 ? router->AddFiles(set, replaced) : router->AddFiles(set);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor set ", set.name, ": ", status.message()));
    }
  }
  return router;
}

absl::Status Router::AddFiles(
    const DescriptorSet& set,
    const absl::flat_hash_map<std::string, std::string>& skip) {
  FileDescriptorSet files;
  if (!files.ParseFromString(set.bytes)) {
    return absl::InvalidArgumentError(
        "is not a serialized google.protobuf.FileDescriptorSet");
  }
  for (const FileDescriptorProto& file : files.file()) {
    if (skip.contains(file.name())) continue;
    std::string bytes = file.SerializeAsString();
    auto [it, inserted] = file_bytes_.emplace(file.name(), bytes);
    if (!inserted) {
      if (it->second == bytes) continue;  // the same file twice: fine
      return absl::InvalidArgumentError(absl::StrCat(
          "redefines ", file.name(), " differently from an earlier set"));
    }
    CollectErrors errors;
    const FileDescriptor* built =
        pool_->BuildFileCollectingErrors(file, &errors);
    if (built == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.name(), " does not build: ", errors.errors,
                       " (was it made with protoc --include_imports?)"));
    }
    absl::Status routes = AddRoutes(built);
    if (!routes.ok()) return routes;
  }
  return absl::OkStatus();
}

absl::Status Router::AddRoutes(const FileDescriptor* file) {
  std::string service_name, version;
  const bool tencent =
      ParseTencentCloudPackage(file->package(), &service_name, &version);
  for (int s = 0; s < file->service_count(); ++s) {
    const auto* service = file->service(s);
    const bool untyped = service->full_name() == kJsonApiService;
    for (int m = 0; m < service->method_count(); ++m) {
      const auto* method = service->method(m);
      if (method->client_streaming() || method->server_streaming()) continue;
      MethodRoute route;
      if (tencent) {
        route.service = service_name;
        route.version = version;
      }
      route.action = method->name();
      Apply(
          service->options().GetExtension(envelope::gateway::v1::service_route),
          route);
      Apply(method->options().GetExtension(envelope::gateway::v1::method_route),
            route);
      route.untyped = untyped;
      if (!untyped && (route.service.empty() || route.version.empty())) {
        continue;  // neither a tencentcloud package nor route options
      }
      route.method = method;
      const std::string path =
          absl::StrCat("/", service->full_name(), "/", method->name());
      if (absl::Status bad = CheckRoute(route); !bad.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file->name(), ": ", path, ": ", bad.message()));
      }
      route.request_prototype = factory_->GetPrototype(method->input_type());
      route.response_prototype = factory_->GetPrototype(method->output_type());
      routes_[path] = std::move(route);
    }
  }
  return absl::OkStatus();
}

absl::Status Router::CheckRoute(const MethodRoute& route) const {
  if (!route.endpoint.empty()) {
    if (absl::Status bad = ValidateEndpoint(route.endpoint); !bad.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "route endpoint \"", route.endpoint, "\" ", bad.message()));
    }
    if (!options_.allow_plain_http_endpoints &&
        !absl::StartsWith(route.endpoint, "https://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "route endpoint \"", route.endpoint,
          "\" is plain http, allowed only with --allow-plain-http-routes"));
    }
  }
  if (route.untyped) return absl::OkStatus();  // names come with each call
  if (!IsPlainName(route.service, /*dash=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "route service \"", route.service, "\" is not a plain name"));
  }
  if (!IsApiVersion(route.version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "route version \"", route.version, "\" is not YYYY-MM-DD"));
  }
  if (!IsPlainName(route.action, /*dash=*/false)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "route action \"", route.action, "\" is not a plain name"));
  }
  return absl::OkStatus();
}

const MethodRoute* Router::Find(absl::string_view path) const {
  auto it = routes_.find(path);
  return it == routes_.end() ? nullptr : &it->second;
}

std::vector<std::string> Router::ServiceNames() const {
  std::vector<std::string> names;
  for (const auto& [path, route] : routes_) {
    names.push_back(route.method->service()->full_name());
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace envelope
