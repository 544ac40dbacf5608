// envelope-gateway: gRPC in front, envelope-style JSON API behind.
#include <malloc.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/admin/server.h"
#include "gateway/config/config.h"
#include "gateway/credentials/chain.h"
#include "gateway/fleet_limit/fleet_limit.h"
#include "gateway/front/server.h"
#include "gateway/main/access_log.h"
#include "gateway/main/call_spans.h"
#include "gateway/main/diagnostics.h"
#include "gateway/main/gateway_metrics.h"
#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/dispatcher.h"
#include "gateway/route/rate_limiter.h"
#include "gateway/route/region_breaker.h"
#include "gateway/route/router.h"
#include "gateway/upstream/upstream.h"
#include "gateway/version/version.h"

namespace envelope {
namespace {

constexpr int kConfigError = 2;

[[noreturn]] void ConfigError(absl::string_view message) {
  std::cerr << "envelope-gateway: " << message << std::endl;
  std::exit(kConfigError);
}

absl::StatusOr<std::vector<Router::DescriptorSet>> DescriptorSets(
    const GatewayConfig& config) {
  std::vector<Router::DescriptorSet> sets;
  sets.push_back({"bundled", "", &BundledFiles()});
  for (const std::string& path : config.descriptor_sets) {
    absl::StatusOr<std::string> bytes = ReadConfiguredFile(path);
    if (!bytes.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor_set: ", bytes.status().message()));
    }
    sets.push_back({path, *std::move(bytes)});
  }
  return sets;
}

absl::StatusOr<std::unique_ptr<Router>> LoadRouter(
    const GatewayConfig& config) {
  absl::StatusOr<std::vector<Router::DescriptorSet>> sets =
      DescriptorSets(config);
  if (!sets.ok()) return sets.status();
  absl::StatusOr<std::unique_ptr<Router>> router = Router::Create(
      *sets, {.allow_plain_http_endpoints = config.allow_plain_http_routes});
  if (!router.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("descriptor_set: ", router.status().message()));
  }
  return router;
}

std::shared_ptr<const CredentialSource> LoadCredentials(GatewayConfig& config,
                                                        Diagnostics& log) {
  config.credentials.log = [&log](const std::string& line) {
    log.Warning(absl::StrCat("credentials ", line));
  };
  absl::StatusOr<std::unique_ptr<CredentialSource>> chain =
      MakeCredentialChain(config.credentials);
  if (!chain.ok()) {
    ConfigError(absl::StrCat("credentials: ", chain.status().message()));
  }
  CredentialState state = CheckCredentials(**chain);
  if (state.ready) {
    log.Info(absl::StrCat("credentials from ", state.source));
  } else {
    // Not fatal: a Secret may be mounted or a metadata service come up
    // later. Calls get UNAVAILABLE meanwhile and readiness is false.
    log.Warning(absl::StrCat("no usable credentials yet: ", state.message));
  }
  return *std::move(chain);
}

// Access log, metrics and spans: told of every call.
class Observer : public CallObserver {
 public:
  Observer(bool access_log, GatewayMetrics* metrics, trace::OtlpExporter* spans)
      : log_(access_log ? std::make_unique<AccessLog>(stdout) : nullptr),
        metrics_(metrics),
        spans_(spans) {}
  void OnCallEnd(const CallRecord& record) override {
    metrics_->Record(record);
    if (log_ != nullptr) log_->Write(record);
    // Only queued: the exporter's thread sends them (docs/operations.md,
    // "Traces").
    if (spans_ != nullptr) {
      std::vector<trace::Span> spans = CallSpans(record);
      if (!spans.empty()) spans_->Add(std::move(spans));
    }
  }

 private:
  std::unique_ptr<AccessLog> log_;  // null: no access log
  GatewayMetrics* metrics_;
  trace::OtlpExporter* spans_;  // null: no spans
};

// Why the gateway is not ready, or empty when it is (docs/operations.md,
// "Probes": listening, descriptors loaded, credentials usable; not draining).
std::string NotReadyReason(const GatewayServer* server,
                           const CredentialSource* credentials) {
  if (server == nullptr) return "starting";
  if (server->draining()) return "draining";
  if (credentials != nullptr) {
    CredentialState state = CheckCredentials(*credentials);
    if (!state.ready) {
      return absl::StrCat("no usable credentials: ", state.message);
    }
  }
  return "";
}

// Keeps grpc.health.v1 in step with readiness: credentials can appear (a
// Secret mounted late) or expire at any time.
class HealthFollower {
 public:
  HealthFollower(GatewayServer* server, const CredentialSource* credentials)
      : server_(server), credentials_(credentials) {
    Update();
    thread_ = std::thread([this] { Run(); });
  }
  ~HealthFollower() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

