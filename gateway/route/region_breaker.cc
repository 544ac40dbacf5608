#include "gateway/route/region_breaker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/envelope/reason.h"

namespace envelope {
namespace {

// What a caller refused while the probes are on their way is told to wait:
// a probe's answer usually comes sooner.
constexpr absl::Duration kHalfOpenRetry = absl::Seconds(1);

std::string Millis(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(1)));
}

}  // namespace

absl::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

std::optional<bool> IsEndpointFailure(const AttemptAnswer& answer) {
  switch (answer.transport) {
    case TransportFault::kNone:
      return answer.http_status >= 500;
    case TransportFault::kUnreachable:
    case TransportFault::kTlsFailure:
      return true;
    default:  // a timeout, an answer too large: nothing said of the endpoint
      return std::nullopt;
  }
}

EndpointBreaker::EndpointBreaker(const RegionBreakerOptions& options)
    : options_(options),
      slice_(std::max(options.window / kSlices, absl::Nanoseconds(1))) {}

int64_t EndpointBreaker::SliceNumber(absl::Time now) const {
  return (now - absl::UnixEpoch()) / slice_;
}

EndpointBreaker::Counts EndpointBreaker::window(absl::Time now) const {
  const int64_t current = SliceNumber(now);
  Counts sum;
  for (const Slice& slice : slices_) {
    if (slice.number > current - kSlices && slice.number <= current) {
      sum.attempts += slice.counts.attempts;
      sum.failures += slice.counts.failures;
    }
  }
  return sum;
}

void EndpointBreaker::Enter(BreakerState state, absl::Time now) {
  state_ = state;
  ++transitions_[static_cast<int>(state)];
  // Each state counts afresh, as the Go SDK's generations do.
  slices_ = {};
  probes_.clear();
  probe_successes_ = 0;
  if (state == BreakerState::kOpen) open_until_ = now + options_.open_for;
}

BreakerState EndpointBreaker::State(absl::Time now) {
  if (state_ == BreakerState::kOpen && now >= open_until_) {
    Enter(BreakerState::kHalfOpen, now);
  }
  return state_;
}

bool EndpointBreaker::Idle(absl::Time now) {
  return State(now) == BreakerState::kClosed && window(now).failures == 0;
}

EndpointBreaker::Admission EndpointBreaker::Admit(absl::Time now,
                                                  absl::Time probe_until) {
  switch (State(now)) {
    case BreakerState::kClosed:
      return Admission::kGo;
    case BreakerState::kOpen:
      return Admission::kRefused;
    case BreakerState::kHalfOpen:
      break;
  }
  // A probe that never answered (its call ended first, or a later gate
  // refused it) gives its place up.
  std::erase_if(probes_, [now](absl::Time until) { return until <= now; });
  if (static_cast<int>(probes_.size()) + probe_successes_ >=
      options_.half_open_probes) {
    return Admission::kRefused;
  }
  probes_.push_back(probe_until);
  return Admission::kProbe;
}

void EndpointBreaker::OnAnswer(absl::Time now, bool failed) {
  switch (State(now)) {
    case BreakerState::kClosed: {
      Slice& slice = slices_[SliceNumber(now) % kSlices];
      if (slice.number != SliceNumber(now)) {
        slice = {.number = SliceNumber(now)};
      }
      ++slice.counts.attempts;
      if (!failed) return;
      ++slice.counts.failures;
      const Counts counts = window(now);
      if (counts.failures >= static_cast<uint64_t>(options_.min_failures) &&
          static_cast<double>(counts.failures) >=
              options_.failure_ratio * static_cast<double>(counts.attempts)) {
        opened_by_ = counts;
        Enter(BreakerState::kOpen, now);
      }
      return;
    }
    case BreakerState::kOpen:
      return;  // an attempt let through before it opened
    case BreakerState::kHalfOpen:
      // No probe on its way: an attempt let through before it opened.
      if (probes_.empty()) return;
      // Which probe answered is not known: the one holding its place
      // longest gives it up, so that a lost one's place frees soonest.
      probes_.erase(std::max_element(probes_.begin(), probes_.end()));
      if (failed) {
        opened_by_ = {.attempts = static_cast<uint64_t>(probe_successes_) + 1,
                      .failures = 1};
        Enter(BreakerState::kOpen, now);
        return;
      }
      if (++probe_successes_ >= options_.half_open_probes) {
        Enter(BreakerState::kClosed, now);
      }
      return;
  }
}

absl::StatusOr<std::unique_ptr<RegionBreaker>> RegionBreaker::Create(
    RegionBreakerOptions options, UrlOf url_of, Clock clock) {
  if (options.window <= absl::ZeroDuration() ||
      options.open_for <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("window and open_for must be > 0");
  }
  if (options.min_failures < 1 || options.half_open_probes < 1 ||
      options.max_endpoints < 1) {
    return absl::InvalidArgumentError(
        "min_failures, half_open_probes and max_endpoints must be >= 1");
  }
  if (!(options.failure_ratio >= 0 && options.failure_ratio <= 1)) {
    return absl::InvalidArgumentError("failure_ratio must be in [0, 1]");
  }
  if (!options.backup_endpoint.empty()) {
    absl::Status valid = ValidateEndpoint(options.backup_endpoint);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("backup_endpoint \"",
                                                     options.backup_endpoint,
                                                     "\" ", valid.message()));
    }
  }
  return std::unique_ptr<RegionBreaker>(new RegionBreaker(
      std::move(options), std::move(url_of), std::move(clock)));
}

