#include "gateway/credentials/secret_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/credentials/files.h"
#include "gateway/credentials/static_source.h"

namespace envelope::credentials_internal {
namespace {

struct FileNames {
  const char* name;
  const char* env_style_name;
};
constexpr FileNames kId{"secret_id", "TENCENTCLOUD_SECRET_ID"};
constexpr FileNames kKey{"secret_key", "TENCENTCLOUD_SECRET_KEY"};
constexpr FileNames kToken{"session_token", "TENCENTCLOUD_SESSION_TOKEN"};

// The target of `..data`, the link Kubernetes swaps atomically to publish a
// new version of a Secret; "" when there is none.
std::string DataLink(const std::string& dir) {
  char target[4096];
  ssize_t n = readlink((dir + "/..data").c_str(), target, sizeof target - 1);
  return n <= 0 ? "" : std::string(target, static_cast<size_t>(n));
}

// Cheap change detection: identity, size and times of every file we might
// read, and where `..data` points.
std::string Fingerprint(const std::string& dir) {
  std::string print = DataLink(dir);
  for (const FileNames& names : {kId, kKey, kToken}) {
    for (const char* name : {names.name, names.env_style_name}) {
      struct stat st;
      if (stat(absl::StrCat(dir, "/", name).c_str(), &st) != 0) {
        absl::StrAppend(&print, ";-");
        continue;
      }
      absl::StrAppend(&print, ";", st.st_ino, ",", st.st_size, ",",
                      st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ",",
                      st.st_ctim.tv_sec, ".", st.st_ctim.tv_nsec);
    }
  }
  return print;
}

absl::StatusOr<std::string> ReadValue(const std::string& base,
                                      const FileNames& names, bool required) {
  for (const char* name : {names.name, names.env_style_name}) {
    std::string path = absl::StrCat(base, "/", name);
    absl::StatusOr<std::string> content = ReadSmallFile(path);
    if (absl::IsNotFound(content.status())) continue;
    if (!content.ok()) return content.status();
    std::string value = Trimmed(*content);
    if (value.empty() && required) {
      return absl::FailedPreconditionError(absl::StrCat(path, " is empty"));
    }
    return value;
  }
  if (!required) return std::string();
  return absl::NotFoundError(absl::StrCat(base, " has neither ", names.name,
                                          " nor ", names.env_style_name));
}

absl::StatusOr<Credentials> ReadValues(const std::string& base) {
  Credentials credentials;
  for (const auto& [names, out, required] :
       {std::tuple{kId, &credentials.secret_id, true},
        std::tuple{kKey, &credentials.secret_key, true},
        std::tuple{kToken, &credentials.session_token, false}}) {
    absl::StatusOr<std::string> value = ReadValue(base, names, required);
    if (!value.ok()) return value.status();
    *out = *std::move(value);
  }
  return credentials;
}

bool Same(const Credentials& a, const Credentials& b) {
  return a.secret_id == b.secret_id && a.secret_key == b.secret_key &&
         a.session_token == b.session_token;
}

// A complete rotation: a new SecretId always comes with a new key, and a new
// temporary triple has a new token as well.
bool AllChanged(const Credentials& next, const Credentials& current) {
  bool no_tokens = next.session_token.empty() && current.session_token.empty();
  return next.secret_id != current.secret_id &&
         next.secret_key != current.secret_key &&
         (no_tokens || next.session_token != current.session_token);
}

}  // namespace

absl::StatusOr<SecretDirVersion> ReadSecretDir(const std::string& dir) {
  // A swap of `..data` while we read (and the old snapshot being deleted) is
  // retried a few times: the next snapshot is complete.
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string link = DataLink(dir);
    std::string base = link.empty()     ? dir
                       : link[0] == '/' ? link
                                        : absl::StrCat(dir, "/", link);
    absl::StatusOr<Credentials> values = ReadValues(base);
    if (DataLink(dir) != link) continue;
    if (!values.ok()) return values.status();
    status = CheckCredentialValues(absl::StrCat("files:", dir), *values);
    if (!status.ok()) return status;
    return SecretDirVersion{*std::move(values), !link.empty()};
  }
  return absl::UnavailableError(
      absl::StrCat(dir, ": ..data kept changing while being read"));
}

