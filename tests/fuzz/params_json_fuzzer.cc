// The gateway's one JSON reader (gateway/json/json.h) on the untyped
// route's params_json: json::ParseObject, as the dispatcher reads it, and
// json::FindMemberText, which the dispatcher (ClientToken) and the envelope
// reader (Response) use on the same text.
//
// Input: the params_json text.
//
// When ParseObject accepts the text, the rules json.h promises hold for the
// Document (every string and member name valid UTF-8, no member named twice
// in one object, nesting at most kMaxDepth), and the raw text FindMemberText
// gives for each top-level member parses to the very value the Document
// holds: no two readers of one body may disagree. A refusal is
// INVALID_ARGUMENT, with a short message of printable text (it ends up in a
// gRPC status and a log line).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/json/json.h"
#include "simdjson.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr char kHarness[] = "params_json_fuzzer";

void CheckString(std::string_view text, const char* what) {
  FUZZ_CHECK(kHarness, envelope::fuzz::IsValidUtf8(envelope::json::View(text)),
             absl::StrCat(what, " is not UTF-8: ",
                          absl::CEscape(envelope::json::View(text))));
}

// Walks the Document; recursion is bounded by the depth the reader allows.
void CheckValue(envelope::json::Element value, size_t depth) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::OBJECT: {
      FUZZ_CHECK(kHarness, depth < envelope::json::kMaxDepth,
                 absl::StrCat("nesting deeper than ", depth));
      absl::flat_hash_set<std::string> names;
      for (auto field : envelope::json::ObjectOf(value)) {
        CheckString(field.key, "a member name");
        FUZZ_CHECK(kHarness, names.insert(std::string(field.key)).second,
                   "a member named twice: " +
                       absl::CEscape(envelope::json::View(field.key)));
        CheckValue(field.value, depth + 1);
      }
      break;
    }
    case element_type::ARRAY:
      FUZZ_CHECK(kHarness, depth < envelope::json::kMaxDepth,
                 absl::StrCat("nesting deeper than ", depth));
      for (envelope::json::Element item : envelope::json::ArrayOf(value)) {
        CheckValue(item, depth + 1);
      }
      break;
    case element_type::STRING:
      CheckString(value.get_string().value_unsafe(), "a string");
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exactly the input's bytes in their own allocation: a read past the end
  // of the text is an ASan report (the reader must copy into padding).
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<envelope::json::Document> doc =
      envelope::json::ParseObject(text);
  if (!doc.ok()) {
    const absl::string_view message = doc.status().message();
    FUZZ_CHECK(
        kHarness, doc.status().code() == absl::StatusCode::kInvalidArgument,
        "a refusal that is not INVALID_ARGUMENT: " + doc.status().ToString());
    FUZZ_CHECK(kHarness, message.size() <= 512,
               absl::StrCat("a refusal of ", message.size(), " bytes"));
    FUZZ_CHECK(
        kHarness, envelope::fuzz::IsPrintableAscii(message),
        "a refusal that is not printable text: " + absl::CEscape(message));
    return 0;
  }
  const envelope::json::Element root = doc->root();
  FUZZ_CHECK(kHarness, root.is_object(), "ParseObject gave no object");
  CheckValue(root, 0);
  for (auto field : envelope::json::ObjectOf(root)) {
    const absl::string_view name = envelope::json::View(field.key);
    const absl::string_view raw = envelope::json::FindMemberText(text, name);
    FUZZ_CHECK(kHarness, !raw.empty(),
               "FindMemberText misses the member " + absl::CEscape(name));
    absl::StatusOr<envelope::json::Document> again = envelope::json::Parse(raw);
    FUZZ_CHECK(kHarness, again.ok(),
               absl::StrCat("FindMemberText's text of ", absl::CEscape(name),
                            " does not parse: ", absl::CEscape(raw)));
    FUZZ_CHECK(
        kHarness,
        simdjson::to_string(again->root()) == simdjson::to_string(field.value),
        absl::StrCat("FindMemberText's text of ", absl::CEscape(name),
                     " is another value: ", absl::CEscape(raw)));
    const std::optional<envelope::json::Element> member =
        envelope::json::Member(root, name);
    FUZZ_CHECK(kHarness, member.has_value(),
               "Member misses " + absl::CEscape(name));
    if (field.value.is_string()) {
      FUZZ_CHECK(
          kHarness,
          envelope::json::StringMember(root, name) ==
              envelope::json::View(field.value.get_string().value_unsafe()),
          "StringMember disagrees on " + absl::CEscape(name));
    }
  }
  return 0;
}
