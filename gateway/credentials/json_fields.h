#ifndef GATEWAY_CREDENTIALS_JSON_FIELDS_H_
#define GATEWAY_CREDENTIALS_JSON_FIELDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/credentials/credentials.h"
#include "rapidjson/document.h"

namespace envelope::credentials_internal {

// Member `name` of `object` when it is a non-empty string, else "".
std::string StringMember(const rapidjson::Value& object, const char* name);

// When temporary credentials expire: `ExpiredTime` (unix seconds, a number
// or a numeric string) or else `Expiration` (RFC 3339). Both the metadata
// service and STS send both; either one is enough.
absl::StatusOr<absl::Time> ExpiryOf(const rapidjson::Value& object);

// The temporary triple TmpSecretId / TmpSecretKey / Token of `object`, with
// `expiry`; an error naming the member that is missing (never a value).
absl::StatusOr<Credentials> TemporaryCredentialsOf(
    const rapidjson::Value& object, absl::Time expiry);

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_JSON_FIELDS_H_
