// File: fleet_limit.h
// -----------------------------------------------------------------------------
//
// Fleet-wide rate limits: before each upstream attempt, ask a rate limit
// service speaking Envoy's protocol
// (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit, as
// envoyproxy/ratelimit does, its counters in Redis) whether the fleet may
// send one more request for this account, service and action
// (docs/operations.md, "Rate limits", "Fleet-wide limits").
//
// Each question carries the domain and one descriptor of three entries,
// [("account", A), ("service", S), ("action", X)], with hits_addend 1: the
// API limits each action per account, so that is the one counter the fleet
// must share. A service's limit per action is configured there with the
// entries' hierarchy (account -> service -> action, a key without a value
// as the default for any action).

#ifndef GATEWAY_FLEET_LIMIT_FLEET_LIMIT_H_
#define GATEWAY_FLEET_LIMIT_FLEET_LIMIT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/credentials/credentials.h"
#include "gateway/route/attempt_gate.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace envelope {

// What the fleet limit is told (docs/configuration.md). Off while `address`
// is empty.
//
// Example:
//
//   FleetLimitOptions options{.address = "ratelimit:8081",
//                             .account = "acme-prod"};
struct FleetLimitOptions {
  // host:port of the rate limit service (gRPC, plaintext).
  std::string address;
  // The RateLimitRequest's domain.
  std::string domain = "envelope-gateway";
  // The "account" descriptor entry's value; empty: the SecretId signing the
  // call.
  std::string account;
  // Bound of one ShouldRateLimit.
  absl::Duration timeout = absl::Milliseconds(100);
  // When the service is unreachable or too slow: refuse the attempt
  // (UNAVAILABLE) instead of letting it go.
  bool deny_when_unavailable = false;
};

// Whether `address` names a rate limit service the gateway can dial:
// "host:port" or "[ipv6]:port" with a port in 1..65535, or "unix:/path".
// The error says what is wrong, for a start-up message.
//
// Example:
//
//   absl::Status valid = ValidateRateLimitServiceAddress("ratelimit:8081");
absl::Status ValidateRateLimitServiceAddress(absl::string_view address);

// What the gate did so far, for the metrics.
//
// Example:
//
//   FleetLimitCounts counts = fleet->counts();
//   uint64_t asked = counts.ok + counts.over_limit + counts.failed_allowed +
//                    counts.failed_denied;
struct FleetLimitCounts {
  uint64_t ok = 0;          // the service said OK: the attempt went
  uint64_t over_limit = 0;  // the service said OVER_LIMIT: the call ended
  // The service could not answer (unreachable, too slow, an error, an
  // answer with no code), and the attempt went anyway / the call ended.
  uint64_t failed_allowed = 0;
  uint64_t failed_denied = 0;
};

// The fleet limit as an attempt gate: each attempt (retries too) asks the
// rate limit service, bounded by the options' timeout and the call's
// deadline. OVER_LIMIT ends the call with RESOURCE_EXHAUSTED, reason
// FLEET_RATE_LIMIT and a RetryInfo of the window's reset when the service
// tells it; no answer lets the attempt go, or (deny_when_unavailable) ends
// the call with UNAVAILABLE, reason RATE_LIMIT_SERVICE_UNAVAILABLE.
// Thread-safe; the verdict arrives on one of gRPC's threads.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<FleetRateLimit>> fleet =
//       FleetRateLimit::Create({.address = "ratelimit:8081"}, credentials);
//   gates.push_back(fleet->get());
class FleetRateLimit : public AttemptGate {
 public:
  // `credentials` give the account (their SecretId) when options.account
  // is empty; then they must not be null.
  static absl::StatusOr<std::unique_ptr<FleetRateLimit>> Create(
      const FleetLimitOptions& options,
      std::shared_ptr<const CredentialSource> credentials);
  // Over a channel of the caller's (tests: an in-process server).
  static absl::StatusOr<std::unique_ptr<FleetRateLimit>> CreateForChannel(
      const FleetLimitOptions& options,
      std::shared_ptr<const CredentialSource> credentials,
      std::shared_ptr<grpc::Channel> channel);
  // Cancels the questions still open and waits for their verdicts.
  ~FleetRateLimit() override;

  void Admit(ApiCall& call, Verdict done) override;

  FleetLimitCounts counts() const;

 private:
  class Client;
  FleetRateLimit(const FleetLimitOptions& options,
                 std::shared_ptr<const CredentialSource> credentials,
                 std::shared_ptr<grpc::Channel> channel);

  std::unique_ptr<Client> client_;
};

}  // namespace envelope

#endif  // GATEWAY_FLEET_LIMIT_FLEET_LIMIT_H_
