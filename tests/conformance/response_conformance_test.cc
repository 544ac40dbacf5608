// Response-side conformance, exact: every example `output` of every
// examples.json of the bundled products goes through the gateway's own
// transcoder, as the dispatcher does it (RapidJSON full precision ->
// JsonValueToMessage on the method's response prototype from the bundled
// descriptors), then back with MessageToJson; every member present in the
// example's `Response` must come back with its value:
//   - numbers are compared by the exact decimal value of their text (so a
//     64-bit integer or a double that changed in its last digit is caught);
//   - JSON null may become absent; a member equal to its proto3 default in a
//     field without presence (and an empty array) may be absent.
// An example that contradicts its own schema (member not in the schema,
// another JSON type, integer out of range, failure envelope, no rpc) fails;
// the set of failing examples must equal the `response` entries of
// tests/conformance/known_contradictions.txt (shared with
// conformance_test.py, which writes the reasons).
//
// TranscodeEdges.*: values the examples do not contain, at the limits of the
// integer and double types, in both directions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"
#include "gateway/transcode/transcode.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

#ifndef KNOWN_CONTRADICTIONS
#define KNOWN_CONTRADICTIONS \
  SPECS_DIR "/../../tests/conformance/known_contradictions.txt"
#endif

namespace envelope {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using Int = __int128;

// ------------------------------------------------------------- JSON pairs

// A document parsed twice: `typed` for the JSON types, `raw` with numbers as
// their text (kParseNumbersAsStringsFlag). Both have the same shape, so a
// value is addressed by walking both in step.
struct Parsed {
  rapidjson::Document typed;
  rapidjson::Document raw;
  std::string error;
};

bool ParseBoth(const std::string& text, Parsed* out) {
  out->typed.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(),
                                                       text.size());
  if (out->typed.HasParseError()) {
    out->error =
        absl::StrCat(rapidjson::GetParseError_En(out->typed.GetParseError()),
                     " at offset ", out->typed.GetErrorOffset());
    return false;
  }
  out->raw.Parse<rapidjson::kParseNumbersAsStringsFlag>(text.data(),
                                                        text.size());
  return !out->raw.HasParseError();
}

// A value written back as JSON text: the gateway reads text with its own
// parser, this test reads with RapidJSON (an independent reader).
std::string TextOf(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

struct Node {
  const rapidjson::Value* typed;
  const rapidjson::Value* raw;
  std::string Text() const {
    return std::string(raw->GetString(), raw->GetStringLength());
  }
};

std::optional<Node> Member(Node object, const std::string& name) {
  auto t = object.typed->FindMember(name.c_str());
  if (t == object.typed->MemberEnd()) return std::nullopt;
  auto r = object.raw->MemberBegin() + (t - object.typed->MemberBegin());
  return Node{&t->value, &r->value};
}

Node Element(Node array, rapidjson::SizeType i) {
  return Node{&(*array.typed)[i], &(*array.raw)[i]};
}

const char* KindOf(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "value";
}

// ------------------------------------------------------- exact numbers

// The exact integer a JSON number's text denotes ("12", "1.0", "1e2"), or
// nullopt when it has a fraction or is beyond 128 bits.
std::optional<Int> ExactInteger(const std::string& text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && text[i] == '-') {
    negative = true;
    ++i;
  }
  std::string digits;
  int exponent = 0;
  while (i < text.size() && isdigit(static_cast<unsigned char>(text[i]))) {
    digits.push_back(text[i++]);
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && isdigit(static_cast<unsigned char>(text[i]))) {
      digits.push_back(text[i++]);
      --exponent;
    }
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      eneg = text[i] == '-';
      ++i;
    }
    int e = 0;
    while (i < text.size() && isdigit(static_cast<unsigned char>(text[i]))) {
      e = std::min(e * 10 + (text[i++] - '0'), 100000);
    }
    exponent += eneg ? -e : e;
  }
  if (i != text.size() || digits.empty()) return std::nullopt;
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  if (digits.empty()) return Int(0);
  while (digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  if (exponent < 0) return std::nullopt;  // a fraction is left
  if (digits.size() + exponent > 38) return std::nullopt;
  digits.append(exponent, '0');
  Int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return negative ? -v : v;
}

