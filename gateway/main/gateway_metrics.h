#ifndef GATEWAY_MAIN_GATEWAY_METRICS_H_
#define GATEWAY_MAIN_GATEWAY_METRICS_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "gateway/front/server.h"
#include "gateway/metrics/registry.h"
#include "gateway/upstream/http_client.h"

namespace envelope {

// The gateway's metrics (SPEC §7), fed by every call's end.
class GatewayMetrics {
 public:
  struct Sources {
    std::function<int()> in_flight;
    std::function<HttpClient::Stats()> upstream;
  };
  static absl::StatusOr<std::unique_ptr<GatewayMetrics>> Create(
      absl::string_view version, Sources sources);

  void Record(const CallRecord& record);
  std::string Render() const { return registry_.Render(); }

 private:
  GatewayMetrics() = default;
  absl::Status Register(absl::string_view version, Sources sources);

  metrics::Registry registry_;
  metrics::CounterFamily* calls_ = nullptr;
  metrics::HistogramFamily* call_seconds_ = nullptr;
  metrics::HistogramFamily* upstream_seconds_ = nullptr;
  metrics::CounterFamily* retries_ = nullptr;
};

}  // namespace envelope

#endif  // GATEWAY_MAIN_GATEWAY_METRICS_H_
