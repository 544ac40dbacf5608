#include "gateway/json/json.h"

#include <cstring>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace envelope::json {
namespace {

using simdjson::dom::element_type;

// Objects up to this many members are checked for a repeated name with a
// table on the stack (the smallest pairwise); larger ones with a hash set.
constexpr size_t kTableLimit = 128;
// Objects up to this many members are checked pairwise.
constexpr size_t kPairwiseLimit = 4;

absl::Status NotJson(simdjson::error_code error, size_t size) {
  const char* what = error == simdjson::DEPTH_ERROR
                         ? "nested deeper than the limit"
                         : simdjson::error_message(error);
  return absl::InvalidArgumentError(
      absl::StrCat("not JSON (", what, "; ", size, " bytes)"));
}

absl::Status RepeatedName(absl::string_view name) {
  // The name is input: only its length, so no log or trailer sees its bytes.
  return absl::InvalidArgumentError(
      absl::StrCat("not JSON the gateway accepts (an object names a member "
                   "twice, a name of ",
                   name.size(), " bytes)"));
}

// Objects of more than kTableLimit members: a hash set.
absl::Status CheckUniqueNamesLarge(simdjson::dom::object object) {
  absl::flat_hash_set<absl::string_view> seen;  // views into the tape
  seen.reserve(object.size());
  for (auto field : object) {
    if (!seen.insert(View(field.key)).second) {
      return RepeatedName(View(field.key));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckUniqueNames(simdjson::dom::object object) {
  const size_t size = object.size();
  if (size < 2) return absl::OkStatus();
  if (size > kTableLimit) return CheckUniqueNamesLarge(object);
  if (size <= kPairwiseLimit) {
    // A few names: comparing each pair costs less than hashing them.
    std::string_view names[kPairwiseLimit];
    size_t n = 0;
    for (auto field : object) {
      for (size_t i = 0; i < n; ++i) {
        if (SameName(names[i], field.key)) return RepeatedName(View(field.key));
      }
      names[n++] = field.key;
    }
    return absl::OkStatus();
  }
  // Open addressing over NameHash, at most half full; names are compared in
  // full only when their hashes agree.
  size_t slots = 4;
  while (slots < 2 * size) slots *= 2;
  struct Slot {
    uint64_t hash;
    const char* data;  // null: free
    size_t size;
  } table[2 * kTableLimit];
  for (size_t i = 0; i < slots; ++i) table[i].data = nullptr;
  for (auto field : object) {
    const uint64_t hash = NameHash(field.key);
    for (size_t i = hash & (slots - 1);; i = (i + 1) & (slots - 1)) {
      Slot& slot = table[i];
      if (slot.data == nullptr) {
        slot = {hash, field.key.data(), field.key.size()};
        break;
      }
      if (slot.hash == hash &&
          SameName(std::string_view(slot.data, slot.size), field.key)) {
        return RepeatedName(View(field.key));
      }
    }
  }
  return absl::OkStatus();
}

// Every object of the document, visited with an explicit stack (no
// recursion, whatever the depth).
absl::Status CheckAllObjects(Element root) {
  std::vector<Element> pending = {root};
  while (!pending.empty()) {
    Element value = pending.back();
    pending.pop_back();
    if (value.type() == element_type::OBJECT) {
      simdjson::dom::object object = ObjectOf(value);
      absl::Status status = CheckUniqueNames(object);
      if (!status.ok()) return status;
      for (auto field : object) {
        if (field.value.is_object() || field.value.is_array()) {
          pending.push_back(field.value);
        }
      }
    } else if (value.type() == element_type::ARRAY) {
      for (Element item : ArrayOf(value)) {
        if (item.is_object() || item.is_array()) pending.push_back(item);
      }
    }
  }
  return absl::OkStatus();
}

size_t SkipSpace(absl::string_view s, size_t i) {
  while (i < s.size() &&
         (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) {
    ++i;
  }
  return i;
}

// Index just past the string literal that starts at s[i] == '"'.
size_t SkipString(absl::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return s.size();
}

// Index just past the JSON value that starts at s[i]; a counter, not
// recursion, tracks the nesting.
size_t SkipValue(absl::string_view s, size_t i) {
  if (i >= s.size()) return i;
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] != '{' && s[i] != '[') {
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
           s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t') {
      ++i;
    }
    return i;
  }
  size_t depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      i = SkipString(s, i);
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
    ++i;
  }
  return i;
}

// Whether the string literal `quoted` (quotes included) means `name`.
bool NameIs(absl::string_view quoted, absl::string_view name) {
  absl::string_view raw = quoted.substr(1, quoted.size() - 2);
  if (raw.find('\\') == absl::string_view::npos) return raw == name;
  // Escaped: let the parser unescape it (rare, so its cost does not matter).
  simdjson::dom::parser parser;
  std::string_view unescaped;
  if (parser.parse(quoted.data(), quoted.size()).get(unescaped)) return false;
  return View(unescaped) == name;
}

// A parser whose buffers fit documents up to this size is kept for the next
// document of its thread; a larger one is freed (its buffers take some 13
// bytes per byte of input).
constexpr size_t kMaxSpareCapacity = 256 << 10;

thread_local std::unique_ptr<simdjson::dom::parser> spare_parser;

}  // namespace