std::string ToString(Int v) {
  if (v == 0) return "0";
  bool negative = v < 0;
  unsigned __int128 u = negative ? -static_cast<unsigned __int128>(v) : v;
  std::string s;
  while (u > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (negative) s.push_back('-');
  return std::string(s.rbegin(), s.rend());
}

bool IsInteger(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return true;
    default:
      return false;
  }
}

bool IsFloating(const FieldDescriptor* f) {
  return f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE ||
         f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT;
}

bool InRange(const FieldDescriptor* f, Int v) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return v >= INT32_MIN && v <= INT32_MAX;
    case FieldDescriptor::CPPTYPE_INT64:
      return v >= INT64_MIN && v <= INT64_MAX;
    case FieldDescriptor::CPPTYPE_UINT32:
      return v >= 0 && v <= UINT32_MAX;
    case FieldDescriptor::CPPTYPE_UINT64:
      return v >= 0 && v <= static_cast<Int>(UINT64_MAX);
    default:
      return false;
  }
}

const char* TypeName(const FieldDescriptor* f) {
  return f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ? "object"
                                                           : f->cpp_type_name();
}

const FieldDescriptor* ByJsonName(const Descriptor* d,
                                  const std::string& name) {
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == name) return d->field(i);
  }
  return nullptr;
}

std::string Join(const std::string& path, const std::string& name) {
  return path.empty() ? name : absl::StrCat(path, ".", name);
}

// --------------------------------------------------------- schema check

void SchemaValue(Node v, const FieldDescriptor* f, const std::string& path,
                 std::vector<std::string>* out);

void SchemaObject(Node v, const Descriptor* d, const std::string& path,
                  std::vector<std::string>* out) {
  for (auto m = v.typed->MemberBegin(); m != v.typed->MemberEnd(); ++m) {
    std::string name(m->name.GetString(), m->name.GetStringLength());
    std::string p = Join(path, name);
    const FieldDescriptor* f = ByJsonName(d, name);
    if (f == nullptr) {
      out->push_back(p + ": member not in the schema");
      continue;
    }
    Node child = *Member(v, name);
    if (child.typed->IsNull()) continue;
    if (f->is_repeated()) {
      if (!child.typed->IsArray()) {
        out->push_back(absl::StrCat(p, ": schema says array of ", TypeName(f),
                                    ", example has ", KindOf(*child.typed)));
        continue;
      }
      for (rapidjson::SizeType i = 0; i < child.typed->Size(); ++i) {
        SchemaValue(Element(child, i), f, absl::StrCat(p, "[", i, "]"), out);
      }
    } else {
      SchemaValue(child, f, p, out);
    }
  }
}

void SchemaValue(Node v, const FieldDescriptor* f, const std::string& path,
                 std::vector<std::string>* out) {
  const rapidjson::Value& t = *v.typed;
  auto mismatch = [&] {
    out->push_back(absl::StrCat(path, ": schema says ", TypeName(f),
                                ", example has ", KindOf(t)));
  };
  if (t.IsNull()) {
    out->push_back(path + ": null inside an array");
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    if (!t.IsObject()) return mismatch();
    SchemaObject(v, f->message_type(), path, out);
  } else if (IsInteger(f)) {
    if (!t.IsNumber()) return mismatch();
    std::optional<Int> n = ExactInteger(v.Text());
    if (!n.has_value() || !InRange(f, *n)) {
      out->push_back(
          absl::StrCat(path, ": ", v.Text(), " is no ", TypeName(f)));
    }
  } else if (IsFloating(f)) {
    if (!t.IsNumber()) return mismatch();
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
    if (!t.IsBool()) return mismatch();
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    if (!t.IsString()) return mismatch();
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    if (!t.IsString() && !t.IsInt()) return mismatch();
  }
}

// ------------------------------------------------------------ comparison

