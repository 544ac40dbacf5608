#include "gateway/route/dispatcher.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "envelope/gateway/v1/json_api.pb.h"
#include "gateway/envelope/envelope.h"
#include "gateway/json/json.h"
#include "gateway/route/api_names.h"
#include "gateway/route/call_attempts.h"
#include "gateway/route/coalescer.h"
#include "gateway/transcode/multipart.h"
#include "gateway/transcode/transcode.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace envelope {
namespace {

// A call ended before any upstream work, for `reason`.
GrpcResult Refused(const absl::Status& status, absl::string_view reason) {
  GrpcResult result;
  result.code = status.code();
  result.message = std::string(status.message());
  result.reason = reason;
  return result;
}

// The JsonApi request, as an ApiCall with the parameters sent as they are.
absl::StatusOr<ApiCall> UntypedCall(const std::string& payload) {
  envelope::gateway::v1::CallRequest request;
  if (!request.ParseFromString(payload)) {
    return absl::InvalidArgumentError(
        "request does not parse as envelope.gateway.v1.CallRequest");
  }
  ApiCall call;
  absl::Status status = ValidateService(request.service());
  if (status.ok()) status = ValidateVersion(request.version());
  if (status.ok()) status = ValidateAction(request.action());
  if (!status.ok()) return status;
  call.service = request.service();
  call.version = request.version();
  call.action = request.action();
  call.region = request.region();
  call.body = request.params_json().empty() ? "{}" : request.params_json();
  // The same reader and rules as every other JSON input (docs/errors.md).
  absl::StatusOr<json::Document> params = json::ParseObject(call.body);
  if (!params.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("params_json is ", params.status().message()));
  }
  return call;
}

absl::StatusOr<ApiCall> TypedCall(const MethodRoute& route,
                                  const std::string& payload) {
  std::unique_ptr<google::protobuf::Message> request(
      route.request_prototype->New());
  if (!request->ParseFromString(payload)) {
    return absl::InvalidArgumentError(
        absl::StrCat("request does not parse as ", route.request_type));
  }
  ApiCall call;
  call.service = route.service;
  call.version = route.version;
  call.action = route.action;
  call.endpoint = route.endpoint;
  if (route.multipart) {
    std::string boundary;
    call.content_type = MultipartContentType(&boundary);
    absl::Status written = MessageToMultipart(*request, boundary, &call.body);
    if (!written.ok()) return written;
    return call;
  }
  absl::Status written = MessageToJson(*request, &call.body);
  if (!written.ok()) return written;
  // protobuf's C++ parser only logs a proto3 string that is not UTF-8; the
  // API must not receive one (docs/errors.md, "Hostile input").
  if (!simdjson::validate_utf8(call.body.data(), call.body.size())) {
    return absl::InvalidArgumentError(
        "request holds a string field that is not valid UTF-8");
  }
  return call;
}

// Whether the body carries a ClientToken the API deduplicates with: a
// non-empty string (`""`, `null` or a number is none).
bool HasClientToken(absl::string_view body) {
  absl::string_view token = json::FindMemberText(body, "ClientToken");
  return token.size() > 2 && token.front() == '"';
}

}  // namespace

Dispatcher::Dispatcher(const Router* router, Upstream* upstream,
                       DispatcherOptions options,
                       std::vector<AttemptGate*> gates)
    : router_(router),
      upstream_(upstream),
      options_(std::move(options)),
      retry_policy_(options_.retry),
      allow_list_(options_.allowed_actions),
      gates_(std::move(gates)),
      coalescer_(std::make_unique<Coalescer>(
          CoalescerOptions{.actions = options_.coalesced_actions},
          &retry_policy_)),
      completions_(options_.completion_threads) {}

Dispatcher::~Dispatcher() = default;

CoalescerStats Dispatcher::coalescing() const { return coalescer_->stats(); }

