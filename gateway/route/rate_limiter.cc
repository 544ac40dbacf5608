#include "gateway/route/rate_limiter.h"

#include <algorithm>

#include "absl/algorithm/container.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/envelope/reason.h"
#include "gateway/route/allow_list.h"

namespace envelope {

AdaptiveRate::AdaptiveRate(AdaptiveRateOptions options)
    : options_(options), rate_(options.ceiling_per_second) {}

std::optional<absl::Time> AdaptiveRate::Reserve(absl::Time now,
                                                absl::Time deadline,
                                                absl::Duration* wait) {
  absl::MutexLock lock(&mu_);
  const absl::Duration interval = absl::Seconds(1 / rate_);
  // A burst lets the first requests after a quiet spell go at once.
  const absl::Duration tolerance = (options_.burst - 1) * interval;
  const absl::Time next = std::max(next_, now);
  const absl::Time slot = std::max(now, next - tolerance);
  if (slot > deadline) {
    *wait = slot - now;
    return std::nullopt;
  }
  next_ = next + interval;
  *wait = slot - now;
  return slot;
}

void AdaptiveRate::OnAnswer(absl::Time now, bool rate_limited) {
  absl::MutexLock lock(&mu_);
  if (rate_limited) {
    if (now - last_decrease_ < absl::Seconds(1)) return;
    rate_ =
        std::max(options_.floor_per_second, rate_ * options_.decrease_factor);
    last_decrease_ = now;
    last_change_ = now;
    return;
  }
  if (last_change_ != absl::InfinitePast()) {
    const double seconds = absl::ToDoubleSeconds(now - last_change_);
    rate_ = std::min(options_.ceiling_per_second,
                     rate_ + options_.increase_per_second * seconds);
  }
  last_change_ = now;
}

double AdaptiveRate::rate_per_second() const {
  absl::MutexLock lock(&mu_);
  return rate_;
}

double AdaptiveRate::tokens(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  if (next_ <= now) return options_.burst;
  const double owed = absl::ToDoubleSeconds(next_ - now) * rate_;
  return std::clamp(options_.burst - owed, 0.0, options_.burst);
}

absl::StatusOr<RateLimitRules> RateLimitRules::Parse(
    double default_per_second, const std::vector<std::string>& entries) {
  if (!(default_per_second >= 0)) {
    return absl::InvalidArgumentError("the default rate must be >= 0");
  }
  RateLimitRules rules;
  rules.default_per_second_ = default_per_second;
  for (const std::string& text : entries) {
    const size_t eq = text.rfind('=');
    Entry entry;
    if (eq == std::string::npos ||
        !absl::SimpleAtod(absl::string_view(text).substr(eq + 1),
                          &entry.per_second) ||
        !(entry.per_second >= 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("rate limit \"", text,
                       "\" is not ACTION=RATE (service:ACTION=RATE, globs "
                       "with '*', RATE per second >= 0)"));
    }
    absl::string_view target = absl::string_view(text).substr(0, eq);
    const size_t colon = target.find(':');
    if (colon != absl::string_view::npos) {
      entry.service = std::string(target.substr(0, colon));
      target.remove_prefix(colon + 1);
    }
    if (target.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("rate limit \"", text, "\" names no action"));
    }
    entry.action_glob = std::string(target);
    // A service's own entry over any service's; an exact action over a
    // glob; a glob with more literal text over one with less.
    const size_t literal = target.size() - absl::c_count(target, '*');
    const bool exact = literal == target.size();
    entry.specificity = (entry.service.empty() ? 0 : 1000) +
                        (exact ? 500 : static_cast<int>(literal));
    rules.entries_.push_back(std::move(entry));
  }
  std::stable_sort(rules.entries_.begin(), rules.entries_.end(),
                   [](const Entry& a, const Entry& b) {
                     return a.specificity > b.specificity;
                   });
  return rules;
}

double RateLimitRules::RateFor(absl::string_view service,
                               absl::string_view action) const {
  for (const Entry& entry : entries_) {
    if (!entry.service.empty() && entry.service != service) continue;
    if (GlobMatch(entry.action_glob, action)) return entry.per_second;
  }
  return default_per_second_;
}

