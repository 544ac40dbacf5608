// File: wire_format.h
// -----------------------------------------------------------------------------
//
// The protobuf wire format's primitives, for the JSON reader that writes it
// directly (https://protobuf.dev/programming-guides/encoding/). Internal to
// gateway/transcode.

#ifndef GATEWAY_TRANSCODE_WIRE_FORMAT_H_
#define GATEWAY_TRANSCODE_WIRE_FORMAT_H_

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"

namespace envelope::transcode_internal {

inline void PutVarint(uint64_t value, std::string* out) {
  char buffer[10];
  size_t n = 0;
  while (value >= 0x80) {
    buffer[n++] = static_cast<char>(value | 0x80);
    value >>= 7;
  }
  buffer[n++] = static_cast<char>(value);
  out->append(buffer, n);
}

inline void PutFixed32(uint32_t value, std::string* out) {
  char buffer[4];
  for (int i = 0; i < 4; ++i) buffer[i] = static_cast<char>(value >> (8 * i));
  out->append(buffer, 4);
}

inline void PutFixed64(uint64_t value, std::string* out) {
  char buffer[8];
  for (int i = 0; i < 8; ++i) buffer[i] = static_cast<char>(value >> (8 * i));
  out->append(buffer, 8);
}

inline void PutLengthDelimited(absl::string_view bytes, std::string* out) {
  PutVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

inline uint32_t ZigZag32(int32_t value) {
  return (static_cast<uint32_t>(value) << 1) ^
         static_cast<uint32_t>(value >> 31);
}
inline uint64_t ZigZag64(int64_t value) {
  return (static_cast<uint64_t>(value) << 1) ^
         static_cast<uint64_t>(value >> 63);
}

// A length-delimited record whose content is written before its length is
// known: one byte is held for the length, and the content moves right only
// when the length needs more (content of 128 bytes or more).
//
// Example:
//
//   size_t start = OpenLength(out);
//   ... append the nested message to *out ...
//   CloseLength(start, out);
inline size_t OpenLength(std::string* out) {
  out->push_back('\0');
  return out->size();
}

inline void CloseLength(size_t start, std::string* out) {
  const size_t length = out->size() - start;
  if (length < 0x80) {
    (*out)[start - 1] = static_cast<char>(length);
    return;
  }
  std::string prefix;
  PutVarint(length, &prefix);
  out->insert(start, prefix.size() - 1, '\0');
  std::memcpy(out->data() + start - 1, prefix.data(), prefix.size());
}

}  // namespace envelope::transcode_internal

#endif  // GATEWAY_TRANSCODE_WIRE_FORMAT_H_
