// envelope-gateway: gRPC in front, envelope-style JSON API behind.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gateway/credentials/chain.h"
#include "gateway/front/server.h"
#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/dispatcher.h"
#include "gateway/route/router.h"
#include "gateway/upstream/upstream.h"

ABSL_FLAG(std::vector<std::string>, listen, {"127.0.0.1:50051"},
          "gRPC listen addresses, comma-separated (host:port or unix:PATH)");
ABSL_FLAG(std::string, endpoint, "https://{service}.tencentcloudapi.com",
          "upstream endpoint template; {service} and {region} are filled per "
          "call. Plain http:// is for local emulators and tests");
ABSL_FLAG(std::vector<std::string>, service_endpoint, {},
          "per-service endpoint overrides, comma-separated service=URL");
ABSL_FLAG(std::string, region, "",
          "default region (X-TC-Region) when a call names none");
ABSL_FLAG(std::string, signing, "tc3",
          "tc3: sign with TC3-HMAC-SHA256 using TENCENTCLOUD_SECRET_ID / "
          "TENCENTCLOUD_SECRET_KEY / TENCENTCLOUD_SESSION_TOKEN; none: send "
          "unsigned (local emulators, APIs without signatures)");
ABSL_FLAG(std::vector<std::string>, credential_sources, {},
          "credential sources in order, comma-separated: config, files, env, "
          "profile, tke-oidc, cvm-role, none; empty: files, env, profile, "
          "tke-oidc (and cvm-role with --use-metadata); see "
          "docs/credentials.md");
ABSL_FLAG(std::string, secret_dir, "",
          "a mounted Secret holding files secret_id, secret_key and optional "
          "session_token; re-read when it changes");
ABSL_FLAG(std::string, credentials_file, "",
          "Tencent Cloud profile file; empty: $TENCENTCLOUD_CREDENTIALS_FILE "
          "or ~/.tencentcloud/credentials");
ABSL_FLAG(std::string, credentials_profile, "",
          "profile in the profile file; empty: $TENCENTCLOUD_PROFILE or "
          "default");
ABSL_FLAG(bool, use_metadata, false,
          "try the CVM instance role from the metadata service");
ABSL_FLAG(std::string, metadata_url,
          "http://metadata.tencentyun.com/latest/meta-data/",
          "base URL of the CVM metadata service");
ABSL_FLAG(std::string, sts_endpoint, "https://sts.tencentcloudapi.com/",
          "STS endpoint for TKE OIDC (AssumeRoleWithWebIdentity)");
ABSL_FLAG(absl::Duration, refresh_before_expiry, absl::Minutes(5),
          "temporary credentials are renewed this long before they expire");
ABSL_FLAG(std::vector<std::string>, descriptor_set, {},
          "extra descriptor sets (protoc --descriptor_set_out "
          "--include_imports), comma-separated paths");
ABSL_FLAG(std::vector<std::string>, status_override, {},
          "status table overrides, comma-separated CODE_OR_PREFIX=GRPC_CODE, "
          "e.g. ResourceInUse=UNAVAILABLE");
ABSL_FLAG(std::string, error_domain, "tencentcloudapi.com",
          "google.rpc.ErrorInfo.domain of upstream errors");
ABSL_FLAG(absl::Duration, default_timeout, absl::Seconds(30),
          "bound of an upstream exchange when the caller sets no deadline");
ABSL_FLAG(int32_t, max_attempts, 3,
          "upstream attempts per call, the first included (1: no retries)");
ABSL_FLAG(absl::Duration, initial_backoff, absl::Milliseconds(100),
          "backoff before the first retry of a transport failure; doubles "
          "per retry, with jitter");
ABSL_FLAG(absl::Duration, max_backoff, absl::Seconds(5),
          "largest backoff between two attempts");
ABSL_FLAG(absl::Duration, rate_limit_backoff, absl::Seconds(1),
          "backoff before retrying RequestLimitExceeded (doubles per retry); "
          "also the RetryInfo delay when no retry is left");
ABSL_FLAG(bool, retry_rate_limited, true,
          "retry calls answered RequestLimitExceeded*");
ABSL_FLAG(std::vector<std::string>, idempotent_prefixes,
          (std::vector<std::string>{"Describe", "List", "Get", "Query"}),
          "actions with these prefixes may be sent again after a failure "
          "once the request left (so may any carrying a ClientToken)");
ABSL_FLAG(std::vector<std::string>, idempotent_actions, {},
          "more actions that may be sent again, by name");
ABSL_FLAG(std::vector<std::string>, non_idempotent_actions, {},
          "actions never sent again once the request left, even if a prefix "
          "matches");
ABSL_FLAG(std::string, ca_file, "",
          "CA bundle (PEM) to verify upstream servers; empty: the system's");
ABSL_FLAG(std::vector<std::string>, connect_to, {},
          "connect elsewhere, keeping the URL's host for SNI, Host and the "
          "certificate: HOST:PORT:CONNECT_HOST:CONNECT_PORT (curl syntax)");
