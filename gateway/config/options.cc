#include "gateway/config/options.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace envelope::config_internal {
namespace {

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

// Typed field binders: each returns {set, show} for a member of the config.
using Setter = std::function<absl::Status(absl::string_view, GatewayConfig&)>;
using Shower = std::function<std::string(const GatewayConfig&)>;

template <typename Get>
std::pair<Setter, Shower> Text(Get get) {
  return {[get](absl::string_view text, GatewayConfig& c) {
            get(c) = std::string(text);
            return absl::OkStatus();
          },
          [get](const GatewayConfig& c) {
            return get(const_cast<GatewayConfig&>(c));
          }};
}

template <typename Get>
std::pair<Setter, Shower> Bool(Get get) {
  return {[get](absl::string_view text, GatewayConfig& c) {
            std::string v = absl::AsciiStrToLower(text);
            if (v == "true" || v == "1" || v == "yes" || v.empty()) {
              get(c) = true;
            } else if (v == "false" || v == "0" || v == "no") {
              get(c) = false;
            } else {
              return Invalid("expected true or false");
            }
            return absl::OkStatus();
          },
          [get](const GatewayConfig& c) {
            return std::string(get(const_cast<GatewayConfig&>(c)) ? "true"
                                                                  : "false");
          }};
}

template <typename T, typename Get>
std::pair<Setter, Shower> Number(Get get, T min) {
  return {[get, min](absl::string_view text, GatewayConfig& c) {
            T value;
            if (!absl::SimpleAtoi(text, &value)) {
              return Invalid("expected a whole number");
            }
            if (value < min)
              return Invalid(absl::StrCat("must be at least ", min));
            get(c) = value;
            return absl::OkStatus();
          },
          [get](const GatewayConfig& c) {
            return absl::StrCat(get(const_cast<GatewayConfig&>(c)));
          }};
}

template <typename Get>
std::pair<Setter, Shower> Duration(Get get) {
  return {[get](absl::string_view text, GatewayConfig& c) {
            absl::Duration d;
            if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
              return Invalid("expected a duration like 250ms, 5s or 1m");
            }
            get(c) = d;
            return absl::OkStatus();
          },
          [get](const GatewayConfig& c) {
            return absl::FormatDuration(get(const_cast<GatewayConfig&>(c)));
          }};
}

template <typename Get>
std::pair<Setter, Shower> Fraction(Get get, double min, double max) {
  return {[get, min, max](absl::string_view text, GatewayConfig& c) {
            double value;
            if (!absl::SimpleAtod(text, &value) || !(value >= min) ||
                !(value <= max)) {
              return Invalid(
                  absl::StrCat("expected a number from ", min, " to ", max));
            }
            get(c) = value;
            return absl::OkStatus();
          },
          [get](const GatewayConfig& c) {
            return absl::StrCat(get(const_cast<GatewayConfig&>(c)));
          }};
}

// A list: each occurrence appends its comma-separated items.
template <typename Get>
std::pair<Setter, Shower> List(Get get) {
  return {[get](absl::string_view text, GatewayConfig& c) {
            for (absl::string_view item :
                 absl::StrSplit(text, ',', absl::SkipWhitespace())) {
              get(c).push_back(std::string(absl::StripAsciiWhitespace(item)));
            }
            return absl::OkStatus();
          },
          [get](const GatewayConfig& c) {
            return absl::StrJoin(get(const_cast<GatewayConfig&>(c)), ",");
          }};
}

