#ifndef GATEWAY_CREDENTIALS_SECRET_FILES_H_
#define GATEWAY_CREDENTIALS_SECRET_FILES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/credentials/credentials.h"
#include "gateway/credentials/log.h"

namespace envelope::credentials_internal {

struct SecretFileOptions {
  std::string dir;
  absl::Duration poll_interval = absl::Seconds(5);
  absl::Duration settle_time = absl::Seconds(30);
  CredentialLogger log;
  // What settle_time is measured with. Tests step a fake clock over it, so
  // that a slow machine cannot make a change look settled (or not) early.
  std::function<absl::Time()> now = absl::Now;
};

// A version of the directory as read: the values, and whether it came from a
// Kubernetes `..data` snapshot (complete by construction).
struct SecretDirVersion {
  Credentials credentials;
  bool atomic = false;
};

// Reads `secret_id`, `secret_key` and optional `session_token` (or the
// TENCENTCLOUD_SECRET_ID / _SECRET_KEY / _SESSION_TOKEN spellings) from
// `dir`, through the target of its `..data` link when there is one.
absl::StatusOr<SecretDirVersion> ReadSecretDir(const std::string& dir);

// A Kubernetes Secret mount (or any directory) polled for changes. A new
// version is published in one swap, only when it is consistent:
//  - read from a `..data` snapshot, or seen unchanged on two polls in a row
//    (a file still being written would differ), and
//  - every value changed (Tencent never reuses a SecretId's key, and each
//    temporary triple is new) - or, for a change of only some values (a key
//    fixed by hand), once it has stayed that way for `settle_time`.
// So a half-written rotation (new id, old key) is never served.
class SecretFileSource : public CredentialSource {
 public:
  // Reads the directory now: unreadable or incomplete files are an error.
  static absl::StatusOr<std::unique_ptr<SecretFileSource>> Create(
      SecretFileOptions options);
  ~SecretFileSource() override;

  absl::StatusOr<Credentials> Get() const override;
  std::string Describe() const override;

  // How many polls have finished: each one looked at the directory, read it
  // if it (or a pending candidate) called for it, and published or logged
  // what it decided. Tests wait for polls rather than for time, since a
  // loaded machine may poll far less often than poll_interval says.
  int64_t PollsFinished() const;
  // Waits until `count` polls have finished; false if `timeout` came first.
  bool AwaitPolls(int64_t count, absl::Duration timeout) const;

 private:
  SecretFileSource(SecretFileOptions options, Credentials first,
                   std::string fingerprint);
  void Run();
  void Poll();
  void Consider(const SecretDirVersion& version);
  void NoteFailure(const absl::Status& status);
  void Publish(const Credentials& credentials, const char* why);
  std::shared_ptr<const Credentials> Current() const;

  const SecretFileOptions options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Credentials> current_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t polls_ ABSL_GUARDED_BY(mu_) = 0;
  // Poll thread only:
  std::string fingerprint_;
  std::optional<Credentials> candidate_;
  absl::Time candidate_since_;
  bool partial_logged_ = false;
  bool failing_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_SECRET_FILES_H_
