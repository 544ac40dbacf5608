#include "gateway/upstream/upstream.h"

#include <curl/curl.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "gateway/credentials/chain.h"
#include "gateway/upstream/tc3_signer.h"
#include "gateway/version/version.h"

namespace envelope {
namespace {

constexpr char kContentType[] = "application/json; charset=utf-8";

// Who calls, as the official SDKs tell the API, and the HTTP client that
// carries it (docs/operations.md, "What the upstream sees"): the same on
// every request, built once.
const std::string& RequestClient() {
  static const std::string* client =
      new std::string(absl::StrCat("envelope-gateway/", kVersion));
  return *client;
}

const std::string& UserAgent() {
  static const std::string* agent = new std::string(
      absl::StrCat(RequestClient(), " libcurl/",
                   curl_version_info(CURLVERSION_NOW)->version));
  return *agent;
}

}  // namespace

absl::Status ValidateEndpoint(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://") &&
      !absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError("must start with https:// or http://");
  }
  if (rest.empty() || rest[0] == '/') {
    return absl::InvalidArgumentError("names no host");
  }
  // No user info, query, fragment, space or control character: the URL's
  // authority is sent as the Host header and signed.
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f ||
        absl::string_view("?#@\\").find(c) != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          "has a character a host and port cannot have");
    }
  }
  size_t slash = rest.find('/');
  if (slash != absl::string_view::npos && slash + 1 != rest.size()) {
    return absl::InvalidArgumentError(
        "has a path; the API is always called at /");
  }
  return absl::OkStatus();
}

Upstream::Upstream(UpstreamOptions options)
    : options_(std::move(options)), http_(options_.http) {}

absl::StatusOr<std::string> Upstream::EndpointUrl(const ApiCall& call) const {
  // A route's own endpoint was checked when the router loaded it.
  absl::string_view endpoint = call.endpoint;
  if (endpoint.empty()) {
    auto it = options_.service_endpoints.find(call.service);
    endpoint = it != options_.service_endpoints.end()
                   ? it->second
                   : options_.endpoint_template;
  }
  if (call.region.empty() && absl::StrContains(endpoint, "{region}")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the endpoint of ", call.service,
        " needs a region: set x-tc-region metadata or the gateway's --region"));
  }
  return absl::StrReplaceAll(
      endpoint, {{"{service}", call.service}, {"{region}", call.region}});
}

absl::StatusOr<HttpRequest> Upstream::BuildRequest(const ApiCall& call) const {
  absl::StatusOr<std::string> url = EndpointUrl(call);
  if (!url.ok()) return url.status();
  HttpRequest request;
  request.url = *std::move(url);
  request.max_response_bytes = options_.max_response_bytes;
  absl::Time now = absl::Now();
  request.timeout = call.deadline == absl::InfiniteFuture()
                        ? options_.default_timeout
                        : call.deadline - now;
  if (request.timeout <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError(
        "the call's deadline passed before the upstream request was sent");
  }
  request.body = call.body;
  request.fresh_connection = call.must_not_repeat;
  const int64_t timestamp = absl::ToUnixSeconds(now);
  const absl::AlphaNum timestamp_text(timestamp);  // formatted in place
  // Stays valid: request.url does not change from here on.
  const absl::string_view host = UrlAuthority(request.url);
  HttpHeaders& h = request.headers;
  h.Add("Host", host);
  const absl::string_view content_type =
      call.content_type.empty() ? absl::string_view(kContentType)
                                : absl::string_view(call.content_type);
  h.Add("Content-Type", content_type);
  h.Add("X-TC-Action", call.action);
  h.Add("X-TC-Version", call.version);
  h.Add("X-TC-Timestamp", timestamp_text.Piece());
  if (!call.region.empty()) h.Add("X-TC-Region", call.region);
  if (!call.language.empty()) h.Add("X-TC-Language", call.language);
  // Not signed (SignedHeaders stays content-type;host, docs/design.md).
  h.Add("X-TC-RequestClient", RequestClient());
  h.Add("User-Agent", UserAgent());
  if (call.attempt_span_id != 0) {
    // The attempt's own span is the parent the API sees (docs/operations.md,
    // "Traces").
    char traceparent[trace::kTraceparentSize];
    trace::FormatTraceparent(call.trace.trace_id, call.attempt_span_id,
                             call.trace.flags, traceparent);
    h.Add("traceparent",
          absl::string_view(traceparent, trace::kTraceparentSize));
    if (!call.trace.tracestate.empty()) {
      h.Add("tracestate", call.trace.tracestate);
    }
  }
  if (options_.signing == Signing::kTc3) {
    absl::StatusOr<Credentials> current = options_.credentials->Get();
    if (!current.ok()) {
      return absl::UnavailableError(
          absl::StrCat("no usable credentials: ", current.status().message()));
    }
    const Credentials& credentials = *current;
    if (IsUnsigned(credentials)) return request;  // the "none" source
    h.Add("Authorization",
          Tc3Authorization(credentials, {.service = call.service,
                                         .host = host,
                                         .content_type = content_type,
                                         .body = call.body,
                                         .timestamp = timestamp}));
    if (!credentials.session_token.empty()) {
      h.Add("X-TC-Token", credentials.session_token);
    }
  }
  return request;
}

namespace {

// Why BuildRequest could not build a request, from its status code.
TransportFault NotSentFault(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
      return TransportFault::kNoRegion;
    case absl::StatusCode::kDeadlineExceeded:
      return TransportFault::kTimeout;
    default:  // kUnavailable
      return TransportFault::kNoCredentials;
  }
}

}  // namespace

HttpClient::TransferId Upstream::Send(const ApiCall& call,
                                      HttpClient::Callback done) {
  absl::StatusOr<HttpRequest> request = BuildRequest(call);
  if (!request.ok()) {
    HttpResponse response;
    response.transport = request.status();
    response.fault = NotSentFault(request.status().code());
    std::move(done)(std::move(response));
    return 0;
  }
  return http_.Send(*std::move(request), std::move(done));
}

}  // namespace envelope
