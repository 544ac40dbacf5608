#ifndef GATEWAY_ROUTE_ROUTER_H_
#define GATEWAY_ROUTE_ROUTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"

namespace envelope {

// Where one gRPC method goes (SPEC §3).
struct MethodRoute {
  std::string service;   // "cvm"
  std::string version;   // "2017-03-12"
  std::string action;    // "DescribeInstances"
  std::string endpoint;  // from the custom options; empty: the gateway's
  // ErrorInfo.domain from the custom options; empty: the gateway's.
  std::string error_domain;
  const google::protobuf::MethodDescriptor* method = nullptr;
  // Prototypes of the input and output messages (dynamic messages).
  const google::protobuf::Message* request_prototype = nullptr;
  const google::protobuf::Message* response_prototype = nullptr;
  // envelope.gateway.v1.JsonApi/Call: service, version and action per call.
  bool untyped = false;
};

// Maps gRPC method paths ("/pkg.Service/Method") to routes, from descriptors:
// the bundled set and any set loaded at start-up.
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

  // nullptr when no route has that path.
  const MethodRoute* Find(absl::string_view path) const;

  // Full names of the routed services, sorted.
  std::vector<std::string> ServiceNames() const;
  const google::protobuf::DescriptorPool& pool() const { return *pool_; }

  // "tencentcloud/cvm/v20170312/cvm.proto replaced by newer-cvm.pb", and
  // "acme.pb's copy of envelope/gateway/v1/options.proto differs; the
  // bundled one serves": one line for each.
  const std::vector<std::string>& load_notes() const { return load_notes_; }

 private:
  explicit Router(const Options& options);
  // The first set's files by name, and the product files later sets replace
  // (name -> the replacement's bytes).
  struct Layers {
    struct File {
      const google::protobuf::FileDescriptorProto* proto;
      std::string bytes;
    };
    absl::flat_hash_map<std::string, File> first;
    absl::flat_hash_map<std::string, std::string> replacements;
  };
  bool Skip(const std::string& set_name,
            const google::protobuf::FileDescriptorProto& file,
            const std::string& bytes, bool first_set, const Layers& layers);
  absl::Status AddFiles(const std::string& set_name,
                        const google::protobuf::FileDescriptorSet& files,
                        bool first_set, const Layers& layers);
  absl::Status AddRoutes(const google::protobuf::FileDescriptor* file);
  absl::Status CheckRoute(const MethodRoute& route) const;

  Options options_;

  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  absl::flat_hash_map<std::string, std::string> file_bytes_;  // name -> proto
  absl::flat_hash_map<std::string, MethodRoute> routes_;      // by path
  std::vector<std::string> load_notes_;
};

// "tencentcloud.cvm.v20170312" -> service "cvm", version "2017-03-12".
bool ParseTencentCloudPackage(absl::string_view package, std::string* service,
                              std::string* version);

}  // namespace envelope

#endif  // GATEWAY_ROUTE_ROUTER_H_
