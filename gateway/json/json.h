// File: json.h
// -----------------------------------------------------------------------------
//
// The one JSON reader of the gateway. Every JSON input goes through it:
// upstream envelopes, the untyped route's `params_json`, and the answers of
// the metadata service and STS. It is simdjson's DOM parser (Debian's
// libsimdjson-dev) with the rules of docs/errors.md ("Hostile input"):
//
//   * Nesting deeper than kMaxDepth is refused. simdjson's parser keeps its
//     own stack, so no input depth turns into recursion on a thread's stack;
//     code that walks a Document recursively is bounded by the same limit.
//   * The whole text must be valid UTF-8; escapes must form valid code
//     points (a lone surrogate "\udc00" is refused).
//   * Numbers are correctly rounded (simdjson's exact number parsing). An
//     integer beyond 64 bits or a number beyond double's range ("1e400") is
//     refused rather than changed.
//   * Member names are compared after unescaping ("Resp\u006fnse" is
//     "Response"), and an object that names a member twice is refused, so no
//     two readers of one body can disagree about which member they saw.
//
// Errors say what was wrong and where (a byte offset or a member), never the
// text itself.

#ifndef GATEWAY_JSON_JSON_H_
#define GATEWAY_JSON_JSON_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "simdjson.h"

namespace envelope::json {

// A JSON value inside a Document; valid while the Document lives.
using Element = simdjson::dom::element;

// The object or array `value` is, by value: a range-for over
// `value.get_object().value_unsafe()` would iterate a reference into a
// temporary that is gone. `value` must be of that type.
inline simdjson::dom::object ObjectOf(Element value) {
  return value.get_object().value_unsafe();
}
inline simdjson::dom::array ArrayOf(Element value) {
  return value.get_array().value_unsafe();
}

// The deepest nesting of arrays and objects accepted. protobuf's decoders
// stop at 100 nested messages; the transcoder enforces that separately.
inline constexpr size_t kMaxDepth = 256;

// simdjson speaks std::string_view; Debian's Abseil has a string_view of its
// own. These convert without copying.
inline absl::string_view View(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}
inline std::string_view StdView(absl::string_view text) {
  return std::string_view(text.data(), text.size());
}

// A parsed JSON text. Movable; elements point into it.
//
// Example:
//
//   absl::StatusOr<json::Document> doc = json::Parse(R"({"a": [1, 2]})");
//   if (!doc.ok()) return doc.status();
//   json::Element a = doc->root()["a"];
class Document {
 public:
  Element root() const { return root_; }

 private:
  friend absl::StatusOr<Document> Parse(absl::string_view text);
  // Gives the parser back to its thread's spare slot (json.cc): a parser's
  // buffers are set up once per thread, not once per document.
  struct Recycle {
    void operator()(simdjson::dom::parser* parser) const;
  };
  std::unique_ptr<simdjson::dom::parser, Recycle> parser_;
  Element root_;
};

// Parses `text` by the rules above. Errors are INVALID_ARGUMENT.
//
// Example:
//
//   absl::StatusOr<json::Document> doc = json::Parse(body);
absl::StatusOr<Document> Parse(absl::string_view text);

// As Parse, and the top-level value must be an object.
//
// Example:
//
//   absl::StatusOr<json::Document> params = json::ParseObject(params_json);
absl::StatusOr<Document> ParseObject(absl::string_view text);

// The member `name` of `object` (compared unescaped), or nullopt when there
// is none or `object` is no object.
//
// Example:
//
//   std::optional<json::Element> code = json::Member(error, "Code");
std::optional<Element> Member(Element object, absl::string_view name);

// The member `name` of `object` when it is a string, else "".
//
// Example:
//
//   absl::string_view id = json::StringMember(response, "RequestId");
absl::string_view StringMember(Element object, absl::string_view name);

// A cheap hash of a member name for tables of names: its length and its
// first and last 8 bytes, mixed. Names of the API differ in those.
//
// Example:
//
//   size_t slot = json::NameHash(name) & (table_size - 1);
inline uint64_t NameHash(std::string_view name) {
  uint64_t head = 0;
  uint64_t tail = 0;
  const size_t size = name.size();
  std::memcpy(&head, name.data(), size < 8 ? size : 8);
  if (size > 8) std::memcpy(&tail, name.data() + size - 8, 8);
  uint64_t h =
      (head ^ (tail * 0x9e3779b97f4a7c15u) ^ size) * 0xff51afd7ed558ccdu;
  return h ^ (h >> 29);
}

// Whether two member names are equal. Names of up to 16 bytes (most of the
// API's) are compared as two overlapping 8-byte words, without a call to
// memcmp.
//
// Example:
//
//   if (json::SameName(field.json_name, member.key)) ...
inline bool SameName(std::string_view a, std::string_view b) {
  const size_t size = a.size();
  if (size != b.size()) return false;
  if (size < 8 || size > 16) return a == b;
  uint64_t a_head, b_head, a_tail, b_tail;
  std::memcpy(&a_head, a.data(), 8);
  std::memcpy(&b_head, b.data(), 8);
  std::memcpy(&a_tail, a.data() + size - 8, 8);
  std::memcpy(&b_tail, b.data() + size - 8, 8);
  return ((a_head ^ b_head) | (a_tail ^ b_tail)) == 0;
}

// "object", "array", "string", "number", "boolean" or "null".
const char* KindOf(Element value);

// The raw text of the top-level member `name` of the object `text`, exactly
// as written, or empty when there is none. `text` must have passed Parse
// (so each name is unique and the scan is sound); names are compared
// unescaped.
//
// Example:
//
//   absl::string_view response = json::FindMemberText(body, "Response");
absl::string_view FindMemberText(absl::string_view text,
                                 absl::string_view name);

}  // namespace envelope::json

#endif  // GATEWAY_JSON_JSON_H_
