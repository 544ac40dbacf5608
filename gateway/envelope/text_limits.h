// File: text_limits.h
// -----------------------------------------------------------------------------
//
// Bounds on the upstream's text where it leaves the gateway (docs/errors.md,
// "Hostile input"). A client refuses an answer whose metadata exceeds its
// limit (8 KiB by default in every gRPC library), and gRPC itself aborts the
// process on a metadata value that is not printable ASCII, so what an
// upstream writes into RequestId, Error.Code or Error.Message is cut to a
// bounded length and, where it becomes metadata, escaped.

#ifndef GATEWAY_ENVELOPE_TEXT_LIMITS_H_
#define GATEWAY_ENVELOPE_TEXT_LIMITS_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace envelope {

// Appended to a value that was cut.
inline constexpr absl::string_view kTruncatedMarker = "...(truncated)";

// The longest x-tc-requestid or x-tc-error-code value sent, and the longest
// error code copied into details (a real one is under 80 bytes).
inline constexpr size_t kMaxMetadataValue = 128;

// The longest error message in the status and in each detail that repeats
// it (a real one is a sentence or two).
inline constexpr size_t kMaxErrorMessage = 512;

// The longest prefix of `text` of at most `max_bytes` bytes that does not
// end inside a UTF-8 sequence.
//
// Example:
//
//   Utf8Prefix("h\xc3\xa9llo", 2)  // "h": the 2nd byte starts "é"
absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes);

// `text` when it fits in `max_bytes`; else a UTF-8-safe prefix followed by
// kTruncatedMarker, the whole at most `max_bytes` bytes (just the prefix when
// the marker does not fit).
//
// Example:
//
//   Truncated(std::string(1000, 'x'), 20)  // "xxxxxx...(truncated)"
std::string Truncated(absl::string_view text, size_t max_bytes);

// `text` as a value gRPC accepts in ASCII metadata: each byte outside
// 0x20..0x7E, and '%', percent-encoded ("%0A"), as gRPC encodes
// grpc-message; then truncated to kMaxMetadataValue bytes (never inside an
// escape).
//
// Example:
//
//   MetadataValue("id\r\n1")  // "id%0D%0A1"
std::string MetadataValue(absl::string_view text);

}  // namespace envelope

#endif  // GATEWAY_ENVELOPE_TEXT_LIMITS_H_
