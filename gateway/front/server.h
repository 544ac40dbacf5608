#ifndef GATEWAY_FRONT_SERVER_H_
#define GATEWAY_FRONT_SERVER_H_

#include <memory>
#include <string>
#include <thread>
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
  // Calls in flight at most; beyond, UNAVAILABLE (docs/errors.md, "Status
  // codes"). A call counts from the arrival of its request message to its end.
  int max_in_flight = 1000;
  // Streams one connection may have open at once (HTTP/2
  // SETTINGS_MAX_CONCURRENT_STREAMS): one caller cannot hold an unbounded
  // share of the gateway. Well-behaved clients queue calls beyond it.
  int max_concurrent_streams = 100;
  // How long a call may take to deliver its request message after its
  // headers; then DEADLINE_EXCEEDED. Zero: no bound.
  absl::Duration request_timeout = absl::Seconds(10);
  absl::Duration keepalive_time = absl::Minutes(5);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Spans are exported (an observer turns CallRecords into spans): new
  // traces are sampled and sampled calls record their upstream attempts.
  // Off, a call still has its trace context: read, logged and forwarded.
  bool tracing = false;
};

// One finished call, for the access log and the metrics.
struct CallRecord {
  std::string method;
  const GrpcResult* result = nullptr;  // code, codes, RequestId, attempts, ...
  absl::Duration latency;
  size_t bytes_in = 0;
  size_t bytes_out = 0;
  // Who called, as gRPC and the caller's metadata say.
  std::string peer;          // "ipv4:127.0.0.1:41234", "unix:/run/gw.sock"
  std::string user_agent;    // user-agent metadata
  std::string x_request_id;  // the caller's own x-request-id, if it sent one
  // The call's trace: the caller's traceparent or a new trace, and the
  // gateway's span of the call (docs/operations.md, "Traces").
  const trace::CallTrace* trace = nullptr;
  absl::Time start;  // when the call began (its span's start)
};

// Told about every call as it ends, on whatever thread ends it: keep it
// short and thread-safe.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void OnCallStart() {}
  virtual void OnCallEnd(const CallRecord& record) = 0;
};

class ReflectionServices;
struct FrontState;

// The gRPC front: one callback generic service that hands every call to the
// dispatcher, without a thread per call and without blocking; the standard
// health service; server reflection.

class GatewayServer {
 public:
  // Serves every route of `router` through `dispatcher`, and server
  // reflection over the router's descriptors. Both must outlive the server.
  // `observer` may be null.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(
      const ServerOptions& options, const Router* router,
      Dispatcher* dispatcher, CallObserver* observer);
  ~GatewayServer();

  // The TCP port of each listen address (0 for unix sockets).
  const std::vector<int>& ports() const { return ports_; }

  // Drain, first step: health turns NOT_SERVING and new calls get
  // UNAVAILABLE at once; calls in flight go on.
  void StartDraining();
  int in_flight() const;
  bool draining() const;
  // Drain, last step: ends every call still in flight with UNAVAILABLE.
  void AbortInFlight();

  // grpc.health.v1 for "" and every routed service: SERVING or NOT_SERVING
  // (e.g. while there are no usable credentials). Draining stays
  // NOT_SERVING whatever this says.
  void SetServing(bool serving);

  // Stops the server; calls still running get until `grace` to finish, then
  // are cancelled (their callers see UNAVAILABLE or CANCELLED).
  void Shutdown(absl::Duration grace);
  void Wait();

 private:
  class Service;
  GatewayServer() = default;
  void SetHealth(bool serving);

  std::unique_ptr<FrontState> state_;
  std::vector<std::string> services_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ReflectionServices> reflection_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;
  std::thread request_timer_;  // FrontState::RunTimer
};

}  // namespace envelope

#endif  // GATEWAY_FRONT_SERVER_H_