// Entries "key=value", comma-separated; `add` validates and stores one.
std::pair<Setter, Shower> Pairs(
    std::function<absl::Status(absl::string_view, absl::string_view,
                               GatewayConfig&)>
        add) {
  return {[add](absl::string_view text, GatewayConfig& c) {
            for (absl::string_view item :
                 absl::StrSplit(text, ',', absl::SkipWhitespace())) {
              std::pair<absl::string_view, absl::string_view> kv =
                  absl::StrSplit(item, absl::MaxSplits('=', 1));
              kv.first = absl::StripAsciiWhitespace(kv.first);
              kv.second = absl::StripAsciiWhitespace(kv.second);
              if (kv.first.empty() || kv.second.empty()) {
                return Invalid(absl::StrCat("\"", item, "\" is not KEY=VALUE"));
              }
              absl::Status status = add(kv.first, kv.second, c);
              if (!status.ok()) return status;
            }
            return absl::OkStatus();
          },
          [](const GatewayConfig&) { return std::string(); }};
}

Option Make(const char* name, const char* value_doc, const char* help,
            std::pair<Setter, Shower> binder, bool list = false) {
  return Option{name,
                value_doc,
                help,
                list,
                std::move(binder.first),
                std::move(binder.second)};
}

// A list whose default is replaced, not extended, by a setting.
template <typename Get>
std::pair<Setter, Shower> ReplacingList(Get get) {
  auto [append, show] = List(get);
  return {[get, append = append](absl::string_view text, GatewayConfig& c) {
            get(c).clear();
            return append(text, c);
          },
          show};
}

absl::Status AddServiceEndpoint(absl::string_view service,
                                absl::string_view url, GatewayConfig& c) {
  c.upstream.service_endpoints[service] = std::string(url);
  return absl::OkStatus();
}

absl::Status AddServiceErrorDomain(absl::string_view service,
                                   absl::string_view domain, GatewayConfig& c) {
  c.dispatcher.service_error_domains[service] = std::string(domain);
  return absl::OkStatus();
}

absl::Status AddStatusOverride(absl::string_view code,
                               absl::string_view grpc_code, GatewayConfig& c) {
  absl::StatusCode status;
  if (!ParseStatusCodeName(grpc_code, &status)) {
    return Invalid(absl::StrCat("\"", grpc_code,
                                "\" is not a gRPC code name like NOT_FOUND"));
  }
  if (code == StatusTable::kAnyOtherCode && status == absl::StatusCode::kOk) {
    return Invalid(
        "\"*\" cannot be OK: every unknown failure would look "
        "like a success");
  }
  c.dispatcher.status_table.Set(code, status);
  return absl::OkStatus();
}

std::pair<Setter, Shower> SigningBinder() {
  return {[](absl::string_view text, GatewayConfig& c) {
            if (text == "tc3") {
              c.upstream.signing = Signing::kTc3;
            } else if (text == "none") {
              c.upstream.signing = Signing::kNone;
            } else {
              return Invalid("expected tc3 or none");
            }
            return absl::OkStatus();
          },
          [](const GatewayConfig& c) {
            return std::string(c.upstream.signing == Signing::kTc3 ? "tc3"
                                                                   : "none");
          }};
}

std::pair<Setter, Shower> LogLevelBinder() {
  return {[](absl::string_view text, GatewayConfig& c) {
            if (text != "debug" && text != "info" && text != "warning" &&
                text != "error") {
              return Invalid("expected debug, info, warning or error");
            }
            c.log_level = std::string(text);
            return absl::OkStatus();
          },
          [](const GatewayConfig& c) { return c.log_level; }};
}