 private:
  void Update() {
    bool ready = NotReadyReason(server_, credentials_).empty();
    if (ready != serving_) server_->SetServing(ready);
    serving_ = ready;
  }
  void Run() {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Seconds(1))) {
      Update();
    }
  }

  GatewayServer* server_;
  const CredentialSource* credentials_;
  bool serving_ = true;  // the server starts SERVING
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Kubernetes probes and Prometheus, on the admin address (docs/operations.md).
std::map<std::string, AdminHandler> AdminRoutes(
    const std::atomic<const GatewayServer*>* server,
    const CredentialSource* credentials, const GatewayMetrics* metrics) {
  std::map<std::string, AdminHandler> routes;
  routes["/healthz"] = [] { return AdminResponse{200, "text/plain", "ok\n"}; };
  routes["/readyz"] = [server, credentials] {
    std::string reason = NotReadyReason(server->load(), credentials);
    if (!reason.empty()) {
      return AdminResponse{503, "text/plain",
                           absl::StrCat("not ready: ", reason, "\n")};
    }
    return AdminResponse{200, "text/plain", "ready\n"};
  };
  routes["/metrics"] = [metrics] {
    absl::StatusOr<std::string> text = metrics->Render();
    if (!text.ok()) {
      return AdminResponse{500, "text/plain",
                           absl::StrCat(text.status().message(), "\n")};
    }
    return AdminResponse{200, std::string(metrics::kTextFormatContentType),
                         *std::move(text)};
  };
  return routes;
}

void BlockStopSignals() {
  // Before any thread starts, so that every thread inherits the mask and
  // only the main thread's sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

// Waits for a stop signal, up to `timeout`; true when one came.
bool WaitForSignal(absl::Duration timeout) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  timespec wait = absl::ToTimespec(timeout);
  return sigtimedwait(&signals, nullptr,
                      timeout == absl::InfiniteDuration() ? nullptr : &wait) >
         0;
}

// SIGTERM: stop admitting calls (health and readiness go false at once), let
// the calls in flight finish within the grace period, then cancel the rest.
// A second signal cuts the grace short.
void Drain(GatewayServer& server, absl::Duration grace, Diagnostics& log) {
  server.StartDraining();
  log.Info(absl::StrCat("draining: ", server.in_flight(),
                        " calls in flight, grace ",
                        absl::FormatDuration(grace)));
  const absl::Time end = absl::Now() + grace;
  while (server.in_flight() > 0 && absl::Now() < end) {
    if (WaitForSignal(std::min(absl::Milliseconds(50), end - absl::Now()))) {
      log.Warning("second signal: cancelling the calls left");
      break;
    }
  }
  if (server.in_flight() > 0) {
    log.Warning(absl::StrCat("ending ", server.in_flight(),
                             " calls still in flight with UNAVAILABLE"));
    server.AbortInFlight();
  }
  server.Shutdown(absl::ZeroDuration());
  server.Wait();
}

// The gates every upstream attempt passes (docs/operations.md, "Region
// breaker" and "Rate limits"); they outlive the dispatcher that asks them.
struct AttemptGates {
  std::unique_ptr<RegionBreaker> region_breaker;  // when enabled
  std::unique_ptr<LocalRateLimit> rate_limit;
  std::unique_ptr<FleetRateLimit> fleet_limit;  // with a rate limit service

  // The order they are asked in: a call the breaker fails fast takes no
  // slot; the fleet counts only attempts the local limiter lets go
  // (docs/operations.md, "Fleet-wide limits").
  std::vector<AttemptGate*> InOrder() const {
    std::vector<AttemptGate*> gates;
    if (region_breaker != nullptr) gates.push_back(region_breaker.get());
    gates.push_back(rate_limit.get());
    if (fleet_limit != nullptr) gates.push_back(fleet_limit.get());
    return gates;
  }
};

// Exits with a configuration error when one cannot be made.
AttemptGates MakeGates(const GatewayConfig& config, const Upstream* upstream,
                       Diagnostics& log) {
  AttemptGates gates;
  if (config.region_breaker.enabled) {
    absl::StatusOr<std::unique_ptr<RegionBreaker>> made = RegionBreaker::Create(
        config.region_breaker, [upstream](const ApiCall& call) {
          return upstream->EndpointUrl(call);
        });
    if (!made.ok()) {
      ConfigError(absl::StrCat("region_breaker: ", made.status().message()));
    }
    gates.region_breaker = *std::move(made);
  }
  absl::StatusOr<std::unique_ptr<LocalRateLimit>> rate_limit =
      LocalRateLimit::Create(config.rate_limit);
  if (!rate_limit.ok()) {
    ConfigError(absl::StrCat("rate_limit: ", rate_limit.status().message()));
  }
  gates.rate_limit = *std::move(rate_limit);
  if (!config.rate_limit_service.address.empty()) {
    absl::StatusOr<std::unique_ptr<FleetRateLimit>> made =
        FleetRateLimit::Create(config.rate_limit_service,
                               config.upstream.credentials);
    if (!made.ok()) {
      ConfigError(
          absl::StrCat("rate_limit_service: ", made.status().message()));
    }
    gates.fleet_limit = *std::move(made);
    log.Info(absl::StrCat("fleet-wide rate limits from ",
                          config.rate_limit_service.address, ", domain ",
                          config.rate_limit_service.domain));
  }
  return gates;
}

