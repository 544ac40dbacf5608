// File: region_breaker.h
// -----------------------------------------------------------------------------
//
// The region breaker: after repeated transport failures or 5xx answers from
// a regional endpoint, fail fast (or go to a backup endpoint) instead of
// sending every call into the failing region, as the official Go SDK's
// common/circuit_breaker.go does (docs/operations.md, "Region breaker").

#ifndef GATEWAY_ROUTE_REGION_BREAKER_H_
#define GATEWAY_ROUTE_REGION_BREAKER_H_

#include <string>

#include "absl/time/time.h"

namespace envelope {

// What the region breaker is told (docs/configuration.md). Off by default.
struct RegionBreakerOptions {
  bool enabled = false;
  // Failures are counted over this window.
  absl::Duration window = absl::Minutes(5);
  // It opens once the window holds at least this many failures making at
  // least this share of the attempts.
  int min_failures = 5;
  double failure_ratio = 0.75;
  // Open this long, then half-open: a few attempts try the region again.
  absl::Duration open_for = absl::Seconds(60);
  // Where attempts go while it is open (an endpoint template, as
  // --endpoint); empty: calls fail fast with UNAVAILABLE.
  std::string backup_endpoint;
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_REGION_BREAKER_H_
