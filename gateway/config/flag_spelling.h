#ifndef GATEWAY_CONFIG_FLAG_SPELLING_H_
#define GATEWAY_CONFIG_FLAG_SPELLING_H_

// How flags are spelled to the user, and the nearest known name to one that
// is not: shared by envelope-gateway and envelope-cli, so that both answer a
// typo the same way (docs/configuration.md).
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace envelope {

// "--max-attempts" for the key "max_attempts" (or "max-attempts"): flags
// are written with dashes in the docs and --help; underscores are accepted.
std::string FlagSpelling(absl::string_view key);

// The name of `known` nearest to `name` by edit distance (dashes and
// underscores alike), when it is near enough to be a typo of it: at most
// two edits, or a third of the name's length for longer names. Empty when
// none is.
std::string NearestName(absl::string_view name,
                        const std::vector<std::string>& known);

// "unknown flag --max-attemps (did you mean --max-attempts?)", or without
// the question when no known flag is near; `name` as typed, without "--".
std::string UnknownFlagMessage(absl::string_view name,
                               const std::vector<std::string>& known);

}  // namespace envelope

#endif  // GATEWAY_CONFIG_FLAG_SPELLING_H_