absl::StatusOr<std::unique_ptr<SecretFileSource>> SecretFileSource::Create(
    SecretFileOptions options) {
  std::string fingerprint = Fingerprint(options.dir);
  absl::StatusOr<SecretDirVersion> first = ReadSecretDir(options.dir);
  if (!first.ok()) {
    return absl::Status(first.status().code(),
                        absl::StrCat("files: ", first.status().message()));
  }
  return std::unique_ptr<SecretFileSource>(
      new SecretFileSource(std::move(options), std::move(first->credentials),
                           std::move(fingerprint)));
}

SecretFileSource::SecretFileSource(SecretFileOptions options, Credentials first,
                                   std::string fingerprint)
    : options_(std::move(options)),
      current_(std::make_shared<const Credentials>(std::move(first))),
      fingerprint_(std::move(fingerprint)),
      thread_([this] { Run(); }) {}

SecretFileSource::~SecretFileSource() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

absl::StatusOr<Credentials> SecretFileSource::Get() const { return *Current(); }

std::string SecretFileSource::Describe() const {
  return absl::StrCat("files:", options_.dir);
}

int64_t SecretFileSource::PollsFinished() const {
  absl::MutexLock lock(&mu_);
  return polls_;
}

bool SecretFileSource::AwaitPolls(int64_t count, absl::Duration timeout) const {
  struct Target {
    const int64_t* polls;
    int64_t count;
  };
  Target target{&polls_, count};
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(
      absl::Condition(
          +[](Target* t) { return *t->polls >= t->count; }, &target),
      timeout);
}

std::shared_ptr<const Credentials> SecretFileSource::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void SecretFileSource::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stop_),
                               options_.poll_interval)) {
        return;
      }
    }
    Poll();
    absl::MutexLock lock(&mu_);
    ++polls_;
  }
}

void SecretFileSource::Poll() {
  std::string fingerprint = Fingerprint(options_.dir);
  // A pending candidate must be read again to prove it is stable; a failing
  // directory is read again to notice the repair.
  if (fingerprint == fingerprint_ && !candidate_ && !failing_) return;
  fingerprint_ = std::move(fingerprint);
  absl::StatusOr<SecretDirVersion> version = ReadSecretDir(options_.dir);
  if (!version.ok()) {
    NoteFailure(version.status());
    candidate_.reset();
    return;
  }
  if (failing_) {
    options_.log(absl::StrCat(Describe(), ": secret files readable again"));
    failing_ = false;
  }
  Consider(*version);
}

void SecretFileSource::Consider(const SecretDirVersion& version) {
  std::shared_ptr<const Credentials> current = Current();
  const Credentials& next = version.credentials;
  if (Same(next, *current)) {
    candidate_.reset();
    return;
  }
  bool stable = version.atomic || (candidate_ && Same(*candidate_, next));
  if (!candidate_ || !Same(*candidate_, next)) {
    candidate_ = next;
    candidate_since_ = options_.now();
    partial_logged_ = false;
  }
  if (!stable) return;
  if (AllChanged(next, *current)) {
    Publish(next, "picked up rotated credentials");
  } else if (options_.now() - candidate_since_ >= options_.settle_time) {
    Publish(next, "picked up a change of only some values after it settled");
  } else if (!partial_logged_) {
    options_.log(absl::StrCat(
        Describe(),
        ": only some of secret_id/secret_key/session_token changed; keeping "
        "the previous credentials until the rest arrives (at most ",
        absl::FormatDuration(options_.settle_time), ")"));
    partial_logged_ = true;
  }
}

void SecretFileSource::NoteFailure(const absl::Status& status) {
  CountCredentialFailure();
  if (!failing_) {
    options_.log(absl::StrCat(
        Describe(), ": cannot read the secret files: ", status.message(),
        "; keeping the previous credentials"));
  }
  failing_ = true;
}

void SecretFileSource::Publish(const Credentials& credentials,
                               const char* why) {
  {
    absl::MutexLock lock(&mu_);
    current_ = std::make_shared<const Credentials>(credentials);
  }
  CountCredentialRefresh();
  candidate_.reset();
  options_.log(absl::StrCat(Describe(), ": ", why));
}

}  // namespace envelope::credentials_internal
