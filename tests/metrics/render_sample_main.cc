// Prints the gateway's /metrics after a few calls of every kind, with the
// real metric table (gateway/main/gateway_metrics.cc); promparse_test.py
// parses it with an independent parser (prometheus_client) and checks the
// names, labels and values listed there.
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "gateway/main/gateway_metrics.h"

namespace {

using envelope::CallRecord;
using envelope::GrpcResult;

// Temporary credentials that expire at a fixed time.
class ExpiringCredentials : public envelope::CredentialSource {
 public:
  absl::StatusOr<envelope::Credentials> Get() const override {
    envelope::Credentials c;
    c.secret_id = "AKIDsample";
    c.secret_key = "sample";
    c.session_token = "token";
    c.expiry = absl::FromUnixSeconds(1900000000);
    return c;
  }
  std::string Describe() const override { return "sample"; }
};

void Call(envelope::GatewayMetrics& metrics, const std::string& method,
          GrpcResult r, absl::Duration latency) {
  CallRecord record;
  record.method = method;
  record.result = &r;
  record.latency = latency;
  metrics.Record(record);
}

GrpcResult Upstream(absl::StatusCode code, std::string action, long http,
                    std::string error_code, int attempts) {
  GrpcResult r;
  r.code = code;
  r.service = "cvm";
  r.action = std::move(action);
  r.http_status = http;
  r.error_code = std::move(error_code);
  r.attempts = attempts;
  r.upstream_time = absl::Milliseconds(5);
  return r;
}

}  // namespace

int main() {
  ExpiringCredentials credentials;
  auto metrics = envelope::GatewayMetrics::Create(
      "0.1.0",
      {.routed =
           [](absl::string_view m) {
             return absl::StartsWith(m, "/tencentcloud.cvm.v20170312.Cvm/");
           },
       .in_flight = [] { return 7; },
       .upstream =
           [] {
             return envelope::HttpClient::Stats{3, 12};
           },
       .credentials = &credentials,
       .coalescing =
           [] { return envelope::CoalescerStats{.saved_requests = 4}; }});
  if (!metrics.ok()) {
    std::fprintf(stderr, "%s\n", metrics.status().ToString().c_str());
    return 1;
  }
  const std::string cvm = "/tencentcloud.cvm.v20170312.Cvm/";
  for (int i = 0; i < 3; ++i) {
    Call(**metrics, cvm + "DescribeZones",
         Upstream(absl::StatusCode::kOk, "DescribeZones", 200, "", 1),
         absl::Milliseconds(6));
  }
  Call(**metrics, cvm + "DescribeInstances",
       Upstream(absl::StatusCode::kNotFound, "DescribeInstances", 200,
                "ResourceNotFound.InstanceNotExist", 1),
       absl::Milliseconds(30));
  // Three attempts: two transport faults, then a 503 without an envelope.
  GrpcResult down =
      Upstream(absl::StatusCode::kUnavailable, "DescribeZones", 503, "", 3);
  down.transport_retries = 2;
  Call(**metrics, cvm + "DescribeZones", std::move(down), absl::Seconds(2));
  // Rate-limited once, then refused again.
  GrpcResult limited =
      Upstream(absl::StatusCode::kResourceExhausted, "DescribeZones", 200,
               "RequestLimitExceeded", 2);
  limited.rate_limit_retries = 1;
  Call(**metrics, cvm + "DescribeZones", std::move(limited),
       absl::Milliseconds(1200));
  // Answered by another call's request, which was sent three times: those
  // retries are that call's, not counted again.
  GrpcResult joined =
      Upstream(absl::StatusCode::kOk, "DescribeRegions", 200, "", 3);
  joined.transport_retries = 2;
  joined.coalesced = true;
  Call(**metrics, cvm + "DescribeRegions", std::move(joined),
       absl::Milliseconds(7));
  // An error code that needs escaping in the text format.
  Call(**metrics, cvm + "DescribeZones",
       Upstream(absl::StatusCode::kInternal, "DescribeZones", 200,
                "Odd\"Code\\with\nnewline", 1),
       absl::Milliseconds(8));
  // Methods nobody routes: one label value for all of them.
  GrpcResult unknown;
  unknown.code = absl::StatusCode::kUnimplemented;
  Call(**metrics, "/x.Y/Z", unknown, absl::Microseconds(50));
  Call(**metrics, "/made.Up/Method", unknown, absl::Microseconds(50));
  Call(**metrics, "not a path", unknown, absl::Microseconds(50));

  const absl::StatusOr<std::string> text = (*metrics)->Render();
  if (!text.ok()) {
    std::fprintf(stderr, "%s\n", text.status().ToString().c_str());
    return 1;
  }
  std::fwrite(text->data(), 1, text->size(), stdout);
  return 0;
}
