#include "gateway/main/gateway_metrics.h"

#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gateway/metrics/process.h"

namespace envelope {
namespace {

using metrics::Series;
using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::MetricType;

// The metric table (docs/operations.md, "Metrics", lists the same).
//
// go-grpc-prometheus's server metrics: its names, labels and default
// buckets (Prometheus' DefBuckets), so that dashboards and alerts written
// for it work unchanged. grpc_type is always "unary": the gateway serves
// unary calls only. Its histogram has no grpc_code; the gateway's own
// upstream histogram has one.
constexpr char kStarted[] = "grpc_server_started_total";
constexpr char kHandled[] = "grpc_server_handled_total";
constexpr char kHandlingSeconds[] = "grpc_server_handling_seconds";
const std::vector<double> kDefBuckets = {.005, .01, .025, .05, .1, .25,
                                         .5,   1,   2.5,  5,   10};
// The gateway's own.
constexpr char kUpstreamCalls[] = "envelope_gateway_upstream_calls_total";
constexpr char kUpstreamSeconds[] =
    "envelope_gateway_upstream_duration_seconds";
constexpr char kUpstreamRetries[] = "envelope_gateway_upstream_retries_total";
constexpr char kBuildInfo[] = "envelope_gateway_build_info";
// 1 ms .. ~33 s (the default deadline is 30 s).
const std::vector<double> kUpstreamBuckets = {
    .001, .002, .004,  .008,  .016,  .032,  .064,   .128,
    .256, .512, 1.024, 2.048, 4.096, 8.192, 16.384, 32.768};

// Label values a caller or the upstream can invent stay bounded; past a
// cap they become "other". Methods are a fixed set per deployment (the
// routes), but --descriptor-set can add many; actions come from JsonApi
// callers too; error codes are open-ended.
constexpr size_t kMaxGrpcServices = 100;
constexpr size_t kMaxGrpcMethods = 500;
constexpr size_t kMaxServices = 100;
constexpr size_t kMaxActions = 500;
constexpr size_t kMaxUpstreamCodes = 50;
// What an unrouted method is counted as: one value, not one per name.
constexpr absl::string_view kUnknown = "unknown";
constexpr absl::string_view kUnary = "unary";

template <typename T>
absl::Status Assign(absl::StatusOr<std::unique_ptr<Series<T>>> made,
                    std::unique_ptr<Series<T>>& to) {
  if (!made.ok()) return made.status();
  to = *std::move(made);
  return absl::OkStatus();
}

// "/pkg.Service/Method" -> {"pkg.Service", "Method"}; false otherwise.
bool SplitMethod(absl::string_view path, absl::string_view* service,
                 absl::string_view* method) {
  if (!absl::ConsumePrefix(&path, "/")) return false;
  const size_t slash = path.find('/');
  if (slash == absl::string_view::npos || slash == 0 ||
      slash + 1 == path.size()) {
    return false;
  }
  *service = path.substr(0, slash);
  *method = path.substr(slash + 1);
  return true;
}

}  // namespace

absl::string_view GoCodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "OK";
    case absl::StatusCode::kCancelled:
      return "Canceled";
    case absl::StatusCode::kUnknown:
      return "Unknown";
    case absl::StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case absl::StatusCode::kDeadlineExceeded:
      return "DeadlineExceeded";
    case absl::StatusCode::kNotFound:
      return "NotFound";
    case absl::StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case absl::StatusCode::kPermissionDenied:
      return "PermissionDenied";
    case absl::StatusCode::kResourceExhausted:
      return "ResourceExhausted";
    case absl::StatusCode::kFailedPrecondition:
      return "FailedPrecondition";
    case absl::StatusCode::kAborted:
      return "Aborted";
    case absl::StatusCode::kOutOfRange:
      return "OutOfRange";
    case absl::StatusCode::kUnimplemented:
      return "Unimplemented";
    case absl::StatusCode::kInternal:
      return "Internal";
    case absl::StatusCode::kUnavailable:
      return "Unavailable";
    case absl::StatusCode::kDataLoss:
      return "DataLoss";
    case absl::StatusCode::kUnauthenticated:
      return "Unauthenticated";
    default:
      return "Unknown";  // as grpc-go reads a code it does not know
  }
}

