#include "gateway/route/router.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "envelope/gateway/v1/options.pb.h"
#include "gateway/route/api_names.h"
#include "gateway/route/product_parts.h"
#include "gateway/transcode/multipart.h"
#include "gateway/upstream/upstream.h"
#include "google/protobuf/descriptor.pb.h"

namespace envelope {
namespace {

using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::FileDescriptorSet;

constexpr absl::string_view kJsonApiService = "envelope.gateway.v1.JsonApi";

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

// Errors of the pool's builds; the pool reports them under its own lock.
class Router::PoolErrors
    : public google::protobuf::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message*, ErrorLocation,
                const std::string& message) override {
    absl::MutexLock lock(&mutex_);
    if (!errors_.empty()) errors_.append("; ");
    absl::StrAppend(&errors_, filename, ": ", element_name, ": ", message);
  }
  std::string Take() {
    absl::MutexLock lock(&mutex_);
    return std::exchange(errors_, "");
  }

 private:
  absl::Mutex mutex_;
  std::string errors_;
};

Router::Router(const Options& options) : options_(options) {}

Router::~Router() = default;

absl::StatusOr<std::unique_ptr<Router>> Router::Create(
    const std::vector<DescriptorSet>& descriptor_sets, const Options& options) {
  std::unique_ptr<Router> router(new Router(options));
  if (descriptor_sets.empty() || descriptor_sets[0].encoded == nullptr) {
    absl::StatusOr<EncodedFiles> files = EncodedFiles::FromSet(
        descriptor_sets.empty() ? "" : descriptor_sets[0].bytes);
    if (!files.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "descriptor set ", descriptor_sets[0].name,
          " is not a serialized google.protobuf.FileDescriptorSet"));
    }
    router->owned_first_ = std::make_unique<EncodedFiles>(*std::move(files));
    router->first_ = router->owned_first_.get();
  } else {
    router->first_ = descriptor_sets[0].encoded;
  }
  router->errors_ = std::make_unique<PoolErrors>();
  router->database_ = std::make_unique<LayeredDatabase>(router->first_);
  router->pool_ = std::make_unique<google::protobuf::DescriptorPool>(
      router->database_.get(), router->errors_.get());
  router->factory_ = std::make_unique<google::protobuf::DynamicMessageFactory>(
      router->pool_.get());
  if (absl::Status status = router->AddLaterSets(descriptor_sets);
      !status.ok()) {
    return status;
  }
  // The first set's files that are not built lazily, then the later sets'.
  const std::string first_name =
      descriptor_sets.empty() ? "bundled" : descriptor_sets[0].name;
  absl::flat_hash_set<std::string> hidden;
  for (const auto& [set, name] : router->later_order_) hidden.insert(name);
  for (const EncodedFiles::File& file : router->first_->files()) {
    if (file.lazy || hidden.contains(file.name)) continue;
    if (absl::Status status = router->BuildEager(first_name, file.name);
        !status.ok()) {
      return status;
    }
  }
  for (const auto& [set, name] : router->later_order_) {
    if (absl::Status status = router->BuildEager(set, name); !status.ok()) {
      return status;
    }
  }
  absl::flat_hash_set<std::string> eager_services;
  for (const std::string& service : router->ServiceNames()) {
    eager_services.insert(service);  // no lazy file is listed yet
  }
  for (const EncodedFiles::File& file : router->first_->files()) {
    if (!file.lazy || hidden.contains(file.name)) continue;
    auto lazy = std::make_unique<LazyFile>();
    lazy->file = &file;
    for (const std::string& service : file.services) {
      if (!eager_services.contains(service)) {
        router->lazy_services_[service] = lazy.get();
      }
    }
    router->lazy_files_.push_back(std::move(lazy));
  }
  return router;
}

