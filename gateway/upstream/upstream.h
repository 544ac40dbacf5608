#ifndef GATEWAY_UPSTREAM_UPSTREAM_H_
#define GATEWAY_UPSTREAM_UPSTREAM_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/credentials/credentials.h"
#include "gateway/trace/trace_context.h"
#include "gateway/upstream/http_client.h"

namespace envelope {

enum class Signing { kTc3, kNone };

struct UpstreamOptions {
  // docs/configuration.md: "{service}" and "{region}" are replaced per call.
  std::string endpoint_template = "https://{service}.tencentcloudapi.com";
  // service -> endpoint (template), taking precedence over the template.
  absl::flat_hash_map<std::string, std::string> service_endpoints;
  Signing signing = Signing::kTc3;
  // Required with kTc3; shared with whoever reports readiness.
  std::shared_ptr<const CredentialSource> credentials;
  // Bound of an exchange when the caller set no deadline.
  absl::Duration default_timeout = absl::Seconds(30);
  size_t max_response_bytes = 16 << 20;
  HttpClientOptions http;
};

// An endpoint (template) the gateway can call: http:// or https:// with a
// host and no path, since the API is always called, and signed, at "/".
absl::Status ValidateEndpoint(absl::string_view url);

// One action call as the JSON API receives it (docs/design.md).
struct ApiCall {
  std::string service;
  std::string version;  // YYYY-MM-DD
  std::string action;
  std::string region;    // empty: no X-TC-Region
  std::string language;  // empty: no X-TC-Language
  std::string endpoint;  // a route's own endpoint (template); empty: options
  std::string body;      // the parameters: JSON, or as `content_type` says
  // Empty: "application/json; charset=utf-8". Else the Content-Type sent
  // and signed ("multipart/form-data; boundary=...").
  std::string content_type;
  absl::Time deadline = absl::InfiniteFuture();
  // The action must not be executed twice (not idempotent, no ClientToken):
  // send it on a new connection, where nothing re-sends it unasked.
  bool must_not_repeat = false;
  // Sent as `traceparent` (with `attempt_span_id` as the parent) and
  // `tracestate`, unsigned, when `attempt_span_id` is set.
  trace::CallTrace trace;
  uint64_t attempt_span_id = 0;
};

// What a call's attempts need of the upstream: send, cancel, and wait on
// the I/O thread. Upstream is the real one; a call's retry logic is
// unit-tested against a stand-in (tests/unit/call_attempts_test.cc).
class UpstreamSender {
 public:
  virtual ~UpstreamSender() = default;

  // Sends `call`; `done` runs exactly once with the HTTP answer or the
  // transport fault. A request that cannot be built ends at once (returns 0).
  virtual HttpClient::TransferId Send(const ApiCall& call,
                                      HttpClient::Callback done) = 0;
  // Aborts a transfer still running; its callback then gets CANCELLED.
  virtual void Cancel(HttpClient::TransferId id) = 0;
  // Runs `task` after `delay` (or at shutdown, whichever comes first).
  virtual void RunAfter(absl::Duration delay,
                        absl::AnyInvocable<void() &&> task) = 0;
};

// Builds, signs and sends API calls.
class Upstream : public UpstreamSender {
 public:
  explicit Upstream(UpstreamOptions options);

  // Signed now: each attempt gets a fresh timestamp; `done` runs on the I/O
  // thread.
  HttpClient::TransferId Send(const ApiCall& call,
                              HttpClient::Callback done) override;

  void Cancel(HttpClient::TransferId id) override { http_.Cancel(id); }
  void RunAfter(absl::Duration delay,
                absl::AnyInvocable<void() &&> task) override {
    http_.RunAfter(delay, std::move(task));
  }
  HttpClient::Stats stats() const { return http_.stats(); }
  // See HttpClient::Shutdown.
  void Shutdown() { http_.Shutdown(); }

  // The URL for a call: the endpoint template with its placeholders filled
  // (the region breaker keys on its host).
  absl::StatusOr<std::string> EndpointUrl(const ApiCall& call) const;

 private:
  absl::StatusOr<HttpRequest> BuildRequest(const ApiCall& call) const;

  UpstreamOptions options_;
  HttpClient http_;
};

}  // namespace envelope

#endif  // GATEWAY_UPSTREAM_UPSTREAM_H_
