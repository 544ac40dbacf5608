#include "gateway/fleet_limit/fleet_limit.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "gateway/envelope/reason.h"
#include "grpcpp/grpcpp.h"

namespace envelope {
namespace {

namespace rls = ::envoy::service::ratelimit::v3;

// What a refusal for an unanswered question suggests: the service may be
// back in a moment.
constexpr absl::Duration kUnavailableRetry = absl::Seconds(1);

// A channel that finds a restarted service again within seconds (gRPC's
// default backoff grows to two minutes, all the while answering
// UNAVAILABLE at once). GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is left alone:
// gRPC takes it as the connection attempt's timeout (20 s by default), and a
// short one fails every connection to a service slow to answer.
std::shared_ptr<grpc::Channel> Dial(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

std::string LimitText(const rls::RateLimitResponse::RateLimit& limit) {
  return absl::StrCat(
      limit.requests_per_unit(), " per ",
      absl::AsciiStrToLower(
          rls::RateLimitResponse::RateLimit::Unit_Name(limit.unit())));
}

}  // namespace

absl::Status ValidateRateLimitServiceAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:")) {
    if (address.size() == 5) {
      return absl::InvalidArgumentError("\"unix:\" names no socket path");
    }
    return absl::OkStatus();
  }
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not HOST:PORT (or unix:PATH)"));
  }
  absl::string_view host = address.substr(0, colon);
  const absl::string_view port_text = address.substr(colon + 1);
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535 ||
      port_text.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\": the port must be 1..65535"));
  }
  if (absl::StartsWith(host, "[")) {
    if (!absl::EndsWith(host, "]") || host.size() < 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", address, "\": an IPv6 host is [ADDRESS]"));
    }
    return absl::OkStatus();
  }
  if (host.empty() || host.find_first_of(":/ []") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not HOST:PORT (or unix:PATH)"));
  }
  return absl::OkStatus();
}

// The stub, the questions still open and the counts.
class FleetRateLimit::Client {
 public:
  Client(const FleetLimitOptions& options,
         std::shared_ptr<const CredentialSource> credentials,
         std::shared_ptr<grpc::Channel> channel)
      : options_(options),
        credentials_(std::move(credentials)),
        stub_(rls::RateLimitService::NewStub(channel)) {}

  ~Client() {
    absl::MutexLock lock(&mu_);
    for (Question* question : open_) question->context.TryCancel();
    mu_.Await(absl::Condition(
        +[](absl::flat_hash_set<Question*>* open) { return open->empty(); },
        &open_));
  }

  void Ask(const ApiCall& call, Verdict done);

  FleetLimitCounts counts() const {
    absl::MutexLock lock(&mu_);
    return counts_;
  }

 private:
  struct Question {
    grpc::ClientContext context;
    rls::RateLimitRequest request;
    rls::RateLimitResponse response;
    std::string what;  // "cvm:DescribeZones", for messages
    Verdict done;
  };

  void OnAnswer(Question* question, const grpc::Status& status);
  GateVerdict Unanswered(const Question& question, const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const FleetLimitOptions options_;
  const std::shared_ptr<const CredentialSource> credentials_;
  const std::unique_ptr<rls::RateLimitService::Stub> stub_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<Question*> open_ ABSL_GUARDED_BY(mu_);
  FleetLimitCounts counts_ ABSL_GUARDED_BY(mu_);
};

void FleetRateLimit::Client::Ask(const ApiCall& call, Verdict done) {
  std::string account = options_.account;
  if (account.empty()) {
    absl::StatusOr<Credentials> current = credentials_->Get();
    if (!current.ok()) {
      // Nothing can be signed: the attempt ends NO_CREDENTIALS anyway, and
      // asking would count a request the API never sees.
      std::move(done)(GateVerdict::Go());
      return;
    }
    account = std::move(current->secret_id);
  }
  auto question = std::make_unique<Question>();
  question->what = absl::StrCat(call.service, ":", call.action);
  question->done = std::move(done);
  question->request.set_domain(options_.domain);
  question->request.set_hits_addend(1);
  auto* descriptor = question->request.add_descriptors();
  auto add = [descriptor](const char* key, std::string value) {
    auto* entry = descriptor->add_entries();
    entry->set_key(key);
    entry->set_value(std::move(value));
  };
  add("account", std::move(account));
  add("service", call.service);
  add("action", call.action);
  // Never past the call's own deadline: the caller would not hear the
  // verdict.
  const absl::Time deadline =
      std::min(absl::Now() + options_.timeout, call.deadline);
  question->context.set_deadline(absl::ToChronoTime(deadline));
  Question* open = question.release();
  {
    absl::MutexLock lock(&mu_);
    open_.insert(open);
  }
  stub_->async()->ShouldRateLimit(
      &open->context, &open->request, &open->response,
      [this, open](grpc::Status status) { OnAnswer(open, status); });
}

GateVerdict FleetRateLimit::Client::Unanswered(const Question& question,
                                               const grpc::Status& status) {
  GateVerdict verdict;
  if (!options_.deny_when_unavailable) {
    ++counts_.failed_allowed;
    return verdict;
  }
  ++counts_.failed_denied;
  verdict.refusal.code = absl::StatusCode::kUnavailable;
  verdict.refusal.reason = gateway_reason::kRateLimitServiceUnavailable;
  verdict.refusal.message = absl::StrCat(
      "the rate limit service at ", options_.address, " did not answer for ",
      question.what, " (",
      status.ok()
          ? std::string("an answer with no code")
          : absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(
                             status.error_code())),
                         ": ", status.error_message()),
      "), and the gateway refuses calls meanwhile "
      "(rate_limit_service_deny_when_unavailable)");
  verdict.retry_after = kUnavailableRetry;
  return verdict;
}

