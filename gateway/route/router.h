#ifndef GATEWAY_ROUTE_ROUTER_H_
#define GATEWAY_ROUTE_ROUTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/route/encoded_files.h"
#include "gateway/route/layered_database.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"

namespace envelope {

// Where one gRPC method goes (docs/configuration.md, "Routing").
struct MethodRoute {
  std::string service;   // "cvm"
  std::string version;   // "2017-03-12"
  std::string action;    // "DescribeInstances"
  std::string endpoint;  // from the custom options; empty: the gateway's
  // ErrorInfo.domain from the custom options; empty: the gateway's.
  std::string error_domain;
  std::string path;  // "/tencentcloud.cvm.v20170312.Cvm/DescribeZones"
  // Full names of the input and output messages.
  std::string request_type;
  std::string response_type;
  // Prototypes of the input and output messages (dynamic messages).
  const google::protobuf::Message* request_prototype = nullptr;
  const google::protobuf::Message* response_prototype = nullptr;
  // envelope.gateway.v1.JsonApi/Call: service, version and action per call.
  bool untyped = false;
  // Sent as multipart/form-data: the request has `binary` members
  // (gateway/transcode/multipart.h).
  bool multipart = false;
};

// Maps gRPC method paths ("/pkg.Service/Method") to routes, from descriptors:
// the bundled set and any set loaded at start-up. The first set's product
// files (tencentcloud.*, one per package) are built on first use: the first
// Find of a product reads its services, and the first Find of a path builds
// the descriptors its request and response reach, each once, under
// once-flags; later calls read them without a lock (docs/design.md,
// "Descriptors"). Thread-safe.
class Router {
 public:
  // `descriptor_sets`: serialized FileDescriptorSets, bundled one first. A set
  // that does not parse, does not build, or redefines a file differently is
  // an error naming the set, with two exceptions. A later set may replace a
  // product file of the first (package tencentcloud.*) with a version that
  // keeps its package and methods, so a newer API version needs no rebuild.
  // A later set's differing copy of any other file of the first set (an
  // older options.proto) is left out: the first set's copy serves.
  // load_notes() says where either happened.
  struct DescriptorSet {
    std::string name;   // for messages: "bundled" or the file path
    std::string bytes;  // serialized google.protobuf.FileDescriptorSet
    // Instead of `bytes`, for the first set only: its files, kept encoded
    // (BundledFiles()); must outlive the router.
    const EncodedFiles* encoded = nullptr;
  };
  struct Options {
    // Route options may name plain http:// endpoints (else https:// only).
    bool allow_plain_http_endpoints = false;
  };
  // A route whose options name an endpoint the gateway cannot call, a
  // version that is not YYYY-MM-DD, or a service or action that is not a
  // plain name is an error naming the set and the method: the gateway does
  // not start with a route that could only fail.
  static absl::StatusOr<std::unique_ptr<Router>> Create(
      const std::vector<DescriptorSet>& descriptor_sets,
      const Options& options);
  static absl::StatusOr<std::unique_ptr<Router>> Create(
      const std::vector<DescriptorSet>& descriptor_sets) {
    return Create(descriptor_sets, Options());
  }

  ~Router();

  // nullptr when no route has that path. The first call to a path builds
  // what its messages reach (a few milliseconds at most).
  const MethodRoute* Find(absl::string_view path) const;

  // Full names of the routed services, sorted; builds nothing.
  std::vector<std::string> ServiceNames() const;

  // Builds every product file not built yet and every route's messages,
  // and says which did not build or route. For tests and tools; the
  // gateway builds on first use.
  // Example: ASSERT_TRUE(router->BuildAll().ok());
  absl::Status BuildAll() const;
  const google::protobuf::DescriptorPool& pool() const { return *pool_; }

  // "tencentcloud/cvm/v20170312/cvm.proto replaced by newer-cvm.pb", and
  // "acme.pb's copy of envelope/gateway/v1/options.proto differs; the
  // bundled one serves": one line for each.
  const std::vector<std::string>& load_notes() const { return load_notes_; }

 private:
  explicit Router(const Options& options);
  absl::Status AddLaterSets(const std::vector<DescriptorSet>& descriptor_sets);
  using Routes = absl::flat_hash_map<std::string, MethodRoute>;
  // The routes of a file's services; their prototypes are not made.
  absl::Status AddRoutes(const google::protobuf::FileDescriptorProto& file,
                         Routes& routes) const;
  // The route's message prototypes, building what they reach.
  absl::Status MakePrototypes(MethodRoute& route) const;
  absl::Status CheckRoute(const MethodRoute& route) const;
  absl::Status BuildEager(const std::string& set_name, const std::string& name);

  // A route of a lazy file: its prototypes are made on its first Find (a
  // product's file has hundreds of methods; a caller uses a few).
  struct LazyRoute {
    MethodRoute route;
    absl::once_flag prototypes;
    absl::Status status;  // why its messages did not build
  };
  // A first-set product file, routed on first use.
  struct LazyFile {
    const EncodedFiles::File* file = nullptr;
    absl::once_flag once;
    absl::Status status;  // why it did not route
    // By path; set once `once` ran.
    absl::flat_hash_map<std::string, std::unique_ptr<LazyRoute>> routes;
  };
  void RouteLazy(LazyFile& lazy) const;
  LazyFile& Routed(LazyFile& lazy) const;
  const MethodRoute* Prototyped(LazyRoute& lazy_route) const;

  class PoolErrors;

  Options options_;

  std::unique_ptr<EncodedFiles> owned_first_;  // when given as bytes
  const EncodedFiles* first_ = nullptr;
  std::unique_ptr<PoolErrors> errors_;
  std::unique_ptr<LayeredDatabase> database_;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  // Files of later sets that serve, in load order: (set name, file name).
  std::vector<std::pair<std::string, std::string>> later_order_;
  absl::flat_hash_map<std::string, std::string> file_bytes_;  // name -> proto
  Routes routes_;  // by path: the files built at start-up
  std::vector<std::unique_ptr<LazyFile>> lazy_files_;
  absl::flat_hash_map<std::string, LazyFile*> lazy_services_;  // by full name
  std::vector<std::string> load_notes_;
};

// "tencentcloud.cvm.v20170312" -> service "cvm", version "2017-03-12".
bool ParseTencentCloudPackage(absl::string_view package, std::string* service,
                              std::string* version);

}  // namespace envelope

#endif  // GATEWAY_ROUTE_ROUTER_H_