namespace {

// One series per paced (service, action): at most RateLimitOptions::
// max_buckets of each.
void AddRateLimitFamilies(const std::vector<RateLimitSample>& samples,
                          std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  prometheus::MetricFamily rate{
      .name = "envelope_gateway_rate_limit_requests_per_second",
      .help =
          "The rate an action is paced at now: its configured ceiling, "
          "lower after RequestLimitExceeded",
      .type = MetricType::Gauge};
  prometheus::MetricFamily tokens{
      .name = "envelope_gateway_rate_limit_tokens",
      .help = "Requests an action could send now without waiting",
      .type = MetricType::Gauge};
  prometheus::MetricFamily waits{
      .name = "envelope_gateway_rate_limit_waits_total",
      .help = "Upstream attempts that waited for their rate limit slot",
      .type = MetricType::Counter};
  prometheus::MetricFamily refusals{
      .name = "envelope_gateway_rate_limit_refusals_total",
      .help =
          "Calls ended with LOCAL_RATE_LIMIT: their slot lay past their "
          "deadline",
      .type = MetricType::Counter};
  for (const RateLimitSample& sample : samples) {
    const std::vector<std::pair<std::string, std::string>> labels = {
        {"service", sample.service}, {"action", sample.action}};
    metrics::AddValue(rate, labels, sample.rate_per_second);
    metrics::AddValue(tokens, labels, sample.tokens);
    metrics::AddValue(waits, labels, static_cast<double>(sample.waits));
    metrics::AddValue(refusals, labels, static_cast<double>(sample.refusals));
  }
  for (auto* family : {&rate, &tokens, &waits, &refusals}) {
    out.push_back(std::move(*family));
  }
}

// One series per endpoint host the breaker tracks: at most
// RegionBreakerOptions::max_endpoints of each (three per transition).
void AddRegionBreakerFamilies(const std::vector<RegionBreakerSample>& samples,
                              std::vector<prometheus::MetricFamily>& out) {
  prometheus::MetricFamily state{
      .name = "envelope_gateway_region_breaker_state",
      .help =
          "The region breaker of an endpoint: 0 closed, 1 open, "
          "2 half-open",
      .type = MetricType::Gauge};
  prometheus::MetricFamily transitions{
      .name = "envelope_gateway_region_breaker_transitions_total",
      .help = "Times an endpoint's region breaker went to a state",
      .type = MetricType::Counter};
  prometheus::MetricFamily rejected{
      .name = "envelope_gateway_region_breaker_rejected_total",
      .help = "Calls ended with REGION_BREAKER_OPEN",
      .type = MetricType::Counter};
  prometheus::MetricFamily backup{
      .name = "envelope_gateway_region_breaker_backup_attempts_total",
      .help =
          "Upstream attempts sent to the backup endpoint while the "
          "endpoint's region breaker was not closed",
      .type = MetricType::Counter};
  for (const RegionBreakerSample& sample : samples) {
    const std::vector<std::pair<std::string, std::string>> labels = {
        {"endpoint", sample.endpoint}};
    metrics::AddValue(state, labels, static_cast<double>(sample.state));
    for (BreakerState to : {BreakerState::kClosed, BreakerState::kOpen,
                            BreakerState::kHalfOpen}) {
      metrics::AddValue(
          transitions,
          {{"endpoint", sample.endpoint},
           {"to", std::string(BreakerStateName(to))}},
          static_cast<double>(sample.transitions[static_cast<int>(to)]));
    }
    metrics::AddValue(rejected, labels, static_cast<double>(sample.rejected));
    metrics::AddValue(backup, labels,
                      static_cast<double>(sample.backup_attempts));
  }
  for (auto* family : {&state, &transitions, &rejected, &backup}) {
    out.push_back(std::move(*family));
  }
}

// The fleet-wide limit's questions to the rate limit service, by answer,
// and what became of the attempts it could not answer for.
void AddFleetLimitFamilies(const FleetLimitCounts& counts,
                           std::vector<prometheus::MetricFamily>& out) {
  prometheus::MetricFamily requests{
      .name = "envelope_gateway_rate_limit_service_requests_total",
      .help =
          "Questions to the rate limit service, by answer: ok, over_limit "
          "(the call ended with FLEET_RATE_LIMIT) or error (no answer in "
          "time, or a failure)",
      .type = MetricType::Counter};
  metrics::AddValue(requests, {{"result", "ok"}},
                    static_cast<double>(counts.ok));
  metrics::AddValue(requests, {{"result", "over_limit"}},
                    static_cast<double>(counts.over_limit));
  metrics::AddValue(
      requests, {{"result", "error"}},
      static_cast<double>(counts.failed_allowed + counts.failed_denied));
  prometheus::MetricFamily failures{
      .name = "envelope_gateway_rate_limit_service_failures_total",
      .help =
          "Attempts the rate limit service did not answer for: allowed "
          "(sent all the same) or denied (the call ended with "
          "RATE_LIMIT_SERVICE_UNAVAILABLE)",
      .type = MetricType::Counter};
  metrics::AddValue(failures, {{"outcome", "allowed"}},
                    static_cast<double>(counts.failed_allowed));
  metrics::AddValue(failures, {{"outcome", "denied"}},
                    static_cast<double>(counts.failed_denied));
  out.push_back(std::move(requests));
  out.push_back(std::move(failures));
}

}  // namespace

