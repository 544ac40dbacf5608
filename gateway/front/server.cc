#include "gateway/front/server.h"

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/front/call_reactor.h"
#include "gateway/front/reflection.h"

namespace envelope {

class GatewayServer::Service : public grpc::CallbackGenericService {
 public:
  explicit Service(FrontState* state) : state_(state) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return NewCallReactor(context, state_);
  }

 private:
  FrontState* state_;
};

namespace {

void SetChannelArguments(const ServerOptions& options,
                         grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_request_bytes));
  // Ping idle clients now and then so a dead peer is noticed; let clients
  // ping us as often as every 10 s, even without calls (a sidecar's app keeps
  // its channel warm).
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  // Each open stream costs memory and a reactor; bound what one connection
  // can hold. A client that opens more than it was told has its connection
  // closed by gRPC.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    const ServerOptions& options, const Router* router, Dispatcher* dispatcher,
    CallObserver* observer) {
  std::unique_ptr<GatewayServer> server(new GatewayServer());
  server->state_ = std::make_unique<FrontState>();
  server->state_->dispatcher = dispatcher;
  server->state_->observer = observer;
  server->state_->max_in_flight = options.max_in_flight;
  server->state_->request_timeout = options.request_timeout;
  server->state_->tracing = options.tracing;
  // Room for bursts of callers whose message is on its way; a bound on what
  // callers that send nothing can make the gateway hold.
  server->state_->max_waiting = 4 * static_cast<size_t>(options.max_in_flight);
  server->service_ = std::make_unique<Service>(server->state_.get());
  server->services_ = router->ServiceNames();
  // Reflection lists the health service enabled below too: its file is
  // bundled (proto/grpc/health/v1), so reflection-only clients can call it.
  std::vector<std::string> listed = server->services_;
  listed.push_back("grpc.health.v1.Health");
  server->reflection_ =
      std::make_unique<ReflectionServices>(&router->pool(), std::move(listed));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  for (grpc::Service* service : server->reflection_->services()) {
    builder.RegisterService(service);
  }
  server->ports_.resize(options.listen.size());
  for (size_t i = 0; i < options.listen.size(); ++i) {
    builder.AddListeningPort(options.listen[i],
                             grpc::InsecureServerCredentials(),
                             &server->ports_[i]);
  }
  builder.RegisterCallbackGenericService(server->service_.get());
  SetChannelArguments(options, builder);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", absl::StrJoin(options.listen, ", "),
                     " (address in use or not valid?)"));
  }
  for (size_t i = 0; i < options.listen.size(); ++i) {
    bool unix_socket = options.listen[i].rfind("unix:", 0) == 0;
    if (!unix_socket && server->ports_[i] == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.listen[i]));
    }
  }
  if (options.request_timeout > absl::ZeroDuration()) {
    FrontState* state = server->state_.get();
    server->request_timer_ = std::thread([state] { state->RunTimer(); });
  }
  server->SetHealth(true);
  return server;
}

void GatewayServer::SetServing(bool serving) {
  SetHealth(serving && !state_->draining.load());
}

void GatewayServer::SetHealth(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(serving);  // "" and every registered name
  for (const std::string& name : services_) {
    health->SetServingStatus(name, serving);
  }
}

GatewayServer::~GatewayServer() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
  // After the server: its calls are all done, none is left to time out.
  if (request_timer_.joinable()) {
    state_->StopTimer();
    request_timer_.join();
  }
}

void GatewayServer::StartDraining() {
  state_->draining.store(true);
  SetHealth(false);
  // Calls that have not sent their request message hold no upstream work:
  // end them now rather than let them wait out the grace.
  state_->AbortWaiting(kShuttingDownMessage);
}

int GatewayServer::in_flight() const { return state_->in_flight.load(); }

bool GatewayServer::draining() const { return state_->draining.load(); }

void GatewayServer::AbortInFlight() {
  state_->AbortAll("the gateway is shutting down and its grace period is over");
}

void GatewayServer::Shutdown(absl::Duration grace) {
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void GatewayServer::Wait() { server_->Wait(); }

}  // namespace envelope
