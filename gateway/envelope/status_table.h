#ifndef GATEWAY_ENVELOPE_STATUS_TABLE_H_
#define GATEWAY_ENVELOPE_STATUS_TABLE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace envelope {

// Maps an envelope's Error.Code to a canonical status code by its dotted
// prefix, longest first (docs/errors.md, "Status codes"):
// "ResourceNotFound.InstanceNotExist" takes the row "ResourceNotFound". Codes
// no row covers map to UNKNOWN.
class StatusTable {
 public:
  // The table of docs/errors.md, "Status codes".
  static StatusTable Default();

  // Sets the row for an exact code or a dotted prefix; it covers the code and
  // every ".Sub" code below it unless a longer row exists. kAnyOtherCode
  // sets the last row, "anything else" (UNKNOWN unless set).
  void Set(absl::string_view code_or_prefix, absl::StatusCode status);

  absl::StatusCode Lookup(absl::string_view error_code) const;

  static constexpr absl::string_view kAnyOtherCode = "*";

 private:
  absl::flat_hash_map<std::string, absl::StatusCode> rows_;
  absl::StatusCode any_other_ = absl::StatusCode::kUnknown;
};

// Parses a canonical code name ("NOT_FOUND", case-insensitive) for config
// overrides.
bool ParseStatusCodeName(absl::string_view name, absl::StatusCode* code);

}  // namespace envelope

#endif  // GATEWAY_ENVELOPE_STATUS_TABLE_H_