bool IsProto3Default(Node w, const FieldDescriptor* f) {
  if (f->is_repeated()) return w.typed->IsArray() && w.typed->Empty();
  if (f->has_presence()) return false;
  if (IsInteger(f)) return ExactInteger(w.Text()) == Int(0);
  if (IsFloating(f)) return std::strtod(w.Text().c_str(), nullptr) == 0.0;
  if (w.typed->IsBool()) return !w.typed->GetBool();
  if (w.typed->IsString()) return w.typed->GetStringLength() == 0;
  return false;
}

std::string Show(Node v) {
  if (v.typed->IsNumber()) return v.Text();
  if (v.typed->IsString()) {
    std::string s(v.typed->GetString(), v.typed->GetStringLength());
    if (s.size() > 40) s = s.substr(0, 37) + "...";
    return absl::StrCat("\"", s, "\"");
  }
  return KindOf(*v.typed);
}

void CompareObject(Node want, Node got, const Descriptor* d,
                   const std::string& path, std::vector<std::string>* out);

void CompareValue(Node w, Node g, const FieldDescriptor* f,
                  const std::string& p, std::vector<std::string>* out) {
  bool equal = false;
  const rapidjson::Value& gt = *g.typed;
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    if (!gt.IsObject()) {
      out->push_back(
          absl::StrCat(p, ": example has an object, got ", KindOf(gt)));
      return;
    }
    return CompareObject(w, g, f->message_type(), p, out);
  } else if (IsInteger(f)) {
    // The writer must print an integer, not a string, not a double.
    equal = gt.IsInt64() || gt.IsUint64();
    equal = equal && ExactInteger(w.Text()) == ExactInteger(g.Text());
  } else if (IsFloating(f)) {
    equal = gt.IsNumber() && std::strtod(w.Text().c_str(), nullptr) ==
                                 std::strtod(g.Text().c_str(), nullptr);
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
    equal = gt.IsBool() && gt.GetBool() == w.typed->GetBool();
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    equal = gt.IsString() && gt == *w.typed;
  } else {
    equal = gt == *w.typed;
  }
  if (!equal) {
    out->push_back(
        absl::StrCat(p, ": example has ", Show(w), ", got ", Show(g)));
  }
}

void CompareObject(Node want, Node got, const Descriptor* d,
                   const std::string& path, std::vector<std::string>* out) {
  for (auto m = want.typed->MemberBegin(); m != want.typed->MemberEnd(); ++m) {
    std::string name(m->name.GetString(), m->name.GetStringLength());
    std::string p = Join(path, name);
    const FieldDescriptor* f = ByJsonName(d, name);
    Node w = *Member(want, name);
    if (w.typed->IsNull()) continue;
    std::optional<Node> g = Member(got, name);
    if (!g.has_value()) {
      if (!IsProto3Default(w, f)) {
        out->push_back(absl::StrCat(p, ": absent (example has ", Show(w), ")"));
      }
      continue;
    }
    if (f->is_repeated()) {
      if (!g->typed->IsArray() || g->typed->Size() != w.typed->Size()) {
        out->push_back(absl::StrCat(p, ": example has ", w.typed->Size(),
                                    " elements, got ", Show(*g)));
        continue;
      }
      for (rapidjson::SizeType i = 0; i < w.typed->Size(); ++i) {
        CompareValue(Element(w, i), Element(*g, i), f,
                     absl::StrCat(p, "[", i, "]"), out);
      }
    } else {
      CompareValue(w, *g, f, p, out);
    }
  }
}

// One Response object through the transcoder: problems, empty when it
// round-trips. Schema contradictions are reported first and stop there.
std::vector<std::string> RoundTrip(Node response, const Message& prototype) {
  std::vector<std::string> problems;
  const Descriptor* d = prototype.GetDescriptor();
  SchemaObject(response, d, "Response", &problems);
  if (!problems.empty()) return problems;
  std::unique_ptr<Message> message(prototype.New());
  JsonReadStats stats;
  absl::Status status =
      JsonToMessage(TextOf(*response.typed), message.get(), &stats);
  if (!status.ok()) {
    problems.push_back(absl::StrCat("JsonValueToMessage: ", status.ToString()));
    return problems;
  }
  if (stats.unknown_members != 0) {
    problems.push_back(
        absl::StrCat(stats.unknown_members, " member(s) counted unknown"));
  }
  std::string json;
  (void)MessageToJson(*message, &json);
  Parsed back;
  if (!ParseBoth(json, &back)) {
    problems.push_back("MessageToJson wrote no JSON: " + back.error);
    return problems;
  }
  if (!back.typed.IsObject()) {
    problems.push_back("MessageToJson wrote no object");
    return problems;
  }
  CompareObject(response, Node{&back.typed, &back.raw}, d, "Response",
                &problems);
  return problems;
}

