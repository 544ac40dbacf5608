#include "gateway/envelope/text_limits.h"

#include "absl/strings/str_cat.h"

namespace envelope {
namespace {

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

bool IsPlainMetadataByte(char c) { return c >= 0x20 && c <= 0x7E && c != '%'; }

}  // namespace

absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Back up to the start of the character that straddles the cut.
  while (end > 0 && IsContinuationByte(text[end])) --end;
  return text.substr(0, end);
}

std::string Truncated(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  // No room for the marker: a plain cut, still within the bound.
  if (max_bytes <= kTruncatedMarker.size()) {
    return std::string(Utf8Prefix(text, max_bytes));
  }
  const size_t room = max_bytes > kTruncatedMarker.size()
                          ? max_bytes - kTruncatedMarker.size()
                          : 0;
  return absl::StrCat(Utf8Prefix(text, room), kTruncatedMarker);
}

std::string MetadataValue(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t encoded_size = 0;
  for (char c : text) encoded_size += IsPlainMetadataByte(c) ? 1 : 3;
  const size_t room = encoded_size <= kMaxMetadataValue
                          ? kMaxMetadataValue
                          : kMaxMetadataValue - kTruncatedMarker.size();
  std::string out;
  for (char c : text) {
    const bool plain = IsPlainMetadataByte(c);
    if (out.size() + (plain ? 1 : 3) > room) break;
    if (plain) {
      out.push_back(c);
    } else {
      const unsigned char b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
  }
  if (encoded_size > kMaxMetadataValue) absl::StrAppend(&out, kTruncatedMarker);
  return out;
}

}  // namespace envelope