RateLimiters::RateLimiters(RateLimitRules rules, AdaptiveRateOptions adapt,
                           size_t max_buckets)
    : rules_(std::move(rules)), adapt_(adapt), max_buckets_(max_buckets) {}

RateLimiters::Bucket* RateLimiters::Find(absl::string_view service,
                                         absl::string_view action) {
  const std::string key = absl::StrCat(service, ":", action);
  auto it = buckets_.find(key);
  if (it != buckets_.end()) return it->second.get();
  if (buckets_.size() >= max_buckets_) return nullptr;
  auto bucket = std::make_unique<Bucket>();
  bucket->service = std::string(service);
  bucket->action = std::string(action);
  const double rate = rules_.RateFor(service, action);
  if (rate > 0) {
    AdaptiveRateOptions options = adapt_;
    options.ceiling_per_second = rate;
    options.floor_per_second = std::min(options.floor_per_second, rate);
    bucket->rate = std::make_unique<AdaptiveRate>(options);
  }
  return buckets_.emplace(key, std::move(bucket)).first->second.get();
}

AdaptiveRate* RateLimiters::For(absl::string_view service,
                                absl::string_view action) {
  absl::MutexLock lock(&mu_);
  Bucket* bucket = Find(service, action);
  return bucket == nullptr ? nullptr : bucket->rate.get();
}

void RateLimiters::CountWait(absl::string_view service,
                             absl::string_view action) {
  absl::MutexLock lock(&mu_);
  if (Bucket* bucket = Find(service, action)) ++bucket->waits;
}

void RateLimiters::CountRefusal(absl::string_view service,
                                absl::string_view action) {
  absl::MutexLock lock(&mu_);
  if (Bucket* bucket = Find(service, action)) ++bucket->refusals;
}

std::vector<RateLimitSample> RateLimiters::Samples(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  std::vector<RateLimitSample> samples;
  samples.reserve(buckets_.size());
  for (const auto& [key, bucket] : buckets_) {
    if (bucket->rate == nullptr) continue;
    samples.push_back({.service = bucket->service,
                       .action = bucket->action,
                       .rate_per_second = bucket->rate->rate_per_second(),
                       .tokens = bucket->rate->tokens(now),
                       .waits = bucket->waits,
                       .refusals = bucket->refusals});
  }
  return samples;
}

absl::StatusOr<std::unique_ptr<LocalRateLimit>> LocalRateLimit::Create(
    const RateLimitOptions& options) {
  absl::StatusOr<RateLimitRules> rules =
      RateLimitRules::Parse(options.default_per_second, options.rules);
  if (!rules.ok()) return rules.status();
  return std::unique_ptr<LocalRateLimit>(
      new LocalRateLimit(*std::move(rules), options));
}

void LocalRateLimit::Admit(ApiCall& call, Verdict done) {
  AdaptiveRate* rate = limiters_.For(call.service, call.action);
  if (rate == nullptr) {
    std::move(done)(GateVerdict::Go());
    return;
  }
  const absl::Time now = absl::Now();
  absl::Duration wait;
  // The attempt itself needs some of the deadline after its slot.
  if (rate->Reserve(now, call.deadline - kMinAttemptTime, &wait).has_value()) {
    if (wait > absl::ZeroDuration()) {
      limiters_.CountWait(call.service, call.action);
    }
    std::move(done)(GateVerdict::Go(wait));
    return;
  }
  limiters_.CountRefusal(call.service, call.action);
  GateVerdict verdict;
  verdict.refusal.code = absl::StatusCode::kResourceExhausted;
  verdict.refusal.reason = gateway_reason::kLocalRateLimit;
  verdict.refusal.message = absl::StrCat(
      "the gateway paces ", call.service, ":", call.action, " at ",
      absl::SixDigits(rate->rate_per_second()),
      " requests/s to stay under the API's rate limit; the next free slot "
      "is in ",
      absl::FormatDuration(absl::Trunc(wait, absl::Milliseconds(1))),
      ", past the call's deadline");
  verdict.retry_after = wait;
  std::move(done)(std::move(verdict));
}

void LocalRateLimit::OnAnswer(const ApiCall& call,
                              const AttemptAnswer& answer) {
  AdaptiveRate* rate = limiters_.For(call.service, call.action);
  if (rate != nullptr) rate->OnAnswer(answer.at, answer.rate_limited);
}

}  // namespace envelope