ABSL_FLAG(std::string, proxy, "",
          "upstream proxy URL; empty: HTTPS_PROXY / https_proxy / ALL_PROXY "
          "from the environment");
ABSL_FLAG(std::string, no_proxy, "",
          "hosts never proxied, comma-separated; empty: NO_PROXY from the "
          "environment");
ABSL_FLAG(int32_t, max_connections_per_host, 32,
          "cap of simultaneous upstream connections to one host");
ABSL_FLAG(bool, http2, true, "offer HTTP/2 to TLS upstreams (ALPN)");
ABSL_FLAG(bool, allow_plain_http_routes, false,
          "let route options in descriptors name plain http:// endpoints");
ABSL_FLAG(int64_t, max_response_bytes, 16 << 20,
          "largest upstream response body accepted");
ABSL_FLAG(int64_t, max_request_bytes, 4 << 20,
          "largest gRPC request message accepted");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(20),
          "time in-flight calls get to finish after SIGTERM");

namespace envelope {
namespace {

constexpr int kConfigError = 2;

[[noreturn]] void ConfigError(absl::string_view message) {
  std::cerr << "envelope-gateway: " << message << std::endl;
  std::exit(kConfigError);
}

std::shared_ptr<const CredentialSource> CredentialsFromFlags() {
  CredentialOptions options;
  options.sources = absl::GetFlag(FLAGS_credential_sources);
  options.secret_dir = absl::GetFlag(FLAGS_secret_dir);
  options.profile_file = absl::GetFlag(FLAGS_credentials_file);
  options.profile_name = absl::GetFlag(FLAGS_credentials_profile);
  options.use_metadata = absl::GetFlag(FLAGS_use_metadata);
  options.metadata_url = absl::GetFlag(FLAGS_metadata_url);
  options.sts_endpoint = absl::GetFlag(FLAGS_sts_endpoint);
  options.refresh_before_expiry = absl::GetFlag(FLAGS_refresh_before_expiry);
  absl::StatusOr<std::unique_ptr<CredentialSource>> chain =
      MakeCredentialChain(options);
  if (!chain.ok()) {
    ConfigError(absl::StrCat("credentials: ", chain.status().message()));
  }
  CredentialState state = CheckCredentials(**chain);
  if (state.ready) {
    std::cerr << "envelope-gateway: credentials from " << state.source
              << std::endl;
  } else {
    // Not fatal: a rotation or a metadata service may come up later. Calls
    // get UNAVAILABLE meanwhile and the gateway reports not-ready.
    std::cerr << "envelope-gateway: no usable credentials yet: "
              << state.message << std::endl;
  }
  return *std::move(chain);
}

std::vector<Router::DescriptorSet> DescriptorSets() {
  std::vector<Router::DescriptorSet> sets;
  sets.push_back({"bundled", std::string(BundledDescriptorSet())});
  for (const std::string& path : absl::GetFlag(FLAGS_descriptor_set)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) ConfigError(absl::StrCat("--descriptor-set: cannot read ", path));
    std::stringstream bytes;
    bytes << in.rdbuf();
    sets.push_back({path, bytes.str()});
  }
  return sets;
}

UpstreamOptions UpstreamFromFlags() {
  UpstreamOptions options;
  options.endpoint_template = absl::GetFlag(FLAGS_endpoint);
  for (const std::string& entry : absl::GetFlag(FLAGS_service_endpoint)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, '=');
    if (kv.first.empty() || kv.second.empty()) {
      ConfigError(absl::StrCat("--service-endpoint: \"", entry,
                               "\" is not service=URL"));
    }
    options.service_endpoints[kv.first] = kv.second;
  }
  const std::string signing = absl::GetFlag(FLAGS_signing);
  if (signing == "none") {
    options.signing = Signing::kNone;
  } else if (signing == "tc3") {
    options.credentials = CredentialsFromFlags();
  } else {
    ConfigError(
        absl::StrCat("--signing: \"", signing, "\" is not one of tc3, none"));
  }
  options.default_timeout = absl::GetFlag(FLAGS_default_timeout);
  options.max_response_bytes = absl::GetFlag(FLAGS_max_response_bytes);
  options.allow_plain_http_routes =
      absl::GetFlag(FLAGS_allow_plain_http_routes);
  HttpClientOptions& http = options.http;
  http.ca_file = absl::GetFlag(FLAGS_ca_file);
  http.connect_to = absl::GetFlag(FLAGS_connect_to);
  http.proxy = absl::GetFlag(FLAGS_proxy);
  http.no_proxy = absl::GetFlag(FLAGS_no_proxy);
  http.max_connections_per_host = absl::GetFlag(FLAGS_max_connections_per_host);
  http.http2 = absl::GetFlag(FLAGS_http2);
  if (http.max_connections_per_host < 1) {
    ConfigError("--max-connections-per-host: must be at least 1");
  }
  return options;
}