std::vector<Option> BuildOptions() {
  return {
      Make("listen", "ADDR",
           "gRPC listen addresses: host:port or unix:/path (repeatable). "
           "Loopback by default: a sidecar is reached from its own pod.",
           ReplacingList([](GatewayConfig & c) -> auto& { return c.listen; }),
           /*list=*/true),
      Make("admin_listen", "ADDR",
           "admin HTTP address for /healthz, /readyz and /metrics (IPv4 "
           "host:port or :port); empty: none",
           Text([](GatewayConfig & c) -> auto& { return c.admin_listen; })),
      Make("endpoint", "URL",
           "upstream endpoint template; {service} and {region} are filled per "
           "call; plain http:// is for local emulators",
           Text([](GatewayConfig & c) -> auto& {
             return c.upstream.endpoint_template;
           })),
      Make("service_endpoint", "SERVICE=URL",
           "per-service endpoint overrides (repeatable)",
           Pairs(AddServiceEndpoint), /*list=*/true),
      Make("region", "REGION",
           "region sent as X-TC-Region when a call names none",
           Text([](GatewayConfig & c) -> auto& {
             return c.dispatcher.default_region;
           })),
      Make("signing", "tc3|none",
           "tc3: sign with the credential chain; none: send unsigned",
           SigningBinder()),
      Make("credential_sources", "LIST",
           "credential sources in order: config, files, env, profile, "
           "tke-oidc, cvm-role, none (default: files, env, profile, tke-oidc)",
           List([](GatewayConfig & c) -> auto& {
             return c.credentials.sources;
           }),
           /*list=*/true),
      Make("secret_id", "ID",
           "the 'config' credential source's SecretId (prefer secret_dir: "
           "flags show in ps)",
           Text([](GatewayConfig & c) -> auto& {
             return c.credentials.secret_id;
           })),
      Make("secret_key", "KEY", "the 'config' credential source's SecretKey",
           Text([](GatewayConfig & c) -> auto& {
             return c.credentials.secret_key;
           })),
      Make("session_token", "TOKEN",
           "the 'config' credential source's token, for temporary credentials",
           Text([](GatewayConfig & c) -> auto& {
             return c.credentials.session_token;
           })),
      Make("secret_dir", "DIR",
           "mounted Secret with files secret_id, secret_key, optional "
           "session_token; re-read on change",
           Text([](GatewayConfig & c) -> auto& {
             return c.credentials.secret_dir;
           })),
      Make("secret_poll_interval", "DURATION",
           "how often secret_dir is checked for a rotation",
           Duration([](GatewayConfig & c) -> auto& {
             return c.credentials.file_poll_interval;
           })),
      Make("credentials_file", "FILE",
           "Tencent Cloud profile file (default $TENCENTCLOUD_CREDENTIALS_FILE "
           "or ~/.tencentcloud/credentials)",
           Text([](GatewayConfig & c) -> auto& {
             return c.credentials.profile_file;
           })),
      Make("credentials_profile", "NAME",
           "profile in the profile file (default $TENCENTCLOUD_PROFILE or "
           "default)",
           Text([](GatewayConfig & c) -> auto& {
             return c.credentials.profile_name;
           })),
      Make("use_metadata", "BOOL",
           "try the CVM instance role from the metadata service",
           Bool([](GatewayConfig & c) -> auto& {
             return c.credentials.use_metadata;
           })),
      Make("metadata_url", "URL", "base URL of the CVM metadata service",
           Text([](GatewayConfig & c) -> auto& {
             return c.credentials.metadata_url;
           })),
      Make("sts_endpoint", "URL",
           "STS endpoint for TKE OIDC (AssumeRoleWithWebIdentity)",
           Text([](GatewayConfig & c) -> auto& {
             return c.credentials.sts_endpoint;
           })),
      Make("refresh_before_expiry", "DURATION",
           "temporary credentials are renewed this long before they expire",
           Duration([](GatewayConfig & c) -> auto& {
             return c.credentials.refresh_before_expiry;
           })),
      Make("descriptor_set", "FILE",
           "extra descriptor sets (protoc --include_imports "
           "--descriptor_set_out), repeatable",
           List([](GatewayConfig & c) -> auto& { return c.descriptor_sets; }),
           /*list=*/true),
      Make("status_override", "CODE=GRPC_CODE",
           "status table overrides by exact code or dotted prefix, e.g. "
           "ResourceInUse=UNAVAILABLE; * is every code no row covers "
           "(repeatable)",
           Pairs(AddStatusOverride), /*list=*/true),
      Make("error_domain", "DOMAIN",
           "google.rpc.ErrorInfo.domain of upstream errors",
           Text([](GatewayConfig & c) -> auto& {
             return c.dispatcher.error_domain;
           })),
      Make("service_error_domain", "SERVICE=DOMAIN",
           "per-service ErrorInfo.domain of upstream errors (repeatable)",
           Pairs(AddServiceErrorDomain), /*list=*/true),
      Make(
          "gateway_error_domain", "DOMAIN",
          "ErrorInfo.domain of the gateway's own refusals (ACTION_NOT_ALLOWED)",
          Text([](GatewayConfig & c) -> auto& {
            return c.dispatcher.gateway_error_domain;
          })),
      Make("allowed_actions", "LIST",
           "allow-list of actions: Action, Glob*, or service:Action / "
           "service:Glob*; empty: every action",
           List([](GatewayConfig & c) -> auto& {
             return c.dispatcher.allowed_actions;
           }),
           /*list=*/true),
      Make("default_timeout", "DURATION",
           "bound of the whole upstream exchange when the caller sets no "
           "deadline",
           Duration([](GatewayConfig & c) -> auto& {
             return c.dispatcher.default_timeout;
           })),
      Make("max_attempts", "N",
           "upstream attempts per call, the first included (1: no retries)",
           Number<int>(
               [](GatewayConfig & c) -> auto& {
                 return c.dispatcher.retry.max_attempts;
               },
               1)),
      Make("initial_backoff", "DURATION",
           "backoff before the first retry of a transport failure (doubles, "
           "with jitter)",
           Duration([](GatewayConfig & c) -> auto& {
             return c.dispatcher.retry.initial_backoff;
           })),
      Make("max_backoff", "DURATION", "largest backoff between two attempts",
           Duration([](GatewayConfig & c) -> auto& {
             return c.dispatcher.retry.max_backoff;
           })),
      Make("rate_limit_backoff", "DURATION",
           "backoff before retrying RequestLimitExceeded (doubles); the "
           "RetryInfo delay when none is left",
           Duration([](GatewayConfig & c) -> auto& {
             return c.dispatcher.retry.rate_limit_backoff;
           })),
      Make("retry_rate_limited", "BOOL", "retry RequestLimitExceeded*",
           Bool([](GatewayConfig & c) -> auto& {
             return c.dispatcher.retry.retry_rate_limited;
           })),
      Make("idempotent_prefixes", "LIST",
           "actions with these prefixes may be sent again after the request "
           "left",
           ReplacingList([](GatewayConfig & c) -> auto& {
             return c.dispatcher.retry.idempotent_prefixes;
           }),
           /*list=*/true),
      Make("idempotent_actions", "LIST",
           "more actions that may be sent again, by name",
           List([](GatewayConfig & c) -> auto& {
             return c.dispatcher.retry.idempotent_actions;
           }),
           /*list=*/true),
      Make("non_idempotent_actions", "LIST",
           "actions never sent again once the request left",
           List([](GatewayConfig & c) -> auto& {
             return c.dispatcher.retry.non_idempotent_actions;
           }),
           /*list=*/true),
      Make("coalesce_actions", "LIST",
           "idempotent actions whose identical concurrent calls share one "
           "upstream request: Action, Glob*, service:Action, service:Glob*",
           List([](GatewayConfig & c) -> auto& {
             return c.dispatcher.coalesced_actions;
           }),
           /*list=*/true),
      Make("rate_limit_default", "RATE",
           "requests per second each action may send at most (adapting "
           "below it when the API says RequestLimitExceeded); 0: not paced",
           Fraction(
               [](GatewayConfig & c) -> auto& {
                 return c.rate_limit.default_per_second;
               },
               0, 1e6)),
      Make("rate_limit", "ACTION=RATE",
           "an action's own rate: Action=RATE, Glob*=RATE, service:Action=RATE "
           "(the most specific wins; repeatable)",
           List([](GatewayConfig & c) -> auto& { return c.rate_limit.rules; }),
           /*list=*/true),
      Make("rate_limit_burst", "N",
           "requests an action may send at once after a quiet spell",
           Fraction(
               [](GatewayConfig & c) -> auto& {
                 return c.rate_limit.adapt.burst;
               },
               1, 1e6)),
      Make("rate_limit_service", "HOST:PORT",
           "Envoy rate limit service (envoy.service.ratelimit.v3) asked before "
           "each upstream attempt; empty: none",
           Text([](GatewayConfig & c) -> auto& {
             return c.rate_limit_service.address;
           })),
      Make("rate_limit_service_domain", "DOMAIN",
           "the domain of the rate limit service's requests",
           Text([](GatewayConfig & c) -> auto& {
             return c.rate_limit_service.domain;
           })),
      Make("rate_limit_service_account", "NAME",
           "the account descriptor's value; empty: the SecretId signing",
           Text([](GatewayConfig & c) -> auto& {
             return c.rate_limit_service.account;
           })),
      Make("rate_limit_service_timeout", "DURATION",
           "bound of one question to the rate limit service",
           Duration([](GatewayConfig & c) -> auto& {
             return c.rate_limit_service.timeout;
           })),
      Make("rate_limit_service_deny_when_unavailable", "BOOL",
           "refuse attempts (UNAVAILABLE) while the rate limit service cannot "
           "answer; false: let them go",
           Bool([](GatewayConfig & c) -> auto& {
             return c.rate_limit_service.deny_when_unavailable;
           })),
      Make("region_breaker", "BOOL",
           "stop sending to a region whose endpoint keeps failing (transport "
           "faults, 5xx)",
           Bool([](GatewayConfig & c) -> auto& {
             return c.region_breaker.enabled;
           })),
      Make("region_breaker_window", "DURATION",
           "how far back the breaker counts failures", Duration([
           ](GatewayConfig & c) -> auto& { return c.region_breaker.window; })),
      Make("region_breaker_min_failures", "N",
           "failures in the window before the breaker may open",
           Number<int>(
               [](GatewayConfig & c) -> auto& {
                 return c.region_breaker.min_failures;
               },
               1)),
      Make("region_breaker_failure_ratio", "RATIO",
           "share of failed attempts in the window that opens the breaker",
           Fraction(
               [](GatewayConfig & c) -> auto& {
                 return c.region_breaker.failure_ratio;
               },
               0, 1)),
      Make("region_breaker_open_for", "DURATION",
           "how long the breaker stays open before trying the region again",
           Duration([](GatewayConfig & c) -> auto& {
             return c.region_breaker.open_for;
           })),
      Make("region_breaker_half_open_probes", "N",
           "attempts let through at once when the open time is up; all must "
           "succeed for the breaker to close",
           Number<int>(
               [](GatewayConfig & c) -> auto& {
                 return c.region_breaker.half_open_probes;
               },
               1)),
      Make("region_breaker_backup_endpoint", "URL",
           "endpoint (template) attempts go to while the breaker is open; "
           "empty: they fail fast",
           Text([](GatewayConfig & c) -> auto& {
             return c.region_breaker.backup_endpoint;
           })),
      Make("ca_file", "FILE",
           "CA bundle (PEM) to verify upstream servers; empty: the system's",
           Text([](GatewayConfig & c) -> auto& {
             return c.upstream.http.ca_file;
           })),
      Make("connect_to", "HOST:PORT:CHOST:CPORT",
           "connect elsewhere, keeping the URL's host for SNI, Host and the "
           "certificate (repeatable)",
           List([](GatewayConfig & c) -> auto& {
             return c.upstream.http.connect_to;
           }),
           /*list=*/true),
      Make("proxy", "URL",
           "upstream proxy; empty: HTTPS_PROXY / https_proxy / http_proxy from "
           "the environment",
           Text([](GatewayConfig & c) -> auto& {
             return c.upstream.http.proxy;
           })),
      Make("no_proxy", "HOSTS",
           "hosts never proxied, comma-separated; empty: NO_PROXY from the "
           "environment",
           Text([](GatewayConfig & c) -> auto& {
             return c.upstream.http.no_proxy;
           })),
      Make("max_connections_per_host", "N",
           "cap of simultaneous upstream connections to one host",
           Number<long>(
               [](GatewayConfig & c) -> auto& {
                 return c.upstream.http.max_connections_per_host;
               },
               1L)),
      Make("http2", "BOOL", "offer HTTP/2 to TLS upstreams (ALPN)", Bool([
           ](GatewayConfig & c) -> auto& { return c.upstream.http.http2; })),
      Make("allow_plain_http_routes", "BOOL",
           "let route options in descriptors name plain http:// endpoints",
           Bool([](GatewayConfig & c) -> auto& {
             return c.allow_plain_http_routes;
           })),
      Make("max_request_bytes", "BYTES",
           "largest gRPC request message accepted",
           Number<size_t>(
               [](GatewayConfig & c) -> auto& { return c.max_request_bytes; },
               size_t{1})),
      Make("max_response_bytes", "BYTES",
           "largest upstream response body accepted (INTERNAL beyond)",
           Number<size_t>(
               [](GatewayConfig & c) -> auto& {
                 return c.upstream.max_response_bytes;
               },
               size_t{1})),
      Make("max_in_flight", "N",
           "calls in flight at most; more get UNAVAILABLE",
           Number<int>(
               [](GatewayConfig & c) -> auto& { return c.max_in_flight; }, 1)),
      Make("max_concurrent_streams", "N",
           "streams one gRPC connection may have open at once (HTTP/2 "
           "SETTINGS_MAX_CONCURRENT_STREAMS); clients queue calls beyond it",
           Number<int>(
               [](GatewayConfig & c) -> auto& {
                 return c.max_concurrent_streams;
               },
               1)),
      Make("request_message_timeout", "DURATION",
           "how long a call may take to send its request message after its "
           "headers (then DEADLINE_EXCEEDED); 0: no bound",
           Duration([](GatewayConfig & c) -> auto& {
             return c.request_message_timeout;
           })),
      Make("keepalive_time", "DURATION",
           "gRPC keepalive ping interval towards idle clients", Duration([
           ](GatewayConfig & c) -> auto& { return c.keepalive_time; })),
      Make("keepalive_timeout", "DURATION",
           "how long a keepalive ping may go unanswered", Duration([
           ](GatewayConfig & c) -> auto& { return c.keepalive_timeout; })),
      Make("shutdown_grace", "DURATION",
           "after SIGTERM, how long in-flight calls get to finish (keep below "
           "terminationGracePeriodSeconds)",
           Duration(
               [](GatewayConfig & c) -> auto& { return c.shutdown_grace; })),
      Make("log_level", "LEVEL",
           "diagnostics on stderr: debug, info, warning, error",
           LogLevelBinder()),
      Make("access_log", "BOOL", "one JSON line per call on stdout",
           Bool([](GatewayConfig & c) -> auto& { return c.access_log; })),
      Make("otlp_endpoint", "URL",
           "OpenTelemetry collector (OTLP/HTTP) the spans are sent to, at "
           "URL/v1/traces; empty: no spans",
           Text([](GatewayConfig & c) -> auto& { return c.otlp.endpoint; })),
      Make("otlp_queue_size", "N",
           "spans waiting to be sent at most; more are dropped and counted",
           Number<size_t>(
               [](GatewayConfig & c) -> auto& { return c.otlp.queue_size; },
               size_t{1})),
      Make("otlp_timeout", "DURATION", "bound of one request to the collector",
           Duration([](GatewayConfig & c) -> auto& { return c.otlp.timeout; })),
      Make("otlp_service_name", "NAME",
           "the spans' service.name resource attribute", Text([
           ](GatewayConfig & c) -> auto& { return c.otlp.service_name; })),
  };
}

}  // namespace

const std::vector<Option>& Options() {
  static const auto* options = new std::vector<Option>(BuildOptions());
  return *options;
}

const Option* FindOption(absl::string_view name) {
  for (const Option& option : Options()) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

}  // namespace envelope::config_internal