RegionBreaker::RegionBreaker(RegionBreakerOptions options, UrlOf url_of,
                             Clock clock)
    : options_(std::move(options)),
      url_of_(std::move(url_of)),
      clock_(std::move(clock)) {}

std::string RegionBreaker::HostOf(const ApiCall& call) const {
  absl::StatusOr<std::string> url = url_of_(call);
  if (!url.ok()) return "";
  return std::string(UrlAuthority(*url));
}

RegionBreaker::Tracked* RegionBreaker::Find(const std::string& host,
                                            absl::Time now) {
  auto it = endpoints_.find(host);
  if (it != endpoints_.end()) return it->second.get();
  if (endpoints_.size() >= options_.max_endpoints) {
    // Full: an endpoint closed and without failures gives its place up
    // (a caller naming ever new regions must not leave the real ones
    // unguarded).
    auto idle = std::find_if(
        endpoints_.begin(), endpoints_.end(),
        [now](auto& entry) { return entry.second->breaker.Idle(now); });
    if (idle == endpoints_.end()) return nullptr;
    endpoints_.erase(idle);
  }
  return endpoints_.emplace(host, std::make_unique<Tracked>(options_))
      .first->second.get();
}

GateVerdict RegionBreaker::Refusal(const std::string& host, Tracked& tracked,
                                   absl::Time now) {
  ++tracked.rejected;
  EndpointBreaker& breaker = tracked.breaker;
  GateVerdict verdict;
  verdict.refusal.code = absl::StatusCode::kUnavailable;
  verdict.refusal.reason = gateway_reason::kRegionBreakerOpen;
  if (breaker.State(now) == BreakerState::kOpen) {
    const absl::Duration left = breaker.open_until() - now;
    const EndpointBreaker::Counts counts = breaker.opened_by();
    verdict.refusal.message = absl::StrCat(
        "the region breaker of ", host, " is open: ", counts.failures, " of ",
        counts.attempts,
        " upstream attempts failed (transport faults, HTTP 5xx); it lets "
        "attempts through again in ",
        Millis(left));
    verdict.retry_after = left;
  } else {
    verdict.refusal.message =
        absl::StrCat("the region breaker of ", host,
                     " is half-open: its probe attempts are on their way");
    verdict.retry_after = std::min(kHalfOpenRetry, options_.open_for);
  }
  return verdict;
}

void RegionBreaker::Admit(ApiCall& call, Verdict done) {
  const bool has_backup = !options_.backup_endpoint.empty();
  // An earlier attempt of this call went to the backup: this one is the
  // primary's again.
  if (has_backup && call.endpoint == options_.backup_endpoint) {
    call.endpoint.clear();
  }
  // A route with an endpoint of its own (another API) has no backup.
  const bool may_switch = has_backup && call.endpoint.empty();
  const std::string host = HostOf(call);
  if (host.empty()) {  // no URL: the upstream says why (REGION_REQUIRED)
    std::move(done)(GateVerdict::Go());
    return;
  }
  const absl::Time now = clock_();
  const absl::Time probe_until =
      std::min(call.deadline, now + options_.open_for);
  GateVerdict verdict;
  {
    absl::MutexLock lock(&mu_);
    Tracked* primary = Find(host, now);
    if (primary == nullptr || primary->breaker.Admit(now, probe_until) !=
                                  EndpointBreaker::Admission::kRefused) {
      verdict = GateVerdict::Go();
    } else {
      bool switched = false;
      std::string backup_host;
      if (may_switch) {
        call.endpoint = options_.backup_endpoint;
        backup_host = HostOf(call);
        // The primary is not idle (not closed): Find cannot evict it.
        Tracked* backup = backup_host.empty() || backup_host == host
                              ? nullptr
                              : Find(backup_host, now);
        switched =
            !backup_host.empty() && backup_host != host &&
            (backup == nullptr || backup->breaker.Admit(now, probe_until) !=
                                      EndpointBreaker::Admission::kRefused);
        if (!switched) call.endpoint.clear();
      }
      if (switched) {
        ++primary->backup_attempts;
        verdict = GateVerdict::Go();
      } else {
        verdict = Refusal(host, *primary, now);
        if (!backup_host.empty() && backup_host != host) {
          absl::StrAppend(&verdict.refusal.message, "; the backup endpoint's (",
                          backup_host, ") is not closed either");
        }
      }
    }
  }
  // Outside the lock: the next gate, or the send, may answer at once.
  std::move(done)(std::move(verdict));
}

void RegionBreaker::OnAnswer(const ApiCall& call, const AttemptAnswer& answer) {
  const std::optional<bool> failed = IsEndpointFailure(answer);
  if (!failed.has_value()) return;
  const std::string host = HostOf(call);  // where this attempt went
  absl::MutexLock lock(&mu_);
  auto it = endpoints_.find(host);
  if (it == endpoints_.end()) return;  // not tracked: the table was full
  it->second->breaker.OnAnswer(clock_(), *failed);
}

std::vector<RegionBreakerSample> RegionBreaker::Samples() {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  std::vector<RegionBreakerSample> samples;
  samples.reserve(endpoints_.size());
  for (auto& [host, tracked] : endpoints_) {
    samples.push_back({.endpoint = host,
                       .state = tracked->breaker.State(now),
                       .transitions = tracked->breaker.transitions(),
                       .rejected = tracked->rejected,
                       .backup_attempts = tracked->backup_attempts});
  }
  return samples;
}

}  // namespace envelope
