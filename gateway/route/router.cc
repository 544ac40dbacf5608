#include "gateway/route/router.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "envelope/gateway/v1/options.pb.h"
#include "gateway/route/api_names.h"
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

bool IsProduct(const FileDescriptorProto& file) {
  return absl::StartsWith(file.package(), "tencentcloud.");
}

// A later version of a bundled product file keeps its package and every
// method, so no client's method disappears behind its back.
absl::Status CheckReplacement(const FileDescriptorProto& bundled,
                              const FileDescriptorProto& later) {
  if (later.package() != bundled.package()) {
    return absl::InvalidArgumentError(
        absl::StrCat("replaces a bundled product but changes its package to \"",
                     later.package(), "\""));
  }
  for (const auto& service : bundled.service()) {
    for (const auto& method : service.method()) {
      bool kept = false;
      for (const auto& s : later.service()) {
        if (s.name() != service.name()) continue;
        for (const auto& m : s.method()) kept |= m.name() == method.name();
      }
      if (!kept) {
        return absl::InvalidArgumentError(absl::StrCat(
            "replaces a bundled product but drops /", bundled.package(), ".",
            service.name(), "/", method.name()));
      }
    }
  }
  return absl::OkStatus();
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
  std::vector<FileDescriptorSet> sets(descriptor_sets.size());
  for (size_t i = 0; i < sets.size(); ++i) {
    if (!sets[i].ParseFromString(descriptor_sets[i].bytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "descriptor set ", descriptor_sets[i].name,
          " is not a serialized google.protobuf.FileDescriptorSet"));
    }
  }
  Layers layers;
  if (!sets.empty()) {
    for (const FileDescriptorProto& file : sets[0].file()) {
      layers.first[file.name()] = {&file, file.SerializeAsString()};
    }
  }
  // A later set's version of a bundled product file replaces it.
  for (size_t i = 1; i < sets.size(); ++i) {
    for (const FileDescriptorProto& file : sets[i].file()) {
      auto first = layers.first.find(file.name());
      if (first == layers.first.end() || !IsProduct(*first->second.proto) ||
          layers.replacements.contains(file.name())) {
        continue;
      }
      std::string bytes = file.SerializeAsString();
      if (bytes == first->second.bytes) continue;
      absl::Status status = CheckReplacement(*first->second.proto, file);
      if (!status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("descriptor set ", descriptor_sets[i].name, ": ",
                         file.name(), ": ", status.message()));
      }
      layers.replacements[file.name()] = std::move(bytes);
      router->load_notes_.push_back(
          absl::StrCat(file.name(), " replaced by ", descriptor_sets[i].name));
    }
  }
  for (size_t i = 0; i < sets.size(); ++i) {
    absl::Status status =
        router->AddFiles(descriptor_sets[i].name, sets[i], i == 0, layers);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "descriptor set ", descriptor_sets[i].name, ": ", status.message()));
    }
  }
  return router;
}

// Which copy of a file serves, when sets share it: the first set's, except
// for a product file a later set replaces. A later set's copy of another
// first-set file is left out even when it differs (a company set made with
// an older options.proto, or another protoc's descriptor.proto): its own
// files build against the first set's copy, or say why not.
// `bytes` is `file` serialized.
bool Router::Skip(const std::string& set_name, const FileDescriptorProto& file,
                  const std::string& bytes, bool first_set,
                  const Layers& layers) {
  auto replacement = layers.replacements.find(file.name());
  if (first_set) return replacement != layers.replacements.end();
  auto first = layers.first.find(file.name());
  if (first == layers.first.end()) return false;
  if (replacement != layers.replacements.end()) {
    return bytes != replacement->second;  // copies of the bundled one too
  }
  if (bytes != first->second.bytes) {
    load_notes_.push_back(absl::StrCat(set_name, "'s copy of ", file.name(),
                                       " differs; the bundled one serves"));
  }
  return true;
}

absl::Status Router::AddFiles(const std::string& set_name,
                              const FileDescriptorSet& files, bool first_set,
                              const Layers& layers) {
  for (const FileDescriptorProto& file : files.file()) {
    std::string bytes = file.SerializeAsString();
    if (Skip(set_name, file, bytes, first_set, layers)) continue;
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
        // Neither a tencentcloud package nor route options: not routed. Route
        // options that leave one out are a mistake, not a choice.
        if (service->options().HasExtension(
                envelope::gateway::v1::service_route) ||
            method->options().HasExtension(
                envelope::gateway::v1::method_route)) {
          return absl::InvalidArgumentError(absl::StrCat(
              file->name(), ": /", service->full_name(), "/", method->name(),
              ": route options need both a service and a version"));
        }
        continue;
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
  absl::Status status = ValidateService(route.service);
  if (status.ok()) status = ValidateVersion(route.version);
  if (status.ok()) status = ValidateAction(route.action);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("route ", status.message()));
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