int Run(GatewayConfig config) {
  BlockStopSignals();
  Diagnostics log(config.log_level);
  RouteGrpcLogs(log);
  absl::StatusOr<std::unique_ptr<Router>> router = LoadRouter(config);
  if (!router.ok()) ConfigError(router.status().message());
  if (config.upstream.signing == Signing::kTc3) {
    config.upstream.credentials = LoadCredentials(config, log);
  }
  auto upstream = std::make_unique<Upstream>(config.upstream);
  const AttemptGates gates = MakeGates(config, upstream.get(), log);
  const std::unique_ptr<RegionBreaker>& region_breaker = gates.region_breaker;
  const std::unique_ptr<FleetRateLimit>& fleet_limit = gates.fleet_limit;
  Dispatcher dispatcher(router->get(), upstream.get(), config.dispatcher,
                        gates.InOrder());
  std::unique_ptr<trace::OtlpExporter> span_exporter;
  if (!config.otlp.endpoint.empty()) {
    config.otlp.service_version = kVersion;
    absl::StatusOr<std::unique_ptr<trace::OtlpExporter>> started =
        trace::OtlpExporter::Start(config.otlp);
    if (!started.ok()) {
      ConfigError(absl::StrCat("otlp_endpoint: \"", config.otlp.endpoint, "\" ",
                               started.status().message()));
    }
    span_exporter = *std::move(started);
    log.Info(absl::StrCat("spans to ", config.otlp.endpoint, "/v1/traces"));
  }
  // Set once the server runs; the metrics and probes read it.
  std::atomic<const GatewayServer*> running{nullptr};
  absl::StatusOr<std::unique_ptr<GatewayMetrics>> metrics =
      GatewayMetrics::Create(
          kVersion, {.routed =
                         [router = router->get()](absl::string_view method) {
                           return router->Find(method) != nullptr;
                         },
                     .in_flight =
                         [&running] {
                           const GatewayServer* server = running.load();
                           return server == nullptr ? 0 : server->in_flight();
                         },
                     .upstream = [&upstream] { return upstream->stats(); },
                     .credentials = config.upstream.credentials.get(),
                     .spans = span_exporter == nullptr
                                  ? std::function<std::pair<uint64_t,
                                                            uint64_t>()>()
                                  : [&span_exporter] {
                                      trace::OtlpExporter::Stats stats =
                                          span_exporter->stats();
                                      return std::make_pair(stats.exported,
                                                            stats.dropped);
                                    },
                     .rate_limits = [&gates] {
                       return gates.rate_limit->Samples();
                     },
                     .coalescing =
                         config.dispatcher.coalesced_actions.empty()
                             ? std::function<CoalescerStats()>()
                             : [&dispatcher] {
                                 return dispatcher.coalescing();
                               },
                     .region_breaker =
                         region_breaker == nullptr
                             ? std::function<
                                   std::vector<RegionBreakerSample>()>()
                             : [&region_breaker] {
                                 return region_breaker->Samples();
                               },
                     .fleet_limit =
                         fleet_limit == nullptr
                             ? std::function<FleetLimitCounts()>()
                             : [&fleet_limit] {
                                 return fleet_limit->counts();
                               }});
  if (!metrics.ok()) ConfigError(metrics.status().message());
  Observer observer(config.access_log, metrics->get(), span_exporter.get());

  ServerOptions server_options;
  server_options.listen = config.listen;
  server_options.max_request_bytes = config.max_request_bytes;
  server_options.max_in_flight = config.max_in_flight;
  server_options.max_concurrent_streams = config.max_concurrent_streams;
  server_options.request_timeout = config.request_message_timeout;
  server_options.keepalive_time = config.keepalive_time;
  server_options.keepalive_timeout = config.keepalive_timeout;
  server_options.tracing = span_exporter != nullptr;
  absl::StatusOr<std::unique_ptr<GatewayServer>> server = GatewayServer::Start(
      server_options, router->get(), &dispatcher, &observer);
  if (!server.ok()) {
    ConfigError(absl::StrCat("listen: ", server.status().message()));
  }
  running = server->get();
  auto health = std::make_unique<HealthFollower>(
      server->get(), config.upstream.credentials.get());
  std::unique_ptr<AdminServer> admin;
  if (!config.admin_listen.empty()) {
    AdminServerOptions admin_options;
    admin_options.log = [&log](absl::string_view text) {
      log.Warning(absl::StrCat("admin: ", text));
    };
    absl::StatusOr<std::unique_ptr<AdminServer>> started = AdminServer::Start(
        config.admin_listen,
        AdminRoutes(&running, config.upstream.credentials.get(),
                    metrics->get()),
        std::move(admin_options));
    if (!started.ok()) {
      ConfigError(absl::StrCat("admin_listen: ", started.status().message()));
    }
    admin = *std::move(started);
  }
  for (size_t i = 0; i < config.listen.size(); ++i) {
    std::string address = config.listen[i];
    // A unix socket has no port (gRPC reports 1); a TCP port 0 was chosen.
    const bool unix_socket = absl::StartsWith(address, "unix");  // -abstract
    if (!unix_socket && (*server)->ports()[i] != 0) {
      address = absl::StrCat(address.substr(0, address.rfind(':')), ":",
                             (*server)->ports()[i]);
    }
    // The first stdout line: tests and scripts read the address from it.
    std::cout << "envelope-gateway listening on " << address << std::endl;
  }
  if (admin != nullptr) {
    std::string address = config.admin_listen;
    if (admin->port() != 0) {
      address = absl::StrCat(address.substr(0, address.rfind(':')), ":",
                             admin->port());
    }
    log.Info(absl::StrCat("admin listening on ", address));
  }
  for (const std::string& note : (*router)->load_notes()) {
    log.Info(absl::StrCat("descriptor sets: ", note));
  }
  log.Info(absl::StrCat("routing ", (*router)->ServiceNames().size(),
                        " services, endpoint ",
                        config.upstream.endpoint_template));

  // sigtimedwait also returns (EINTR) when the process is stopped and
  // continued: only a real stop signal ends the wait.
  while (!WaitForSignal(absl::InfiniteDuration())) {
  }
  Drain(**server, config.shutdown_grace, log);
  health.reset();
  admin.reset();  // its handlers read `running`
  running = nullptr;
  server->reset();
  // Stop the upstream (its last answers come in as failures), then let the
  // dispatcher finish handling them, while both still exist.
  upstream->Shutdown();
  dispatcher.Shutdown();
  log.Info("stopped");
  return 0;
}