void FleetRateLimit::Client::OnAnswer(Question* question,
                                      const grpc::Status& status) {
  std::unique_ptr<Question> owned(question);
  GateVerdict verdict;
  Verdict done;
  {
    absl::MutexLock lock(&mu_);
    const rls::RateLimitResponse::Code code = owned->response.overall_code();
    if (!status.ok() || code == rls::RateLimitResponse::UNKNOWN) {
      verdict = Unanswered(*owned, status);
    } else if (code == rls::RateLimitResponse::OVER_LIMIT) {
      ++counts_.over_limit;
      // The longest wait of the descriptors over their limit (one today).
      std::optional<absl::Duration> reset;
      std::string limit;
      for (const auto& descriptor : owned->response.statuses()) {
        if (descriptor.code() != rls::RateLimitResponse::OVER_LIMIT) continue;
        if (descriptor.has_current_limit() && limit.empty()) {
          limit = LimitText(descriptor.current_limit());
        }
        if (descriptor.has_duration_until_reset()) {
          const absl::Duration wait =
              absl::Seconds(descriptor.duration_until_reset().seconds()) +
              absl::Nanoseconds(descriptor.duration_until_reset().nanos());
          if (wait >= absl::ZeroDuration()) {
            reset = std::max(reset.value_or(wait), wait);
          }
        }
      }
      verdict.refusal.code = absl::StatusCode::kResourceExhausted;
      verdict.refusal.reason = gateway_reason::kFleetRateLimit;
      verdict.refusal.message = absl::StrCat(
          "the fleet's rate limit for ", owned->what,
          limit.empty() ? "" : absl::StrCat(" (", limit, ")"),
          " is reached, as the rate limit service says",
          reset.has_value() ? absl::StrCat("; its window resets in ",
                                           absl::FormatDuration(absl::Trunc(
                                               *reset, absl::Milliseconds(1))))
                            : "");
      verdict.retry_after = reset;
    } else {
      ++counts_.ok;
    }
    done = std::move(owned->done);
    // The question (its ClientContext) goes while it is still open: once
    // `open_` is empty the destructor may run and take the stub and the
    // channel with it, and a context outliving them trips gRPC's reference
    // counts ("assertion failed: prior > 0").
    owned.reset();
    open_.erase(question);
  }
  std::move(done)(std::move(verdict));
}

FleetRateLimit::FleetRateLimit(
    const FleetLimitOptions& options,
    std::shared_ptr<const CredentialSource> credentials,
    std::shared_ptr<grpc::Channel> channel)
    : client_(std::make_unique<Client>(options, std::move(credentials),
                                       std::move(channel))) {}

FleetRateLimit::~FleetRateLimit() = default;

absl::StatusOr<std::unique_ptr<FleetRateLimit>> FleetRateLimit::Create(
    const FleetLimitOptions& options,
    std::shared_ptr<const CredentialSource> credentials) {
  absl::Status valid = ValidateRateLimitServiceAddress(options.address);
  if (!valid.ok()) return valid;
  return CreateForChannel(options, std::move(credentials),
                          Dial(options.address));
}

absl::StatusOr<std::unique_ptr<FleetRateLimit>>
FleetRateLimit::CreateForChannel(
    const FleetLimitOptions& options,
    std::shared_ptr<const CredentialSource> credentials,
    std::shared_ptr<grpc::Channel> channel) {
  if (options.account.empty() && credentials == nullptr) {
    return absl::InvalidArgumentError(
        "the account descriptor needs rate_limit_service_account when calls "
        "are not signed");
  }
  if (options.domain.empty()) {
    return absl::InvalidArgumentError("the domain must not be empty");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the timeout must be > 0");
  }
  return std::unique_ptr<FleetRateLimit>(
      new FleetRateLimit(options, std::move(credentials), std::move(channel)));
}

void FleetRateLimit::Admit(ApiCall& call, Verdict done) {
  client_->Ask(call, std::move(done));
}

FleetLimitCounts FleetRateLimit::counts() const { return client_->counts(); }

}  // namespace envelope
