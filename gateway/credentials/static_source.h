#ifndef GATEWAY_CREDENTIALS_STATIC_SOURCE_H_
#define GATEWAY_CREDENTIALS_STATIC_SOURCE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/credentials/credentials.h"

namespace envelope::credentials_internal {

// A pair that never changes: explicit config, env, a profile.
class StaticSource : public CredentialSource {
 public:
  StaticSource(std::string name, Credentials credentials)
      : name_(std::move(name)), credentials_(std::move(credentials)) {}
  absl::StatusOr<Credentials> Get() const override { return credentials_; }
  std::string Describe() const override { return name_; }

 private:
  const std::string name_;
  const Credentials credentials_;
};

// `none`: for JSON APIs that take no signature. Get() succeeds with empty
// credentials; an empty secret_id means "send the request unsigned".
class NoneSource : public CredentialSource {
 public:
  absl::StatusOr<Credentials> Get() const override { return Credentials{}; }
  std::string Describe() const override { return "none"; }
};

// What the chain yields when no source is configured: the gateway still
// starts (and reports not-ready) instead of refusing to run.
class UnavailableSource : public CredentialSource {
 public:
  explicit UnavailableSource(std::string message)
      : message_(std::move(message)) {}
  absl::StatusOr<Credentials> Get() const override {
    return absl::UnavailableError(message_);
  }
  std::string Describe() const override { return "unavailable"; }

 private:
  const std::string message_;
};

// The pair from three settings that may each be empty: nullopt when all are
// empty (the source is absent), an error naming `where` and the missing half
// when only some are set, or when a value could not go into an HTTP header.
absl::StatusOr<std::optional<Credentials>> PairFromSettings(
    const std::string& where, std::string secret_id, std::string secret_key,
    std::string session_token);

// Rejects values that are empty or hold anything but printable ASCII without
// spaces: they end up in the Authorization and X-TC-Token headers, where a
// newline would inject a header. The message names the field, not the value.
absl::Status CheckCredentialValues(const std::string& where,
                                   const Credentials& credentials);

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_STATIC_SOURCE_H_
