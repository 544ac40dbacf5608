// File: fleet_limit.h
// -----------------------------------------------------------------------------
//
// Fleet-wide rate limits: before each upstream attempt, ask a rate limit
// service speaking Envoy's protocol
// (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit, as
// envoyproxy/ratelimit does, its counters in Redis) whether the fleet may
// send one more request for this account, service and action
// (docs/operations.md, "Rate limits").

#ifndef GATEWAY_FLEET_LIMIT_FLEET_LIMIT_H_
#define GATEWAY_FLEET_LIMIT_FLEET_LIMIT_H_

#include <string>

#include "absl/time/time.h"

namespace envelope {

// What the fleet limit is told (docs/configuration.md). Off while `address`
// is empty.
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

}  // namespace envelope

#endif  // GATEWAY_FLEET_LIMIT_FLEET_LIMIT_H_