// -------------------------------------------------------------- examples

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Conformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto router = Router::Create({{"bundled", "", &BundledFiles()}});
    ASSERT_TRUE(router.ok()) << router.status();
    router_ = router->release();
  }
  static void TearDownTestSuite() {
    delete router_;
    router_ = nullptr;
  }
  static Router* router_;
};
Router* Conformance::router_ = nullptr;

// key "svc/vYYYYMMDD Action #i" -> reason, of the `response` lines.
std::map<std::string, std::string> KnownResponseFailures(std::string* error) {
  std::map<std::string, std::string> known;
  std::ifstream in(KNOWN_CONTRADICTIONS);
  if (!in) {
    *error = std::string("cannot read ") + KNOWN_CONTRADICTIONS;
    return known;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t side = line.find(" response: ");
    if (side == std::string::npos) continue;
    size_t hash = line.find(" #");
    if (hash == std::string::npos || hash > side) continue;
    known[line.substr(0, side)] = line.substr(side + 11);
  }
  return known;
}

TEST_F(Conformance, EveryExampleResponseRoundTrips) {
  const auto& pool = router_->pool();
  std::map<std::string, std::string> failures;  // key -> problems
  int total = 0;
  std::vector<fs::path> files;
  for (const auto& svc : fs::directory_iterator(SPECS_DIR)) {
    if (!svc.is_directory()) continue;
    for (const auto& ver : fs::directory_iterator(svc.path())) {
      if (fs::exists(ver.path() / "examples.json")) {
        files.push_back(ver.path() / "examples.json");
      }
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::string ver = file.parent_path().filename().string();
    std::string svc = file.parent_path().parent_path().filename().string();
    const auto* proto = pool.FindFileByName(
        absl::StrCat("tencentcloud/", svc, "/", ver, "/", svc, ".proto"));
    if (proto == nullptr || proto->service_count() != 1) continue;
    const auto* service = proto->service(0);
    rapidjson::Document doc;
    std::string text = Slurp(file);
    doc.Parse(text.data(), text.size());
    ASSERT_FALSE(doc.HasParseError()) << file;
    const auto& actions = doc["actions"];
    for (auto a = actions.MemberBegin(); a != actions.MemberEnd(); ++a) {
      std::string action = a->name.GetString();
      const MethodRoute* route =
          router_->Find(absl::StrCat("/", service->full_name(), "/", action));
      for (rapidjson::SizeType i = 0; i < a->value.Size(); ++i) {
        ++total;
        std::string key = absl::StrCat(svc, "/", ver, " ", action, " #", i);
        std::vector<std::string> problems;
        if (route == nullptr) {
          problems.push_back("action has no rpc");
        } else {
          const auto& output = a->value[i]["output"];
          Parsed parsed;
          std::string out(output.GetString(), output.GetStringLength());
          if (!ParseBoth(out, &parsed)) {
            problems.push_back("output is not JSON: " + parsed.error);
          } else {
            Node root{&parsed.typed, &parsed.raw};
            std::optional<Node> response;
            if (parsed.typed.IsObject()) response = Member(root, "Response");
            if (!response.has_value() || !response->typed->IsObject()) {
              problems.push_back("output has no Response object");
            } else if (response->typed->HasMember("Error")) {
              problems.push_back("output is a failure envelope");
            } else {
              problems = RoundTrip(*response, *route->response_prototype);
            }
          }
        }
        if (!problems.empty()) {
          std::string reason;
          for (const auto& p : problems) {
            absl::StrAppend(&reason, reason.empty() ? "" : "; ", p);
          }
          failures[key] = reason;
        }
      }
    }
  }
  std::string error;
  auto known = KnownResponseFailures(&error);
  ASSERT_TRUE(error.empty()) << error;
  std::cerr << "conformance (C++ transcoder): response side "
            << total - static_cast<int>(failures.size()) << " passed / "
            << total << " total (" << known.size()
            << " listed contradictions)\n";
  for (const auto& [key, reason] : failures) {
    EXPECT_TRUE(known.count(key))
        << "NOT LISTED  " << key << " response: " << reason;
  }
  for (const auto& [key, reason] : known) {
    EXPECT_TRUE(failures.count(key))
        << "NOW PASSES  " << key << " response (listed: " << reason << ")";
  }
  EXPECT_GT(total, 800);
}

// ----------------------------------------------------------------- edges

// Reading `member: value` into the response `message_name` either fails or
// keeps the exact value (written back by MessageToJson).
struct Edge {
  const char* message_name;
  const char* member;
  const char* value;
};

std::string ReadEdge(const Router& router, const Edge& e) {
  const Descriptor* d = router.pool().FindMessageTypeByName(e.message_name);
  if (d == nullptr) return std::string("no message ") + e.message_name;
  google::protobuf::DynamicMessageFactory factory(&router.pool());
  std::unique_ptr<Message> message(factory.GetPrototype(d)->New());
  std::string json = absl::StrCat("{\"", e.member, "\":", e.value, "}");
  Parsed parsed;
  if (!ParseBoth(json, &parsed)) return "test JSON does not parse";
  absl::Status status = JsonToMessage(json, message.get());
  if (!status.ok()) return "error";
  std::string out;
  (void)MessageToJson(*message, &out);
  Parsed back;
  if (!ParseBoth(out, &back)) return "MessageToJson wrote no JSON: " + out;
  std::optional<Node> g = Member(Node{&back.typed, &back.raw}, e.member);
  if (!g.has_value()) return absl::StrCat("value read as 0 (", out, ")");
  return g->Text();
}

class TranscodeEdges : public Conformance {};

constexpr char kInt64Msg[] =
    "tencentcloud.cvm.v20170312.DescribeInstancesResponse";
constexpr char kUint64Msg[] =
    "tencentcloud.cam.v20190116.CreatePolicyVersionResponse";

TEST_F(TranscodeEdges, IntegersInRangeKeepTheirValue) {
  const Edge ok[] = {
      {kInt64Msg, "TotalCount", "9223372036854775807"},
      {kInt64Msg, "TotalCount", "-9223372036854775808"},
      {kInt64Msg, "TotalCount", "1e2"},
      {kInt64Msg, "TotalCount", "7.0"},
      {kUint64Msg, "VersionId", "18446744073709551615"},
      {kUint64Msg, "VersionId", "9223372036854775808"},
  };
  for (const Edge& e : ok) {
    std::optional<Int> want = ExactInteger(e.value);
    EXPECT_EQ(ReadEdge(*router_, e), ToString(*want))
        << e.message_name << "." << e.member << " = " << e.value;
  }
}

// A JSON number beyond the field's range, or one whose decimal value a
// double cannot hold, must not become another value (an error is fine).
TEST_F(TranscodeEdges, IntegersOutOfRangeOrInexactAreNotChanged) {
  const Edge edges[] = {
      {kInt64Msg, "TotalCount", "9223372036854775808"},
      {kInt64Msg, "TotalCount", "9223372036854775808.0"},  // 2^63
      {kInt64Msg, "TotalCount", "-9223372036854775809.0"},
      {kInt64Msg, "TotalCount", "1234567890123456789.0"},  // > 2^53
      {kInt64Msg, "TotalCount", "9007199254740993e0"},
      // Exact, but its text is gone once parsed: a fraction or exponent is
      // taken only below 2^31 (docs/design.md), so this one is refused too.
      {kInt64Msg, "TotalCount", "9007199254740992.0"},
      {kInt64Msg, "TotalCount", "1e19"},
      {kUint64Msg, "VersionId", "18446744073709551616"},  // 2^64
      {kUint64Msg, "VersionId", "18446744073709551616.0"},
      {kUint64Msg, "VersionId", "-1"},
  };
  for (const Edge& e : edges) {
    std::string got = ReadEdge(*router_, e);
    std::optional<Int> want = ExactInteger(e.value);
    if (got == "error") continue;
    EXPECT_EQ(got, want.has_value() ? ToString(*want) : "(an error)")
        << e.message_name << "." << e.member << " = " << e.value
        << " was accepted as another value";
  }
}

TEST_F(TranscodeEdges, DoublesKeepTheirValue) {
  constexpr char kMsg[] = "tencentcloud.cvm.v20170312.ItemPrice";
  const Descriptor* d = router_->pool().FindMessageTypeByName(kMsg);
  ASSERT_NE(d, nullptr);
  const FieldDescriptor* f = ByJsonName(d, "UnitPrice");
  ASSERT_NE(f, nullptr);
  const char* values[] = {"0.1",
                          "1e300",
                          "5e-324",
                          "-0.0",
                          "123456789.123456789",
                          "1.7976931348623157e308",
                          "2.2250738585072014e-308",
                          "0.30000000000000004",
                          "100"};
  for (const char* v : values) {
    // Through the reader and the writer ...
    std::string got = ReadEdge(*router_, {kMsg, "UnitPrice", v});
    if (std::strtod(v, nullptr) == 0.0 &&
        got.rfind("value read as 0", 0) == 0) {
      continue;  // 0 in a field without presence is not written
    }
    EXPECT_EQ(std::strtod(got.c_str(), nullptr), std::strtod(v, nullptr))
        << "UnitPrice = " << v << " came back as " << got;
  }
}

// The request direction: values set on a message are written exactly.
TEST_F(TranscodeEdges, WriterKeepsValues) {
  const Descriptor* d = router_->pool().FindMessageTypeByName(
      "tencentcloud.cvm.v20170312.DescribeInstancesRequest");
  ASSERT_NE(d, nullptr);
  google::protobuf::DynamicMessageFactory factory(&router_->pool());
  const FieldDescriptor* offset = ByJsonName(d, "Offset");
  const FieldDescriptor* ids = ByJsonName(d, "InstanceIds");
  ASSERT_TRUE(offset != nullptr && ids != nullptr);
  ASSERT_EQ(offset->cpp_type(), FieldDescriptor::CPPTYPE_INT64);
  const int64_t ints[] = {0, -1, INT64_MAX, INT64_MIN, 9007199254740993};
  const std::string strings[] = {"",
                                 "a\"b\\c",
                                 "\n\r\t\b\f",
                                 std::string("\x01\x1f\x7f", 3),
                                 "\xe2\x80\xa8 \xe4\xb8\xad \xf0\x9f\x98\x80",
                                 "</script>"};
  for (int64_t v : ints) {
    std::unique_ptr<Message> m(factory.GetPrototype(d)->New());
    m->GetReflection()->SetInt64(m.get(), offset, v);
    for (const auto& s : strings)
      m->GetReflection()->AddString(m.get(), ids, s);
    std::string json;
    (void)MessageToJson(*m, &json);
    Parsed back;
    ASSERT_TRUE(ParseBoth(json, &back)) << json;
    Node root{&back.typed, &back.raw};
    auto o = Member(root, "Offset");
    ASSERT_TRUE(o.has_value()) << json;
    EXPECT_TRUE(o->typed->IsInt64()) << json;
    EXPECT_EQ(o->Text(), absl::StrCat(v));
    auto a = Member(root, "InstanceIds");
    ASSERT_TRUE(a.has_value() && a->typed->IsArray()) << json;
    ASSERT_EQ(a->typed->Size(), std::size(strings));
    for (rapidjson::SizeType i = 0; i < a->typed->Size(); ++i) {
      const auto& s = (*a->typed)[i];
      EXPECT_EQ(std::string(s.GetString(), s.GetStringLength()), strings[i])
          << json;
    }
  }
}

}  // namespace
}  // namespace envelope