DispatcherOptions DispatcherFromFlags() {
  DispatcherOptions options;
  options.default_region = absl::GetFlag(FLAGS_region);
  if (!ValidateRegion(options.default_region).ok()) {
    ConfigError(absl::StrCat("--region: \"", options.default_region,
                             "\" is not a region name"));
  }
  options.error_domain = absl::GetFlag(FLAGS_error_domain);
  options.default_timeout = absl::GetFlag(FLAGS_default_timeout);
  RetryOptions& retry = options.retry;
  retry.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  retry.initial_backoff = absl::GetFlag(FLAGS_initial_backoff);
  retry.max_backoff = absl::GetFlag(FLAGS_max_backoff);
  retry.rate_limit_backoff = absl::GetFlag(FLAGS_rate_limit_backoff);
  retry.retry_rate_limited = absl::GetFlag(FLAGS_retry_rate_limited);
  retry.idempotent_prefixes = absl::GetFlag(FLAGS_idempotent_prefixes);
  retry.idempotent_actions = absl::GetFlag(FLAGS_idempotent_actions);
  retry.non_idempotent_actions = absl::GetFlag(FLAGS_non_idempotent_actions);
  if (retry.max_attempts < 1) ConfigError("--max-attempts: must be at least 1");
  for (const std::string& entry : absl::GetFlag(FLAGS_status_override)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, '=');
    absl::StatusCode code;
    if (kv.first.empty() || !ParseStatusCodeName(kv.second, &code)) {
      ConfigError(absl::StrCat("--status-override: \"", entry,
                               "\" is not CODE=GRPC_CODE (e.g. NOT_FOUND)"));
    }
    options.status_table.Set(kv.first, code);
  }
  return options;
}

int WaitForSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal = 0;
  sigwait(&signals, &signal);
  return signal;
}

int Run() {
  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<Router>> router =
      Router::Create(DescriptorSets());
  if (!router.ok()) ConfigError(router.status().message());
  Upstream upstream(UpstreamFromFlags());
  Dispatcher dispatcher(router->get(), &upstream, DispatcherFromFlags());

  ServerOptions server_options;
  server_options.listen = absl::GetFlag(FLAGS_listen);
  server_options.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  absl::StatusOr<std::unique_ptr<GatewayServer>> server =
      GatewayServer::Start(server_options, router->get(), &dispatcher);
  if (!server.ok()) ConfigError(server.status().message());
  for (size_t i = 0; i < server_options.listen.size(); ++i) {
    std::string address = server_options.listen[i];
    if ((*server)->ports()[i] != 0) {
      address = absl::StrCat(address.substr(0, address.rfind(':')), ":",
                             (*server)->ports()[i]);
    }
    std::cout << "envelope-gateway listening on " << address << std::endl;
  }
  std::cerr << "envelope-gateway: routing " << (*router)->ServiceNames().size()
            << " services, endpoint " << absl::GetFlag(FLAGS_endpoint)
            << std::endl;

  int signal = WaitForSignal();
  std::cerr << "envelope-gateway: signal " << signal << ", draining"
            << std::endl;
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  (*server)->Wait();
  server->reset();
  return 0;
}

}  // namespace
}  // namespace envelope

namespace {

// Flags whose values add up when the flag is repeated
// (--descriptor-set=a.pb --descriptor-set=b.pb), as users of other tools
// expect; absl would keep only the last.
constexpr absl::string_view kListFlags[] = {
    "listen", "descriptor_set", "status_override", "service_endpoint"};

// Rewrites argv: dashes in flag names become underscores (absl's spelling;
// users and the docs write --descriptor-set) and repeated list flags are
// merged into one comma-separated value.
std::vector<std::string> NormalizeArgs(int argc, char** argv) {
  std::vector<std::string> args = {argv[0]};
  absl::flat_hash_map<std::string, size_t> list_positions;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") flags_done = true;
    if (flags_done || arg.size() < 3 || arg.substr(0, 2) != "--") {
      args.push_back(arg);
      continue;
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
    absl::StrReplaceAll({{"-", "_"}}, &name);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    bool is_list = std::find(std::begin(kListFlags), std::end(kListFlags),
                             name) != std::end(kListFlags);
    if (is_list && eq != std::string::npos) {
      auto [it, fresh] = list_positions.emplace(name, args.size());
      if (!fresh) {
        absl::StrAppend(&args[it->second], ",", value);
        continue;
      }
    }
    args.push_back(eq == std::string::npos
                       ? "--" + name
                       : absl::StrCat("--", name, "=", value));
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args = NormalizeArgs(argc, argv);
  std::vector<char*> arg_pointers;
  for (std::string& arg : args) arg_pointers.push_back(arg.data());
  absl::SetProgramUsageMessage(
      "gRPC sidecar for envelope-style JSON APIs (Tencent Cloud API 3.0).\n"
      "  envelope-gateway --endpoint=http://127.0.0.1:8080 --signing=none");
  absl::ParseCommandLine(static_cast<int>(arg_pointers.size()),
                         arg_pointers.data());
  return envelope::Run();
}
