#include "gateway/envelope/status_table.h"

#include "absl/strings/ascii.h"

namespace envelope {

StatusTable StatusTable::Default() {
  using C = absl::StatusCode;
  StatusTable t;
  t.Set("AuthFailure", C::kUnauthenticated);
  t.Set("AuthFailure.UnauthorizedOperation", C::kPermissionDenied);
  for (auto code : {"UnauthorizedOperation", "OperationDenied"}) {
    t.Set(code, C::kPermissionDenied);
  }
  for (auto code :
       {"InvalidParameter", "InvalidParameterValue", "MissingParameter",
        "UnknownParameter", "UnsupportedProtocol", "UnsupportedRegion"}) {
    t.Set(code, C::kInvalidArgument);
  }
  t.Set("ResourceNotFound", C::kNotFound);
  for (auto code : {"LimitExceeded", "RequestLimitExceeded",
                    "ResourceInsufficient", "ResourcesSoldOut"}) {
    t.Set(code, C::kResourceExhausted);
  }
  for (auto code : {"FailedOperation", "ResourceInUse", "ResourceUnavailable",
                    "UnsupportedOperation"}) {
    t.Set(code, C::kFailedPrecondition);
  }
  t.Set("InvalidAction", C::kUnimplemented);
  t.Set("NoSuchVersion", C::kUnimplemented);
  t.Set("InternalError", C::kInternal);
  t.Set("DryRunOperation", C::kOk);
  return t;
}

void StatusTable::Set(absl::string_view code_or_prefix,
                      absl::StatusCode status) {
  if (code_or_prefix == kAnyOtherCode) {
    any_other_ = status;
    return;
  }
  rows_[code_or_prefix] = status;
}

absl::StatusCode StatusTable::Lookup(absl::string_view error_code) const {
  absl::string_view prefix = error_code;
  while (!prefix.empty()) {
    if (auto it = rows_.find(prefix); it != rows_.end()) return it->second;
    size_t dot = prefix.rfind('.');
    if (dot == absl::string_view::npos) break;
    prefix = prefix.substr(0, dot);
  }
  return any_other_;
}

bool ParseStatusCodeName(absl::string_view name, absl::StatusCode* code) {
  std::string upper = absl::AsciiStrToUpper(name);
  for (int i = 0; i <= 16; ++i) {
    auto candidate = static_cast<absl::StatusCode>(i);
    std::string canonical = absl::AsciiStrToUpper(
        absl::StatusCodeToString(candidate));  // e.g. "NOT_FOUND"
    if (canonical == upper) {
      *code = candidate;
      return true;
    }
  }
  return false;
}

}  // namespace envelope
