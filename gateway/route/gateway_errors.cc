#include "gateway/route/gateway_errors.h"

#include "absl/strings/str_cat.h"
#include "gateway/envelope/details.h"
#include "gateway/envelope/reason.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace envelope {

std::optional<absl::Duration> RetryDelayFor(absl::string_view reason,
                                            long http_status) {
  namespace r = gateway_reason;
  // Another instance can take the call now.
  if (reason == r::kDraining) return absl::ZeroDuration();
  // This instance or the upstream is busy or down for a moment.
  if (reason == r::kOverloaded || reason == r::kUpstreamUnreachable) {
    return absl::Seconds(1);
  }
  if (reason == r::kUpstreamHttpStatus &&
      (http_status == 429 || http_status == 502 || http_status == 503 ||
       http_status == 504)) {
    return absl::Seconds(1);
  }
  // Credentials are looked for again in the background (docs/credentials.md).
  if (reason == r::kNoCredentials) return absl::Seconds(5);
  return std::nullopt;
}

void AttachGatewayDetails(absl::string_view domain, GrpcResult& result) {
  if (result.ok() || !result.details.empty()) return;
  google::rpc::Status status;
  status.set_code(static_cast<int>(result.code));
  status.set_message(result.message);

  google::rpc::ErrorInfo info;
  const absl::string_view reason =
      result.reason.empty() ? gateway_reason::kInternal : result.reason;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(domain));
  auto& metadata = *info.mutable_metadata();
  if (!result.service.empty()) metadata["service"] = result.service;
  if (!result.action.empty()) metadata["action"] = result.action;
  if (!result.region.empty()) metadata["region"] = result.region;
  if (result.attempts > 0) metadata["attempts"] = absl::StrCat(result.attempts);
  if (result.http_status > 0) {
    metadata["http_status"] = absl::StrCat(result.http_status);
  }
  status.add_details()->PackFrom(info);

  std::optional<absl::Duration> delay = result.retry_after;
  if (!delay.has_value()) delay = RetryDelayFor(reason, result.http_status);
  if (delay.has_value()) {
    AddRetryInfo(*delay, status);
  }
  if (!result.request_id.empty()) {
    google::rpc::RequestInfo request_info;
    request_info.set_request_id(result.request_id);
    status.add_details()->PackFrom(request_info);
  }
  result.details = status.SerializeAsString();
}

}  // namespace envelope
