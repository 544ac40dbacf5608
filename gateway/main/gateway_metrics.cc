#include "gateway/main/gateway_metrics.h"

#include "gateway/credentials/credentials.h"
#include "gateway/metrics/histogram.h"

namespace envelope {
namespace {

// Label sets stay bounded: methods are a fixed set per deployment, but a
// misbehaving client can invent them; upstream codes are open-ended.
constexpr size_t kMaxMethods = 500;
constexpr size_t kMaxUpstreamCodes = 50;
constexpr size_t kMaxServices = 100;

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayMetrics>> GatewayMetrics::Create(
    absl::string_view version, Sources sources) {
  std::unique_ptr<GatewayMetrics> metrics(new GatewayMetrics());
  absl::Status status = metrics->Register(version, std::move(sources));
  if (!status.ok()) return status;
  return metrics;
}

absl::Status GatewayMetrics::Register(absl::string_view version,
                                      Sources sources) {
  using metrics::MetricSpec;
  auto calls = registry_.AddCounter(MetricSpec{
      "envelope_gateway_calls_total",
      "gRPC calls handled, by method, gRPC code and upstream error code",
      {"grpc_method", "grpc_code", "upstream_code"},
      {{"grpc_method", kMaxMethods}, {"upstream_code", kMaxUpstreamCodes}}});
  if (!calls.ok()) return calls.status();
  calls_ = *calls;
  // 1 ms .. ~33 s.
  auto call_seconds = registry_.AddHistogram(
      MetricSpec{"envelope_gateway_call_duration_seconds",
                 "Whole call latency as the gateway saw it, by method",
                 {"grpc_method"},
                 {{"grpc_method", kMaxMethods}}},
      metrics::ExponentialBuckets(0.001, 2, 16));
  if (!call_seconds.ok()) return call_seconds.status();
  call_seconds_ = *call_seconds;
  auto upstream_seconds = registry_.AddHistogram(
      MetricSpec{"envelope_gateway_upstream_duration_seconds",
                 "Upstream exchange latency, attempts and backoff included, "
                 "by service",
                 {"service"},
                 {{"service", kMaxServices}}},
      metrics::ExponentialBuckets(0.001, 2, 16));
  if (!upstream_seconds.ok()) return upstream_seconds.status();
  upstream_seconds_ = *upstream_seconds;
  auto retries = registry_.AddCounter(
      MetricSpec{"envelope_gateway_upstream_retries_total",
                 "Upstream attempts beyond the first, by service",
                 {"service"},
                 {{"service", kMaxServices}}});
  if (!retries.ok()) return retries.status();
  retries_ = *retries;
  absl::Status status = registry_.AddGaugeCallback(
      MetricSpec{"envelope_gateway_calls_in_flight",
                 "gRPC calls started and not yet ended",
                 {},
                 {}},
      [in_flight = sources.in_flight] { return double(in_flight()); });
  if (!status.ok()) return status;
  status = registry_.AddCounterCallback(
      MetricSpec{"envelope_gateway_upstream_connections_total",
                 "Upstream connections opened (TLS handshakes on https)",
                 {},
                 {}},
      [upstream = sources.upstream] { return double(upstream().connections); });
  if (!status.ok()) return status;
  status = registry_.AddCounterCallback(
      MetricSpec{"envelope_gateway_upstream_requests_total",
                 "Upstream HTTP requests sent, retries included",
                 {},
                 {}},
      [upstream = sources.upstream] { return double(upstream().requests); });
  if (!status.ok()) return status;
  status = registry_.AddCounterCallback(
      MetricSpec{"envelope_gateway_credential_refreshes_total",
                 "New credentials taken: temporary ones refreshed, mounted "
                 "files rotated",
                 {},
                 {}},
      [] { return double(CredentialEvents().refreshes); });
  if (!status.ok()) return status;
  status = registry_.AddCounterCallback(
      MetricSpec{"envelope_gateway_credential_refresh_failures_total",
                 "Failed attempts to fetch or read credentials",
                 {},
                 {}},
      [] { return double(CredentialEvents().failures); });
  if (!status.ok()) return status;
  auto build =
      registry_.AddGauge(MetricSpec{"envelope_gateway_build_info",
                                    "Build of the running gateway; always 1",
                                    {"version"},
                                    {}});
  if (!build.ok()) return build.status();
  (*build)->WithLabels({version})->Set(1);
  return absl::OkStatus();
}

void GatewayMetrics::Record(const CallRecord& record) {
  const GrpcResult& r = *record.result;
  calls_
      ->WithLabels(
          {record.method, absl::StatusCodeToString(r.code), r.error_code})
      ->Increment();
  call_seconds_->WithLabels({record.method})->ObserveDuration(record.latency);
  if (r.attempts > 0) {
    upstream_seconds_->WithLabels({r.service})
        ->ObserveDuration(r.upstream_time);
  }
  if (r.attempts > 1)
    retries_->WithLabels({r.service})->Increment(r.attempts - 1);
}

}  // namespace envelope