// Which copy of a file serves, when sets share it: the first set's, except
// for a product file a later set replaces. A later set's copy of another
// first-set file is left out even when it differs (a company set made with
// an older options.proto, or another protoc's descriptor.proto): its own
// files build against the first set's copy, or say why not.
absl::Status Router::AddLaterSets(
    const std::vector<DescriptorSet>& descriptor_sets) {
  std::vector<FileDescriptorSet> sets(descriptor_sets.size());
  for (size_t i = 1; i < sets.size(); ++i) {
    if (!sets[i].ParseFromString(descriptor_sets[i].bytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "descriptor set ", descriptor_sets[i].name,
          " is not a serialized google.protobuf.FileDescriptorSet"));
    }
  }
  // The first set's copy of a file, parsed and serialized the way a later
  // set's is, so that equal files compare equal.
  absl::flat_hash_map<std::string, std::pair<FileDescriptorProto, std::string>>
      first_copies;
  auto first_copy = [&](const EncodedFiles::File& file)
      -> const std::pair<FileDescriptorProto, std::string>& {
    auto [it, inserted] = first_copies.try_emplace(file.name);
    if (inserted) {
      it->second.first.ParseFromArray(file.bytes.data(),
                                      static_cast<int>(file.bytes.size()));
      it->second.second = it->second.first.SerializeAsString();
    }
    return it->second;
  };
  // A later set's version of a bundled product file replaces it.
  absl::flat_hash_map<std::string, std::string> replacements;
  for (size_t i = 1; i < sets.size(); ++i) {
    for (const FileDescriptorProto& file : sets[i].file()) {
      const EncodedFiles::File* first = first_->FindByName(file.name());
      if (first == nullptr ||
          !absl::StartsWith(first->package, "tencentcloud.") ||
          replacements.contains(file.name())) {
        continue;
      }
      const auto& [bundled, bundled_bytes] = first_copy(*first);
      std::string bytes = file.SerializeAsString();
      if (bytes == bundled_bytes) continue;
      absl::Status status = CheckReplacement(bundled, file);
      if (!status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("descriptor set ", descriptor_sets[i].name, ": ",
                         file.name(), ": ", status.message()));
      }
      replacements[file.name()] = std::move(bytes);
      database_->Hide(file.name());
      load_notes_.push_back(
          absl::StrCat(file.name(), " replaced by ", descriptor_sets[i].name));
    }
  }
  for (size_t i = 1; i < sets.size(); ++i) {
    const std::string& set_name = descriptor_sets[i].name;
    for (const FileDescriptorProto& file : sets[i].file()) {
      std::string bytes = file.SerializeAsString();
      auto replacement = replacements.find(file.name());
      if (const EncodedFiles::File* first = first_->FindByName(file.name())) {
        if (replacement == replacements.end()) {
          if (bytes != first_copy(*first).second) {
            load_notes_.push_back(absl::StrCat(set_name, "'s copy of ",
                                               file.name(),
                                               " differs; the bundled one "
                                               "serves"));
          }
          continue;
        }
        if (bytes != replacement->second) continue;  // copies of the bundled
      }
      auto [it, inserted] = file_bytes_.emplace(file.name(), bytes);
      if (!inserted) {
        if (it->second == bytes) continue;  // the same file twice: fine
        return absl::InvalidArgumentError(
            absl::StrCat("descriptor set ", set_name, ": redefines ",
                         file.name(), " differently from an earlier set"));
      }
      // A bundled product's package in a file of another name would clash
      // with the bundled file when that is built on first use.
      const EncodedFiles::File* lazy = first_->FindLazyBySymbol(file.package());
      if (lazy != nullptr && lazy->package == file.package() &&
          lazy->name != file.name()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "descriptor set ", set_name, ": ", file.name(), " defines package ",
            file.package(), " of the bundled ", lazy->name,
            "; a newer version of it must have that file name to replace it"));
      }
      database_->AddLater(file);
      later_order_.emplace_back(set_name, file.name());
    }
  }
  return absl::OkStatus();
}

absl::Status Router::BuildEager(const std::string& set_name,
                                const std::string& name) {
  const FileDescriptor* built = pool_->FindFileByName(name);
  if (built == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "descriptor set ", set_name, ": ", name, " does not build: ",
        errors_->Take(), " (was it made with protoc --include_imports?)"));
  }
  FileDescriptorProto proto;
  built->CopyTo(&proto);
  Routes routes;
  absl::Status status = AddRoutes(proto, routes);
  for (auto& [path, route] : routes) {
    if (!status.ok()) break;
    status = MakePrototypes(route);
  }
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("descriptor set ", set_name, ": ", status.message()));
  }
  for (auto& [path, route] : routes) routes_[path] = std::move(route);
  return absl::OkStatus();
}

// Only the services are read: each route builds what it reaches on its own
// first Find.
void Router::RouteLazy(LazyFile& lazy) const {
  std::string services;
  FileDescriptorProto proto;
  if (!ProductParts::ServicesOnly(lazy.file->bytes, &services) ||
      !proto.ParseFromString(services)) {
    lazy.status =
        absl::InternalError(absl::StrCat(lazy.file->name, " does not parse"));
    return;
  }
  Routes routes;
  lazy.status = AddRoutes(proto, routes);
  if (!lazy.status.ok()) return;
  for (auto& [path, route] : routes) {
    auto& slot = lazy.routes[path];
    slot = std::make_unique<LazyRoute>();
    slot->route = std::move(route);
  }
}

