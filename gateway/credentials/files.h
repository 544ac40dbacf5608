#ifndef GATEWAY_CREDENTIALS_FILES_H_
#define GATEWAY_CREDENTIALS_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace envelope::credentials_internal {

// The whole of a small file (credentials, tokens, ini). NOT_FOUND when it
// does not exist, so callers can tell "absent" from "broken";
// FAILED_PRECONDITION for any other failure or a file over 1 MiB. The message
// names the path and the OS error ("x: No such file or directory"), never
// the content.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path);

// The same for a file of up to `max_bytes` (the config file, descriptor
// sets).
absl::StatusOr<std::string> ReadFileUpTo(const std::string& path,
                                         size_t max_bytes);

// Without surrounding whitespace: `kubectl create secret --from-file` and
// editors leave a trailing newline that is not part of the secret.
std::string Trimmed(absl::string_view text);

}  // namespace envelope::credentials_internal

#endif  // GATEWAY_CREDENTIALS_FILES_H_
