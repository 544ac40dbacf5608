#ifndef GATEWAY_FRONT_REFLECTION_H_
#define GATEWAY_FRONT_REFLECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"

namespace envelope {

class ReflectionCatalog;

// gRPC server reflection (v1alpha and v1) over the gateway's own descriptor
// pool, so that grpcurl and other languages' reflection clients see every
// routed service, those loaded from descriptor sets at start-up included.
// gRPC's stock reflection plugin only knows the generated pool.
class ReflectionServices {
 public:
  // `pool` must outlive this; `services` are the names listed.
  ReflectionServices(const google::protobuf::DescriptorPool* pool,
                     std::vector<std::string> services);
  ~ReflectionServices();

  // The two services, to register with a ServerBuilder.
  std::vector<grpc::Service*> services();

 private:
  class V1Alpha;
  class V1;
  std::unique_ptr<ReflectionCatalog> catalog_;
  std::unique_ptr<V1Alpha> v1alpha_;
  std::unique_ptr<V1> v1_;
};

}  // namespace envelope

#endif  // GATEWAY_FRONT_REFLECTION_H_
