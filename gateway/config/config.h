#ifndef GATEWAY_CONFIG_CONFIG_H_
#define GATEWAY_CONFIG_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/credentials/chain.h"
#include "gateway/fleet_limit/fleet_limit.h"
#include "gateway/route/dispatcher.h"
#include "gateway/route/rate_limiter.h"
#include "gateway/route/region_breaker.h"
#include "gateway/trace/otlp_exporter.h"
#include "gateway/upstream/upstream.h"

namespace envelope {

// Everything the gateway can be told. Every key is both a YAML key of the
// config file and a flag (--key=value); flags win over the file, the file
// over the defaults (docs/configuration.md lists them all).
struct GatewayConfig {
  std::vector<std::string> listen = {"127.0.0.1:50051"};
  std::string admin_listen = "127.0.0.1:9901";  // empty: no admin endpoint
  std::vector<std::string> descriptor_sets;
  size_t max_request_bytes = 4 << 20;
  int max_in_flight = 1000;
  int max_concurrent_streams = 100;  // per gRPC connection
  // A call's request message must arrive this long after its headers; zero:
  // no bound.
  absl::Duration request_message_timeout = absl::Seconds(10);
  absl::Duration keepalive_time = absl::Minutes(5);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration shutdown_grace = absl::Seconds(20);
  std::string log_level = "info";  // debug, info, warning, error
  bool access_log = true;
  // Endpoints that come from descriptors (route options) may use plain
  // http:// only when this is set; the operator's own endpoints may always.
  bool allow_plain_http_routes = false;
  UpstreamOptions upstream;
  DispatcherOptions dispatcher;
  // Staying under the API's rate limits, and out of a failing region
  // (docs/operations.md, "Rate limits" and "Region breaker"): the gates
  // every upstream attempt passes, in this order.
  RegionBreakerOptions region_breaker;
  RateLimitOptions rate_limit;
  FleetLimitOptions rate_limit_service;
  // Spans over OTLP/HTTP; an empty endpoint exports none
  // (docs/operations.md, "Traces").
  trace::OtlpOptions otlp;
  CredentialOptions credentials;
};

// What the command line asks for.
struct Invocation {
  enum class Mode { kRun, kCheckConfig, kHelp, kVersion };
  Mode mode = Mode::kRun;
  GatewayConfig config;
};

// Reads argv and, when --config or --check-config names one, the YAML file.
// Errors name the key (or flag) and what is wrong, in one line.
absl::StatusOr<Invocation> ParseInvocation(int argc, char** argv);

// --help: every key with its default and meaning, and the environment
// variables read.
std::string Usage();

// The whole of a file the configuration names (a descriptor set); the
// error says why it cannot be read ("cannot read PATH: Permission denied").
absl::StatusOr<std::string> ReadConfiguredFile(const std::string& path);

}  // namespace envelope

#endif  // GATEWAY_CONFIG_CONFIG_H_
