#include "gateway/credentials/refreshing_source.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/credentials/static_source.h"

namespace envelope::credentials_internal {
namespace {

std::string Format(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

}  // namespace

RefreshingSource::RefreshingSource(std::string describe, FetchFunction fetch,
                                   RefreshOptions options)
    : fetch_(std::move(fetch)),
      options_(std::move(options)),
      describe_(std::move(describe)),
      thread_([this] { Run(); }) {}

RefreshingSource::~RefreshingSource() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  cancel_.store(true);
  thread_.join();
}

absl::StatusOr<Credentials> RefreshingSource::Get() const {
  absl::MutexLock lock(&mu_);
  std::string why =
      last_error_.ok() ? "" : absl::StrCat(": ", last_error_.message());
  if (current_ == nullptr) {
    if (last_error_.ok()) why = " (first fetch still in progress)";
    return absl::UnavailableError(
        absl::StrCat(describe_, ": no credentials yet", why));
  }
  if (absl::Now() >= current_->expiry) {
    return absl::UnavailableError(
        absl::StrCat(describe_, ": credentials expired at ",
                     Format(current_->expiry), " and were not refreshed", why));
  }
  return *current_;
}

std::string RefreshingSource::Describe() const {
  absl::MutexLock lock(&mu_);
  return describe_;
}

void RefreshingSource::Run() {
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    absl::StatusOr<Fetched> fetched = fetch_(cancel_);
    absl::Time now = absl::Now();
    if (cancel_.load()) return;
    absl::Time next;
    if (fetched.ok()) {
      absl::Status values =
          CheckCredentialValues("the answer", fetched->credentials);
      if (!values.ok()) fetched = absl::UnavailableError(values.message());
    }
    if (fetched.ok() && fetched->credentials.expiry <= now) {
      fetched = absl::UnavailableError(
          absl::StrCat("the credentials fetched had already expired at ",
                       Format(fetched->credentials.expiry)));
    }
    if (fetched.ok()) {
      next = NextRefresh(now, fetched->credentials.expiry);
      OnSuccess(*std::move(fetched));
      backoff = options_.initial_backoff;
    } else {
      absl::Time expiry = OnFailure(fetched.status());
      // One more try right at expiry, so a service that came back in the
      // meantime does not leave a gap of a whole backoff.
      next = now + backoff;
      if (expiry > now) next = std::min(next, expiry);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    if (!SleepUntil(next)) return;
  }
}

absl::Time RefreshingSource::NextRefresh(absl::Time now,
                                         absl::Time expiry) const {
  absl::Time early = expiry - options_.refresh_before_expiry;
  absl::Time halfway = now + (expiry - now) / 2;
  return std::max({early, halfway, now + options_.initial_backoff});
}

void RefreshingSource::OnSuccess(Fetched fetched) {
  CountCredentialRefresh();
  std::string describe;
  {
    absl::MutexLock lock(&mu_);
    current_ =
        std::make_shared<const Credentials>(std::move(fetched.credentials));
    describe_ = std::move(fetched.describe);
    last_error_ = absl::OkStatus();
    describe = describe_;
  }
  if (failing_) {
    options_.log(absl::StrCat(describe, ": credentials refreshed again"));
  }
  failing_ = false;
}

absl::Time RefreshingSource::OnFailure(const absl::Status& status) {
  CountCredentialFailure();
  std::string line;
  absl::Time expiry = absl::InfinitePast();
  {
    absl::MutexLock lock(&mu_);
    last_error_ = status;
    if (current_ != nullptr) expiry = current_->expiry;
    if (!failing_) {
      std::string keeping =
          current_ == nullptr
              ? "no credentials yet"
              : absl::StrCat("keeping the current credentials until ",
                             Format(current_->expiry));
      line = absl::StrCat(describe_, ": refresh failed: ", status.message(),
                          "; ", keeping, "; retrying with backoff");
    }
  }
  if (!line.empty()) options_.log(line);
  failing_ = true;
  return expiry;
}

bool RefreshingSource::SleepUntil(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return !mu_.AwaitWithDeadline(absl::Condition(&stop_), deadline);
}

}  // namespace envelope::credentials_internal
