#ifndef GATEWAY_FRONT_SERVER_H_
#define GATEWAY_FRONT_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/route/dispatcher.h"
#include "gateway/route/router.h"

namespace grpc {
class Server;
}

namespace envelope {

struct ServerOptions {
  // gRPC listen addresses: "127.0.0.1:50051", "unix:/run/gw.sock".
  std::vector<std::string> listen = {"127.0.0.1:50051"};
  size_t max_request_bytes = 4 << 20;
};

// The gRPC front: one callback generic service that hands every call to the
// dispatcher, without a thread per call and without blocking.
class ReflectionServices;

class GatewayServer {
 public:
  // Serves every route of `router` through `dispatcher`, and server
  // reflection over the router's descriptors. Both must outlive the server.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(
      const ServerOptions& options, const Router* router,
      Dispatcher* dispatcher);
  ~GatewayServer();

  // The TCP port of each listen address (0 for unix sockets).
  const std::vector<int>& ports() const { return ports_; }

  // Stops accepting calls; calls still running get until `grace` to finish.
  void Shutdown(absl::Duration grace);
  void Wait();

 private:
  class Service;
  GatewayServer() = default;

  std::unique_ptr<Service> service_;
  std::unique_ptr<ReflectionServices> reflection_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;
};

}  // namespace envelope

#endif  // GATEWAY_FRONT_SERVER_H_