GatewayMetrics::GatewayMetrics(Sources sources)
    : sources_(std::move(sources)),
      grpc_services_(kMaxGrpcServices),
      grpc_methods_(kMaxGrpcMethods),
      services_(kMaxServices),
      actions_(kMaxActions),
      upstream_codes_(kMaxUpstreamCodes) {}

absl::StatusOr<std::unique_ptr<GatewayMetrics>> GatewayMetrics::Create(
    absl::string_view version, Sources sources) {
  std::unique_ptr<GatewayMetrics> metrics(
      new GatewayMetrics(std::move(sources)));
  absl::Status status = metrics->Register(version);
  if (!status.ok()) return status;
  return metrics;
}

absl::Status GatewayMetrics::Register(absl::string_view version) {
  const std::vector<std::string> grpc_labels = {"grpc_type", "grpc_service",
                                                "grpc_method"};
  absl::Status status =
      Assign(Series<Counter>::Register(
                 registry_, kStarted,
                 "Total number of RPCs started on the server.", grpc_labels),
             started_);
  if (!status.ok()) return status;
  status =
      Assign(Series<Counter>::Register(
                 registry_, kHandled,
                 "Total number of RPCs completed on the server, regardless of "
                 "success or failure.",
                 {"grpc_type", "grpc_service", "grpc_method", "grpc_code"}),
             handled_);
  if (!status.ok()) return status;
  status = Assign(Series<Histogram>::Register(
                      registry_, kHandlingSeconds,
                      "Histogram of response latency (seconds) of gRPC that "
                      "had been application-level handled by the server.",
                      grpc_labels, kDefBuckets),
                  handling_seconds_);
  if (!status.ok()) return status;
  status = Assign(
      Series<Counter>::Register(
          registry_, kUpstreamCalls,
          "Calls that reached the upstream, by service, action, the last "
          "answer's HTTP status and the envelope's error code",
          {"service", "action", "http_status", "upstream_code"}),
      upstream_calls_);
  if (!status.ok()) return status;
  status = Assign(Series<Histogram>::Register(
                      registry_, kUpstreamSeconds,
                      "Upstream exchange, attempts and backoff included, by "
                      "service, action and the call's gRPC code",
                      {"service", "action", "grpc_code"}, kUpstreamBuckets),
                  upstream_seconds_);
  if (!status.ok()) return status;
  status =
      Assign(Series<Counter>::Register(
                 registry_, kUpstreamRetries,
                 "Upstream requests sent again, by service, action and reason: "
                 "transport (a fault or a busy HTTP status, libcurl's re-sends "
                 "included) or rate_limit (RequestLimitExceeded)",
                 {"service", "action", "reason"}),
             upstream_retries_);
  if (!status.ok()) return status;
  std::unique_ptr<Series<Gauge>> build;
  status = Assign(Series<Gauge>::Register(registry_, kBuildInfo,
                                          "Build of the running gateway; "
                                          "always 1",
                                          {"version"}),
                  build);
  if (!status.ok()) return status;
  if (Gauge* info = build->With({version})) info->Set(1);

  computed_ = std::make_unique<metrics::CallbackCollectable>([this] {
    std::vector<prometheus::MetricFamily> out = metrics::ProcessMetrics();
    out.push_back(metrics::OneValue(
        "envelope_gateway_calls_in_flight",
        "gRPC calls whose request message arrived and that have not ended",
        MetricType::Gauge, sources_.in_flight ? sources_.in_flight() : 0));
    const HttpClient::Stats upstream =
        sources_.upstream ? sources_.upstream() : HttpClient::Stats();
    out.push_back(metrics::OneValue(
        "envelope_gateway_upstream_connections_total",
        "Upstream connections opened (TLS handshakes on https)",
        MetricType::Counter, static_cast<double>(upstream.connections)));
    out.push_back(metrics::OneValue(
        "envelope_gateway_upstream_requests_total",
        "Upstream HTTP requests sent, retries included", MetricType::Counter,
        static_cast<double>(upstream.requests)));
    const CredentialEventCounts events = CredentialEvents();
    out.push_back(metrics::OneValue(
        "envelope_gateway_credential_refreshes_total",
        "New credentials taken: temporary ones refreshed, mounted files "
        "rotated",
        MetricType::Counter, static_cast<double>(events.refreshes)));
    out.push_back(metrics::OneValue(
        "envelope_gateway_credential_refresh_failures_total",
        "Failed attempts to fetch or read credentials", MetricType::Counter,
        static_cast<double>(events.failures)));
    if (sources_.spans) {
      const auto [exported, dropped] = sources_.spans();
      out.push_back(metrics::OneValue("envelope_gateway_spans_exported_total",
                                      "Spans the OTLP collector accepted",
                                      MetricType::Counter,
                                      static_cast<double>(exported)));
      out.push_back(metrics::OneValue(
          "envelope_gateway_spans_dropped_total",
          "Spans dropped: the export queue was full, the collector failed "
          "or rejected them",
          MetricType::Counter, static_cast<double>(dropped)));
    }
    if (sources_.rate_limits) AddRateLimitFamilies(sources_.rate_limits(), out);
    if (sources_.coalescing) {
      out.push_back(metrics::OneValue(
          "envelope_gateway_coalesced_calls_total",
          "Calls that joined an identical call's upstream request instead "
          "of sending their own: upstream requests saved",
          MetricType::Counter,
          static_cast<double>(sources_.coalescing().saved_requests)));
    }
    if (sources_.fleet_limit) {
      AddFleetLimitFamilies(sources_.fleet_limit(), out);
    }
    if (sources_.region_breaker) {
      AddRegionBreakerFamilies(sources_.region_breaker(), out);
    }
    if (sources_.credentials != nullptr) {
      // Get() does no I/O (credentials.h). Keys that never expire, or no
      // usable credentials, show no sample: there is no time to alert on.
      absl::StatusOr<Credentials> current = sources_.credentials->Get();
      if (current.ok() && current->expiry != absl::InfiniteFuture()) {
        out.push_back(metrics::OneValue(
            "envelope_gateway_credentials_expiry_timestamp_seconds",
            "When the temporary credentials in use expire, seconds since "
            "the epoch",
            MetricType::Gauge,
            absl::ToDoubleSeconds(current->expiry - absl::UnixEpoch())));
      }
    }
    return out;
  });
  return absl::OkStatus();
}

