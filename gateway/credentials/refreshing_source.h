#ifndef GATEWAY_CREDENTIALS_REFRESHING_SOURCE_H_
#define GATEWAY_CREDENTIALS_REFRESHING_SOURCE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/credentials/credentials.h"
#include "gateway/credentials/log.h"

namespace envelope::credentials_internal {

// What one fetch of temporary credentials yields.
struct Fetched {
  Credentials credentials;  // with a finite expiry
  std::string describe;     // e.g. "cvm-role:MyRole" once the role is known
};

// One blocking fetch (HTTP); `cancel` turns true at shutdown. Error messages
// say what failed and never hold a secret.
using FetchFunction =
    std::function<absl::StatusOr<Fetched>(const std::atomic<bool>& cancel)>;

struct RefreshOptions {
  absl::Duration refresh_before_expiry = absl::Minutes(5);
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(1);
  CredentialLogger log;
};

// Temporary credentials kept fresh by a thread of their own: fetched at
// once, then again `refresh_before_expiry` ahead of expiry (or half-way
// through their life when that is later, so short-lived credentials are not
// fetched in a tight loop). A failed fetch is retried with exponential
// backoff while the old credentials keep serving until they expire; one log
// line per failure episode and one when it ends. Get() only reads memory.
class RefreshingSource : public CredentialSource {
 public:
  RefreshingSource(std::string describe, FetchFunction fetch,
                   RefreshOptions options);
  ~RefreshingSource() override;  // stops the thread, aborting a fetch

  absl::StatusOr<Credentials> Get() const override;
  std::string Describe() const override;

 private:
  void Run();
  // When to fetch next after a success at `now`.
  absl::Time NextRefresh(absl::Time now, absl::Time expiry) const;
  void OnSuccess(Fetched fetched);
  // Returns when the current credentials expire (InfinitePast: none).
  absl::Time OnFailure(const absl::Status& status);
  // Sleeps until `deadline`; false when asked to stop.
  bool SleepUntil(absl::Time deadline);

  const FetchFunction fetch_;
  const RefreshOptions options_;
  mutable absl::Mutex mu_;
  std::string describe_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const Credentials> current_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> cancel_{false};
  bool failing_ = false;  // refresh thread only
  std::thread thread_;    // last: starts once everything above exists
};

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_REFRESHING_SOURCE_H_
