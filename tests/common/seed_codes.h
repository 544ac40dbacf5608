#ifndef TESTS_COMMON_SEED_CODES_H_
#define TESTS_COMMON_SEED_CODES_H_

#include <vector>

#include "absl/status/status.h"

namespace envelope::testing {

// The 26 common error codes of the seed document and the status docs/errors.md
// ("Status codes") gives each. Written out by hand on purpose: the table under
// test must not be the source of its own expectations.
struct SeedCode {
  const char* code;
  absl::StatusCode status;
  const char* family;  // expected family detail, or "" for none
};

inline const std::vector<SeedCode>& SeedCodes() {
  using C = absl::StatusCode;
  static const auto* codes = new std::vector<SeedCode>{
      {"AuthFailure.InvalidSecretId", C::kUnauthenticated, ""},
      {"AuthFailure.MFAFailure", C::kUnauthenticated, ""},
      {"AuthFailure.SecretIdNotFound", C::kUnauthenticated, ""},
      {"AuthFailure.SignatureExpire", C::kUnauthenticated, ""},
      {"AuthFailure.SignatureFailure", C::kUnauthenticated, ""},
      {"AuthFailure.TokenFailure", C::kUnauthenticated, ""},
      {"AuthFailure.UnauthorizedOperation", C::kPermissionDenied, ""},
      {"DryRunOperation", C::kOk, ""},
      {"FailedOperation", C::kFailedPrecondition, ""},
      {"InternalError", C::kInternal, ""},
      {"InvalidAction", C::kUnimplemented, ""},
      {"InvalidParameter", C::kInvalidArgument, "google.rpc.BadRequest"},
      {"InvalidParameterValue", C::kInvalidArgument, "google.rpc.BadRequest"},
      {"LimitExceeded", C::kResourceExhausted, "google.rpc.QuotaFailure"},
      {"MissingParameter", C::kInvalidArgument, "google.rpc.BadRequest"},
      {"NoSuchVersion", C::kUnimplemented, ""},
      {"RequestLimitExceeded", C::kResourceExhausted, "google.rpc.RetryInfo"},
      {"ResourceInUse", C::kFailedPrecondition, ""},
      {"ResourceInsufficient", C::kResourceExhausted,
       "google.rpc.QuotaFailure"},
      {"ResourceNotFound", C::kNotFound, "google.rpc.ResourceInfo"},
      {"ResourceUnavailable", C::kFailedPrecondition, ""},
      {"UnauthorizedOperation", C::kPermissionDenied, ""},
      {"UnknownParameter", C::kInvalidArgument, "google.rpc.BadRequest"},
      {"UnsupportedOperation", C::kFailedPrecondition, ""},
      {"UnsupportedProtocol", C::kInvalidArgument, ""},
      {"UnsupportedRegion", C::kInvalidArgument, ""},
  };
  return *codes;
}

}  // namespace envelope::testing

#endif  // TESTS_COMMON_SEED_CODES_H_