void GatewayMetrics::Record(const CallRecord& record) {
  const GrpcResult& r = *record.result;
  absl::string_view grpc_service = kUnknown;
  absl::string_view grpc_method = kUnknown;
  absl::string_view service_name, method_name;
  if (sources_.routed && sources_.routed(record.method) &&
      SplitMethod(record.method, &service_name, &method_name)) {
    grpc_service = grpc_services_.Admit(service_name);
    grpc_method = grpc_methods_.Admit(method_name);
  }
  const absl::string_view code = GoCodeName(r.code);
  // Started is counted as the call ends: the front names the method only
  // then (docs/operations.md); calls in flight are calls_in_flight.
  if (Counter* c = started_->With({kUnary, grpc_service, grpc_method})) {
    c->Increment();
  }
  if (Counter* c = handled_->With({kUnary, grpc_service, grpc_method, code})) {
    c->Increment();
  }
  if (Histogram* h =
          handling_seconds_->With({kUnary, grpc_service, grpc_method})) {
    h->Observe(absl::ToDoubleSeconds(record.latency));
  }
  if (r.attempts <= 0) return;  // nothing reached the upstream
  const absl::string_view service = services_.Admit(r.service);
  const absl::string_view action = actions_.Admit(r.action);
  // Three digits from libcurl (a bounded set); "" when no answer came.
  const std::string http_status =
      r.http_status > 0 ? absl::StrCat(r.http_status) : std::string();
  if (Counter* c =
          upstream_calls_->With({service, action, http_status,
                                 upstream_codes_.Admit(r.error_code)})) {
    c->Increment();
  }
  if (Histogram* h = upstream_seconds_->With({service, action, code})) {
    h->Observe(absl::ToDoubleSeconds(r.upstream_time));
  }
  // A coalesced call's retries are those of the request it joined, counted
  // with the call that sent it.
  if (r.coalesced) return;
  if (r.transport_retries > 0) {
    if (Counter* c = upstream_retries_->With({service, action, "transport"})) {
      c->Increment(r.transport_retries);
    }
  }
  if (r.rate_limit_retries > 0) {
    if (Counter* c = upstream_retries_->With({service, action, "rate_limit"})) {
      c->Increment(r.rate_limit_retries);
    }
  }
}

absl::StatusOr<std::string> GatewayMetrics::Render() const {
  const prometheus::Collectable* sources[] = {&registry_, computed_.get()};
  return metrics::Render(sources);
}

}  // namespace envelope
