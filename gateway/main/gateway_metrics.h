#ifndef GATEWAY_MAIN_GATEWAY_METRICS_H_
#define GATEWAY_MAIN_GATEWAY_METRICS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/credentials/credentials.h"
#include "gateway/fleet_limit/fleet_limit.h"
#include "gateway/front/server.h"
#include "gateway/metrics/exposition.h"
#include "gateway/metrics/series.h"
#include "gateway/route/coalescer.h"
#include "gateway/route/rate_limiter.h"
#include "gateway/route/region_breaker.h"
#include "gateway/upstream/http_client.h"
#include "prometheus/registry.h"

namespace envelope {

// The gateway's metrics (docs/operations.md), fed by every call's end: the
// table of names, labels and bounds is gateway_metrics.cc, documented in
// docs/operations.md ("Metrics").
class GatewayMetrics {
 public:
  struct Sources {
    // Whether the gateway routes this method ("/pkg.Service/Method");
    // others are counted as grpc_service="unknown", grpc_method="unknown".
    std::function<bool(absl::string_view)> routed;
    std::function<int()> in_flight;
    std::function<HttpClient::Stats()> upstream;
    // May be null (no signing): no credential expiry is shown.
    const CredentialSource* credentials = nullptr;
    // Spans exported and dropped (docs/operations.md, "Traces"); unset: no
    // spans are exported and neither is shown.
    std::function<std::pair<uint64_t, uint64_t>()> spans;
    // The local rate limiter's buckets (docs/operations.md, "Rate limits");
    // unset: none shown.
    std::function<std::vector<RateLimitSample>()> rate_limits;
    // Coalesced reads (docs/operations.md, "Coalesced reads"); unset: none
    // shown.
    std::function<CoalescerStats()> coalescing;
    // The region breaker's endpoints (docs/operations.md, "Region
    // breaker"); unset: none shown.
    std::function<std::vector<RegionBreakerSample>()> region_breaker;
    // What the fleet-wide limit did (docs/operations.md, "Fleet-wide
    // limits"); unset: none shown.
    std::function<FleetLimitCounts()> fleet_limit;
  };
  static absl::StatusOr<std::unique_ptr<GatewayMetrics>> Create(
      absl::string_view version, Sources sources);

  // Thread-safe; costs a few shared locks and atomic adds.
  void Record(const CallRecord& record);
  // The text format 0.0.4 (metrics::kTextFormatContentType).
  absl::StatusOr<std::string> Render() const;

 private:
  explicit GatewayMetrics(Sources sources);
  absl::Status Register(absl::string_view version);

  const Sources sources_;
  prometheus::Registry registry_;
  // Label values that are not a fixed set, bounded (docs/operations.md).
  metrics::BoundedValues grpc_services_;
  metrics::BoundedValues grpc_methods_;
  metrics::BoundedValues services_;
  metrics::BoundedValues actions_;
  metrics::BoundedValues upstream_codes_;
  std::unique_ptr<metrics::Series<prometheus::Counter>> started_;
  std::unique_ptr<metrics::Series<prometheus::Counter>> handled_;
  std::unique_ptr<metrics::Series<prometheus::Histogram>> handling_seconds_;
  std::unique_ptr<metrics::Series<prometheus::Counter>> upstream_calls_;
  std::unique_ptr<metrics::Series<prometheus::Histogram>> upstream_seconds_;
  std::unique_ptr<metrics::Series<prometheus::Counter>> upstream_retries_;
  std::unique_ptr<metrics::CallbackCollectable> computed_;
};

// The Go names of the gRPC codes, as go-grpc-prometheus labels them
// (grpc_code="NotFound"): what dashboards built on it match.
absl::string_view GoCodeName(absl::StatusCode code);

}  // namespace envelope

#endif  // GATEWAY_MAIN_GATEWAY_METRICS_H_