void Document::Recycle::operator()(simdjson::dom::parser* parser) const {
  if (spare_parser == nullptr && parser->capacity() <= kMaxSpareCapacity) {
    spare_parser.reset(parser);
  } else {
    delete parser;
  }
}

absl::StatusOr<Document> Parse(absl::string_view text) {
  Document document;
  simdjson::error_code error = simdjson::SUCCESS;
  if (spare_parser != nullptr) {
    // Grows when needed, keeping the depth limit set below.
    document.parser_.reset(spare_parser.release());
  } else {
    document.parser_.reset(new simdjson::dom::parser());
    error = document.parser_->allocate(text.size(), kMaxDepth);
  }
  if (!error) {
    error =
        document.parser_->parse(text.data(), text.size()).get(document.root_);
  }
  if (error) return NotJson(error, text.size());
  absl::Status status = CheckAllObjects(document.root_);
  if (!status.ok()) return status;
  return document;
}

absl::StatusOr<Document> ParseObject(absl::string_view text) {
  absl::StatusOr<Document> document = Parse(text);
  if (document.ok() && !document->root().is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a JSON object (a ", KindOf(document->root()), ")"));
  }
  return document;
}

std::optional<Element> Member(Element object, absl::string_view name) {
  Element value;
  if (!object.is_object() || object.at_key(StdView(name)).get(value)) {
    return std::nullopt;
  }
  return value;
}

absl::string_view StringMember(Element object, absl::string_view name) {
  std::optional<Element> value = Member(object, name);
  std::string_view text;
  if (!value.has_value() || value->get_string().get(text)) return {};
  return View(text);
}

const char* KindOf(Element value) {
  switch (value.type()) {
    case element_type::OBJECT:
      return "object";
    case element_type::ARRAY:
      return "array";
    case element_type::STRING:
      return "string";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

absl::string_view FindMemberText(absl::string_view text,
                                 absl::string_view name) {
  size_t i = SkipSpace(text, 0);
  if (i >= text.size() || text[i] != '{') return {};
  i = SkipSpace(text, i + 1);
  while (i < text.size() && text[i] == '"') {
    size_t key_end = SkipString(text, i);
    absl::string_view quoted = text.substr(i, key_end - i);
    i = SkipSpace(text, key_end);
    if (i >= text.size() || text[i] != ':') return {};
    i = SkipSpace(text, i + 1);
    size_t value_end = SkipValue(text, i);
    if (quoted.size() >= 2 && NameIs(quoted, name)) {
      return text.substr(i, value_end - i);
    }
    i = SkipSpace(text, value_end);
    if (i < text.size() && text[i] == ',') i = SkipSpace(text, i + 1);
  }
  return {};
}

}  // namespace envelope::json