int CheckConfig(const GatewayConfig& config) {
  absl::StatusOr<std::unique_ptr<Router>> router = LoadRouter(config);
  if (!router.ok()) ConfigError(router.status().message());
  if (config.upstream.signing == Signing::kTc3) {
    absl::StatusOr<std::unique_ptr<CredentialSource>> chain =
        MakeCredentialChain(config.credentials);
    if (!chain.ok()) {
      ConfigError(absl::StrCat("credentials: ", chain.status().message()));
    }
  }
  if (!config.rate_limit_service.address.empty()) {
    absl::Status valid =
        ValidateRateLimitServiceAddress(config.rate_limit_service.address);
    if (!valid.ok()) {
      ConfigError(absl::StrCat("rate_limit_service: ", valid.message()));
    }
  }
  std::cout << "envelope-gateway: config OK" << std::endl;
  return 0;
}

}  // namespace
}  // namespace envelope

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves the Mutex deadlock
  // detector on: a lock-order graph updated on every lock, a few percent of
  // each call's CPU (docs/performance.md). The sanitizer build and the tests
  // keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // glibc's defaults serve blocks over 128 KB with mmap and give a thread
  // arena's free top back to the kernel at once: every large answer then
  // costs fresh pages, zeroed by page faults (a third of the CPU of a
  // 100 KB call). Blocks up to 1 MB come from the heap, and up to 4 MB free
  // per arena is kept (docs/performance.md).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  absl::StatusOr<envelope::Invocation> invocation =
      envelope::ParseInvocation(argc, argv);
  if (!invocation.ok()) envelope::ConfigError(invocation.status().message());
  switch (invocation->mode) {
    case envelope::Invocation::Mode::kHelp:
      std::cout << envelope::Usage();
      return 0;
    case envelope::Invocation::Mode::kVersion:
      std::cout << "envelope-gateway " << envelope::kVersion << std::endl;
      return 0;
    case envelope::Invocation::Mode::kCheckConfig:
      return envelope::CheckConfig(invocation->config);
    case envelope::Invocation::Mode::kRun:
      break;
  }
  return envelope::Run(std::move(invocation->config));
}