Router::LazyFile& Router::Routed(LazyFile& lazy) const {
  absl::call_once(lazy.once, [this, &lazy] { RouteLazy(lazy); });
  return lazy;
}

const MethodRoute* Router::Prototyped(LazyRoute& lazy_route) const {
  absl::call_once(lazy_route.prototypes, [this, &lazy_route] {
    lazy_route.status = MakePrototypes(lazy_route.route);
  });
  return lazy_route.status.ok() ? &lazy_route.route : nullptr;
}

absl::Status Router::BuildAll() const {
  for (const auto& lazy : lazy_files_) {
    if (absl::Status status = Routed(*lazy).status; !status.ok()) {
      return status;
    }
    if (pool_->FindFileByName(lazy->file->name) == nullptr) {
      return absl::InternalError(
          absl::StrCat(lazy->file->name, " does not build: ", errors_->Take()));
    }
    for (auto& [path, lazy_route] : lazy->routes) {
      if (Prototyped(*lazy_route) == nullptr) return lazy_route->status;
    }
  }
  return absl::OkStatus();
}

absl::Status Router::MakePrototypes(MethodRoute& route) const {
  const auto* request = pool_->FindMessageTypeByName(route.request_type);
  const auto* response = pool_->FindMessageTypeByName(route.response_type);
  if (request == nullptr || response == nullptr) {
    return absl::InternalError(absl::StrCat(
        route.path, ": ",
        request == nullptr ? route.request_type : route.response_type,
        " does not build: ", errors_->Take()));
  }
  route.request_prototype = factory_->GetPrototype(request);
  route.response_prototype = factory_->GetPrototype(response);
  route.multipart = !route.untyped && TakesMultipart(*request);
  return absl::OkStatus();
}

absl::Status Router::AddRoutes(const FileDescriptorProto& file,
                               Routes& routes) const {
  std::string service_name, version;
  const bool tencent =
      ParseTencentCloudPackage(file.package(), &service_name, &version);
  for (const auto& service : file.service()) {
    const std::string service_full_name =
        file.package().empty()
            ? service.name()
            : absl::StrCat(file.package(), ".", service.name());
    const bool untyped = service_full_name == kJsonApiService;
    for (const auto& method : service.method()) {
      if (method.client_streaming() || method.server_streaming()) continue;
      MethodRoute route;
      if (tencent) {
        route.service = service_name;
        route.version = version;
      }
      route.action = method.name();
      Apply(
          service.options().GetExtension(envelope::gateway::v1::service_route),
          route);
      Apply(method.options().GetExtension(envelope::gateway::v1::method_route),
            route);
      route.untyped = untyped;
      route.path = absl::StrCat("/", service_full_name, "/", method.name());
      if (!untyped && (route.service.empty() || route.version.empty())) {
        // Neither a tencentcloud package nor route options: not routed. Route
        // options that leave one out are a mistake, not a choice.
        if (service.options().HasExtension(
                envelope::gateway::v1::service_route) ||
            method.options().HasExtension(
                envelope::gateway::v1::method_route)) {
          return absl::InvalidArgumentError(absl::StrCat(
              file.name(), ": ", route.path,
              ": route options need both a service and a version"));
        }
        continue;
      }
      // protoc writes full names with a leading dot.
      route.request_type =
          std::string(absl::StripPrefix(method.input_type(), "."));
      route.response_type =
          std::string(absl::StripPrefix(method.output_type(), "."));
      if (absl::Status bad = CheckRoute(route); !bad.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file.name(), ": ", route.path, ": ", bad.message()));
      }
      std::string path = route.path;
      routes[path] = std::move(route);
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
  if (auto it = routes_.find(path); it != routes_.end()) return &it->second;
  // "/tencentcloud.cbs.v20170312.Cbs/DescribeDisks"
  const size_t slash = path.rfind('/');
  if (path.size() < 2 || path[0] != '/' || slash == 0 ||
      slash == absl::string_view::npos) {
    return nullptr;
  }
  auto lazy = lazy_services_.find(path.substr(1, slash - 1));
  if (lazy == lazy_services_.end()) return nullptr;
  auto& routes = Routed(*lazy->second).routes;
  auto it = routes.find(path);
  return it == routes.end() ? nullptr : Prototyped(*it->second);
}

std::vector<std::string> Router::ServiceNames() const {
  std::vector<std::string> names;
  for (const auto& [path, route] : routes_) {
    names.push_back(std::string(absl::string_view(path).substr(
        1, path.rfind('/') - 1)));  // "/pkg.Service/Method"
  }
  for (const auto& [service, lazy] : lazy_services_) names.push_back(service);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace envelope