absl::StatusOr<ApiCall> Dispatcher::PrepareCall(const MethodRoute& route,
                                                GrpcCall& call) const {
  absl::StatusOr<ApiCall> api = route.untyped ? UntypedCall(call.payload)
                                              : TypedCall(route, call.payload);
  if (!api.ok()) return api.status();
  if (api->region.empty()) api->region = call.region;
  if (api->region.empty()) api->region = options_.default_region;
  absl::Status status = ValidateRegion(api->region);
  if (!status.ok()) return status;
  api->language = call.language;
  api->trace = std::move(call.trace);
  api->deadline = call.deadline == absl::InfiniteFuture()
                      ? absl::Now() + options_.default_timeout
                      : call.deadline;
  return api;
}

// docs/errors.md: the route's option, else the service's, else the
// gateway's.
const std::string& Dispatcher::ErrorDomain(const MethodRoute& route,
                                           const std::string& service) const {
  if (!route.error_domain.empty()) return route.error_domain;
  auto it = options_.service_error_domains.find(service);
  return it != options_.service_error_domains.end() ? it->second
                                                    : options_.error_domain;
}

void Dispatcher::Describe(absl::string_view method, GrpcResult& result) const {
  const MethodRoute* route = router_->Find(method);
  if (route == nullptr) return;
  result.service = route->service;
  result.action = route->action;
}

std::shared_ptr<DispatchedCall> Dispatcher::Dispatch(GrpcCall call, Done done) {
  const MethodRoute* route = router_->Find(call.method);
  if (route == nullptr) {
    std::move(done)(
        Refused(absl::UnimplementedError(absl::StrCat(
                    "unknown method ", absl::CHexEscape(call.method))),
                gateway_reason::kUnknownMethod));
    return nullptr;
  }
  absl::Status metadata = ValidateRegion(call.region);
  if (metadata.ok()) metadata = ValidateLanguage(call.language);
  absl::StatusOr<ApiCall> api =
      metadata.ok() ? PrepareCall(*route, call) : metadata;
  if (!api.ok()) {
    GrpcResult result = Refused(
        api.status(), !metadata.ok() ? gateway_reason::kInvalidMetadata
                      : api.status().code() == absl::StatusCode::kInternal
                          ? gateway_reason::kInternal
                          : gateway_reason::kInvalidRequest);
    result.service = route->service;
    result.action = route->action;
    result.region = call.region;
    std::move(done)(std::move(result));
    return nullptr;
  }
  if (!allow_list_.Allows(api->service, api->action)) {
    GrpcResult result = Refused(absl::PermissionDeniedError(absl::StrCat(
                                    "action ", api->service, ":", api->action,
                                    " is not on the gateway's allow-list")),
                                gateway_reason::kActionNotAllowed);
    result.service = api->service;
    result.action = api->action;
    result.region = api->region;
    std::move(done)(std::move(result));
    return nullptr;
  }
  CallAttempts::Setup setup;
  setup.route = route;
  setup.context = {.service = api->service,
                   .version = api->version,
                   .action = api->action,
                   .region = api->region,
                   .language = api->language,
                   .domain = ErrorDomain(*route, api->service)};
  setup.record_attempts = call.record_attempts;
  const bool client_token = HasClientToken(api->body);
  setup.may_send_twice = retry_policy_.MaySendTwice(api->action, client_token);
  setup.api = *std::move(api);
  setup.api.must_not_repeat = !setup.may_send_twice;
  setup.table = &options_.status_table;
  setup.policy = &retry_policy_;
  setup.upstream = upstream_;
  setup.gates = &gates_;
  setup.completions = &completions_;
  setup.done = std::move(done);
  // Identical reads in flight share one request (docs/operations.md,
  // "Coalesced reads").
  if (coalescer_->Covers(setup.api, client_token)) {
    return coalescer_->Start(std::move(setup));
  }
  return CallAttempts::Start(std::move(setup));
}

}  // namespace envelope
