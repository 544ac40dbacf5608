#include "gateway/transcode/transcode.h"

#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/protos/test_types.pb.h"

namespace envelope {
namespace {

using envelope::test::AllTypes;

bool SameJson(const std::string& a, const std::string& b) {
  rapidjson::Document da, db;
  da.Parse<rapidjson::kParseFullPrecisionFlag>(a.c_str());
  db.Parse<rapidjson::kParseFullPrecisionFlag>(b.c_str());
  return !da.HasParseError() && !db.HasParseError() && da == db;
}

TEST(MessageToJsonTest, UnsetFieldsAreNotSent) {
  AllTypes message;
  std::string json;
  ASSERT_TRUE(MessageToJson(message, &json).ok());
  EXPECT_EQ(json, "{}");
  message.set_i32(0);  // optional: set to zero is sent
  message.set_plain("");
  json.clear();
  ASSERT_TRUE(MessageToJson(message, &json).ok());
  EXPECT_EQ(json, R"({"I32":0})");
}

TEST(MessageToJsonTest, ApiNamesAnd64BitNumbers) {
  AllTypes message;
  message.set_i64(-9223372036854775807LL - 1);
  message.set_u64(18446744073709551615ULL);
  message.add_ids(9007199254740993LL);
  message.mutable_placement()->set_zone("ap-guangzhou-3");
  message.mutable_placement()->set_project_id(0);
  std::string json;
  ASSERT_TRUE(MessageToJson(message, &json).ok());
  EXPECT_EQ(
      json,
      R"({"I64":-9223372036854775808,"U64":18446744073709551615,)"
      R"("Ids":[9007199254740993],"Placement":{"Zone":"ap-guangzhou-3"}})");
}

TEST(MessageToJsonTest, ScalarsEnumsBytesMapsAndEscapes) {
  AllTypes message;
  message.set_dbl(0.1);
  message.set_flt(1.5f);
  message.set_flag(false);
  message.set_text("a\"b\\c\n\x01未命名");
  message.set_blob(std::string("\x00\xff", 2));
  message.set_color(envelope::test::GREEN);
  (*message.mutable_counts())["k"] = 7;
  (*message.mutable_by_id())[3] = "three";
  std::string json;
  ASSERT_TRUE(MessageToJson(message, &json).ok());
  EXPECT_TRUE(SameJson(
      json, R"({"Dbl":0.1,"Flt":1.5,"Flag":false,)"
            R"("Text":"a\"b\\c\n\u0001未命名","Blob":"AP8=",)"
            R"("Color":"GREEN","Counts":{"k":7},"ById":{"3":"three"}})"))
      << json;
}

// A map read from the wire can name a key twice, and reflection lists both
// entries of a dynamic message: the last is the key's value, and the JSON
// names each key once (a proto_json_roundtrip_fuzzer finding, in a Struct).
TEST(MessageToJsonTest, AMapKeyTwiceOnTheWireIsWrittenOnceWithItsLastValue) {
  // Counts (field 15) {"k": 1}, {"k": 2}, {"j": 3}; then Labels of a
  // WellKnown is checked the same way below.
  const std::string wire(
      "\x7a\x05\x0a\x01k\x10\x01"
      "\x7a\x05\x0a\x01k\x10\x02"
      "\x7a\x05\x0a\x01j\x10\x03",
      21);
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<google::protobuf::Message> dynamic(
      factory.GetPrototype(AllTypes::descriptor())->New());
  ASSERT_TRUE(dynamic->ParseFromString(wire));
  std::string json;
  ASSERT_TRUE(MessageToJson(*dynamic, &json).ok());
  EXPECT_TRUE(SameJson(json, R"({"Counts":{"k":2,"j":3}})")) << json;
  // Struct: labels (field 6) {"a": 1.0}, {"a": null}.
  const std::string labels(
      "\x32\x19"
      "\x0a\x0e\x0a\x01"
      "a\x12\x09\x11\x00\x00\x00\x00\x00\x00\xf0\x3f"
      "\x0a\x07\x0a\x01"
      "a\x12\x02\x08\x00",
      27);
  std::unique_ptr<google::protobuf::Message> well_known(
      factory.GetPrototype(envelope::test::WellKnown::descriptor())->New());
  ASSERT_TRUE(well_known->ParseFromString(labels));
  json.clear();
  ASSERT_TRUE(MessageToJson(*well_known, &json).ok());
  EXPECT_EQ(json, R"({"labels":{"a":null}})");
}

TEST(JsonToMessageTest, RoundTripsEveryShape) {
  const std::string json =
      R"({"I32":-5,"I64":-9223372036854775808,"U32":4000000000,)"
      R"("U64":18446744073709551615,"Dbl":2.5e-3,"Flt":1.5,"Flag":true,)"
      R"("Text":"未命名","Blob":"AP8=","Color":"RED","Ids":[1,9007199254740993],)"
      R"("Names":["a","b"],"Placement":{"Zone":"z","ProjectId":3},)"
      R"("InstanceSet":[{"Zone":"a"},{"Zone":"b"}],"Counts":{"x":1},)"
      R"("ById":{"7":"seven"},"Plain":"p","PlainInt":42})";
  AllTypes message;
  JsonReadStats stats;
  ASSERT_TRUE(JsonToMessage(json, &message, &stats).ok());
  EXPECT_EQ(stats.unknown_members, 0);
  EXPECT_EQ(message.u64(), 18446744073709551615ULL);
  EXPECT_EQ(message.ids(1), 9007199254740993LL);
  EXPECT_EQ(message.blob(), std::string("\x00\xff", 2));
  EXPECT_EQ(message.by_id().at(7), "seven");
  std::string back;
  ASSERT_TRUE(MessageToJson(message, &back).ok());
  EXPECT_TRUE(SameJson(json, back)) << back;
}

TEST(JsonToMessageTest, NullIsUnsetAndUnknownMembersAreCounted) {
  AllTypes message;
  JsonReadStats stats;
  ASSERT_TRUE(JsonToMessage(R"({"I32":null,"Placement":null,"New":1,)"
                            R"("Newer":{"x":[1]},"Text":"t"})",
                            &message, &stats)
                  .ok());
  EXPECT_FALSE(message.has_i32());
  EXPECT_FALSE(message.has_placement());
  EXPECT_EQ(message.text(), "t");
  EXPECT_EQ(stats.unknown_members, 2);
}

TEST(JsonToMessageTest, AcceptsProtoFieldNamesAndQuotedIntegers) {
  AllTypes message;
  ASSERT_TRUE(
      JsonToMessage(R"({"i64":"-12","U64":"18446744073709551615"})", &message)
          .ok());
  EXPECT_EQ(message.i64(), -12);
  EXPECT_EQ(message.u64(), 18446744073709551615ULL);
}

TEST(JsonToMessageTest, ErrorsNameTheMemberPath) {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"InstanceSet":[{},{},{},{"Zone":5}]})",
       "InstanceSet[3].Zone: expected string, got number"},
      {R"({"Placement":{"ProjectId":"x"}})",
       "Placement.ProjectId: expected an integer, got a string that is not "
       "one"},
      {R"({"I32":4294967296})", "I32: integer 4294967296 out of range"},
      {R"({"U32":-1})", "U32: integer -1 out of range"},
      {R"({"I64":1.5})", "I64: expected an exact integer, got 1.5"},
      {R"({"I64":9007199254740993e0})", "I64: expected an exact integer"},
      {R"({"I64":" 12"})", "I64: expected an integer, got a string"},
      {R"({"I64":"+12"})", "I64: expected an integer, got a string"},
      {R"({"Ids":{}})", "Ids: expected array, got object"},
      {R"({"Ids":[1,null]})", "Ids[1]: null is not allowed in an array"},
      {R"({"Flag":"true"})", "Flag: expected boolean, got string"},
      {R"({"Color":"BLUE"})", "Color: unknown enum value \"BLUE\""},
      {R"({"ById":{"x":"y"}})", "ById[\"x\"]: expected an integer"},
      {R"([])", "(root): expected object, got array"},
      {R"({"Text":)", "not JSON"},
  };
  for (const auto& c : cases) {
    AllTypes message;
    absl::Status status = JsonToMessage(c.json, &message);
    ASSERT_FALSE(status.ok()) << c.json;
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find(c.error), std::string::npos)
        << status.message() << " // wanted: " << c.error;
  }
}

TEST(WellKnownTypesTest, RoundTripInProto3JsonForms) {
  const std::string json =
      R"({"created":"2019-02-25T04:44:25.123Z","timeout":"-1.500s",)"
      R"("big":9007199254740993,"name":"n","enabled":false,)"
      R"("labels":{"a":1,"b":[true,null,"x"],"c":{"d":"e"}},)"
      R"("anything":"text","list":[1,"two"],"mask":"fooBar,baz.quxQuux",)"
      R"("detail":{"@type":"type.googleapis.com/envelope.test.Inner",)"
      R"("Zone":"z","ProjectId":7},"numberChoice":5})";
  envelope::test::WellKnown message;
  absl::Status status = JsonToMessage(json, &message);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(message.created().seconds(), 1551069865);
  EXPECT_EQ(message.created().nanos(), 123000000);
  EXPECT_EQ(message.timeout().seconds(), -1);
  EXPECT_EQ(message.timeout().nanos(), -500000000);
  EXPECT_EQ(message.big().value(), 9007199254740993LL);
  EXPECT_TRUE(message.has_enabled());
  EXPECT_EQ(message.mask().paths(0), "foo_bar");
  EXPECT_EQ(message.mask().paths(1), "baz.qux_quux");
  envelope::test::Inner inner;
  ASSERT_TRUE(message.detail().UnpackTo(&inner));
  EXPECT_EQ(inner.project_id(), 7);
  EXPECT_EQ(message.number_choice(), 5);
  std::string back;
  ASSERT_TRUE(MessageToJson(message, &back).ok());
  EXPECT_TRUE(SameJson(
      back, R"({"created":"2019-02-25T04:44:25.123Z","timeout":"-1.500s",)"
            R"("big":9007199254740993,"name":"n","enabled":false,)"
            R"("labels":{"a":1,"b":[true,null,"x"],"c":{"d":"e"}},)"
            R"("anything":"text","list":[1,"two"],"mask":"fooBar,baz.quxQuux",)"
            R"("detail":{"@type":"type.googleapis.com/envelope.test.Inner",)"
            R"("Zone":"z","ProjectId":7},"numberChoice":5})"))
      << back;
}

TEST(WellKnownTypesTest, BadFormsNameThePath) {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"created":"yesterday"})", "created: not an RFC 3339 timestamp"},
      {R"({"timeout":"5m"})", "timeout: not a duration like \"1.5s\""},
      {R"({"timeout":"x.5s"})", "timeout: not a duration"},
      {R"({"timeout":"--5s"})", "timeout: not a duration"},
      {R"({"timeout":"--9223372036854775808s"})", "timeout: not a duration"},
      {R"({"timeout":"315576000001s"})", "timeout: not a duration"},
      {R"({"timeout":"1.1234567891s"})", "timeout: not a duration"},
      {R"({"timeout":"+5s"})", "timeout: not a duration"},
      {R"({"created":"99999-01-01T00:00:00Z"})",
       "created: not an RFC 3339 timestamp"},
      {"{\"created\":\"2020-01-01T00:00:00Z\\u0000\"}",
       "created: not an RFC 3339 timestamp"},
      {R"({"big":"nope"})", "big: expected an integer"},
      {R"({"detail":{"Zone":"z"}})", "detail: an Any needs a string \"@type\""},
      {R"({"detail":{"@type":"type.googleapis.com/no.Such"}})",
       "detail: unknown type"},
  };
  for (const auto& c : cases) {
    envelope::test::WellKnown message;
    absl::Status status = JsonToMessage(c.json, &message);
    ASSERT_FALSE(status.ok()) << c.json;
    EXPECT_NE(status.message().find(c.error), std::string::npos)
        << status.message() << " // wanted: " << c.error;
  }
}

// The generated Tencent Cloud protos, as dynamic messages: what the gateway
// really transcodes.
TEST(TranscodeDynamicTest, DescribeInstancesResponseKeepsEveryValue) {
  auto router = Router::Create({{"bundled", "", &BundledFiles()}});
  ASSERT_TRUE(router.ok()) << router.status();
  const MethodRoute* route =
      (*router)->Find("/tencentcloud.cvm.v20170312.Cvm/DescribeInstances");
  ASSERT_NE(route, nullptr);
  const std::string json =
      R"({"TotalCount":1,"InstanceSet":[{"InstanceId":"ins-1","CPU":4,)"
      R"("Memory":8,"Placement":{"Zone":"ap-guangzhou-3","ProjectId":0},)"
      R"("DataDisks":[{"DiskSize":50,"DeleteWithInstance":true}],)"
      R"("IPv6Addresses":null}],"RequestId":"r-1"})";
  std::unique_ptr<google::protobuf::Message> response(
      route->response_prototype->New());
  JsonReadStats stats;
  ASSERT_TRUE(JsonToMessage(json, response.get(), &stats).ok());
  EXPECT_EQ(stats.unknown_members, 0);
  std::string back;
  ASSERT_TRUE(MessageToJson(*response, &back).ok());
  // null became absent; everything else survived.
  EXPECT_TRUE(SameJson(
      back,
      R"({"TotalCount":1,"InstanceSet":[{"InstanceId":"ins-1","CPU":4,)"
      R"("Memory":8,"Placement":{"Zone":"ap-guangzhou-3","ProjectId":0},)"
      R"("DataDisks":[{"DiskSize":50,"DeleteWithInstance":true}]}],"RequestId":"r-1"})"))
      << back;
}

}  // namespace
}  // namespace envelope

namespace envelope {
namespace {

// `levels` arrays nested inside the ListValue field `list`.
std::string NestedLists(int levels) {
  return "{\"list\":" + std::string(levels, '[') + std::string(levels, ']') +
         "}";
}

TEST(HostileJsonTest, EveryAcceptedNestingDecodesInStockProtobuf) {
  // Read deeper and deeper until the reader refuses: everything it accepted
  // must parse back with protobuf's default recursion limit.
  int refused_at = 0;
  for (int levels = 1; levels < 200 && refused_at == 0; ++levels) {
    envelope::test::WellKnown message;
    absl::Status status = JsonToMessage(NestedLists(levels), &message);
    if (!status.ok()) {
      EXPECT_NE(status.message().find("nested deeper than 100 messages"),
                std::string::npos)
          << status;
      refused_at = levels;
      break;
    }
    envelope::test::WellKnown back;
    ASSERT_TRUE(back.ParseFromString(message.SerializeAsString()))
        << "accepted " << levels << " levels that protobuf cannot decode";
  }
  // Each level is a ListValue and a Value: about 50 levels fit.
  EXPECT_GT(refused_at, 45);
  EXPECT_LT(refused_at, 55);
}

TEST(HostileJsonTest, DeepStructsAndMessagesEndInAnErrorNotACrash) {
  std::string deep_struct = "{\"labels\":";
  for (int i = 0; i < 100000; ++i) deep_struct += "{\"a\":";
  envelope::test::WellKnown message;
  EXPECT_FALSE(JsonToMessage(deep_struct, &message).ok());
  std::string just_past = "{\"labels\":";
  for (int i = 0; i < 120; ++i) just_past += "{\"a\":";
  just_past += "1" + std::string(121, '}');
  absl::Status status = JsonToMessage(just_past, &message);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("nested deeper"), std::string::npos)
      << status;
}

TEST(HostileJsonTest, NumbersAndRanges) {
  AllTypes message;
  ASSERT_TRUE(JsonToMessage(R"({"Dbl":0e-261})", &message).ok());
  EXPECT_EQ(message.dbl(), 0.0);
  ASSERT_TRUE(
      JsonToMessage(R"({"Dbl":8.0555555555555555555555555555510154277e-0332})",
                    &message)
          .ok());
  EXPECT_EQ(message.dbl(), 0.0);
  absl::Status status = JsonToMessage(R"({"Flt":1e300})", &message);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("out of range for float"), std::string::npos);
}

TEST(HostileJsonTest, ErrorsQuoteInputEscapedAndBounded) {
  AllTypes message;
  const std::string huge_key(100000, 'k');
  absl::Status status =
      JsonToMessage("{\"ById\":{\"" + huge_key + "\":\"y\"}}", &message);
  ASSERT_FALSE(status.ok());
  EXPECT_LT(status.message().size(), 600u);
  status =
      JsonToMessage("{\"Color\":\"\\u0000\\r\\n" + huge_key + "\"}", &message);
  ASSERT_FALSE(status.ok());
  EXPECT_LT(status.message().size(), 600u);
  EXPECT_EQ(status.message().find('\n'), std::string::npos);
}

TEST(HostileJsonTest, OneFieldOneValue) {
  AllTypes message;
  absl::Status status = JsonToMessage(R"({"I32":1,"i32":2})", &message);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("i32: the field is named twice"),
            std::string::npos)
      << status;
  EXPECT_TRUE(JsonToMessage(R"({"I32":1,"i32":null})", &message).ok());
  // One key, two spellings (found by the JSON->proto fuzzer).
  EXPECT_FALSE(JsonToMessage(R"({"ById":{"1":"a","01":"b"}})", &message).ok());
  EXPECT_FALSE(JsonToMessage(R"({"ById":{"-0":"a"}})", &message).ok());
  EXPECT_TRUE(JsonToMessage(R"({"ById":{"0":"a","-10":"b"}})", &message).ok());
  envelope::test::WellKnown choice;
  status = JsonToMessage(R"({"textChoice":"a","numberChoice":5})", &choice);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("a second member of the same oneof"),
            std::string::npos)
      << status;
}

TEST(HostileJsonTest, QuotedNumbersFollowTheJsonGrammar) {
  AllTypes message;
  for (const char* json :
       {R"({"Dbl":"1e400"})", R"({"Dbl":" +5 "})", R"({"Dbl":"inf"})",
        R"({"Dbl":"0x10"})", R"({"Flt":"1e400"})", R"({"Dbl":"1."})"}) {
    EXPECT_FALSE(JsonToMessage(json, &message).ok()) << json;
  }
  ASSERT_TRUE(JsonToMessage(R"({"Dbl":"-1.5e3"})", &message).ok());
  EXPECT_EQ(message.dbl(), -1500.0);
  ASSERT_TRUE(JsonToMessage(R"({"Dbl":"NaN"})", &message).ok());
  ASSERT_TRUE(JsonToMessage(R"({"I32":-2147483648.0})", &message).ok());
  EXPECT_EQ(message.i32(), -2147483648);
}

TEST(HostileJsonTest, AnyNestedTooDeepIsRefusedOnTheWayOut) {
  // An Any holding an Any holding ...: each level is parsed anew.
  envelope::test::WellKnown message;
  google::protobuf::Any any;
  any.set_type_url("type.googleapis.com/google.protobuf.Duration");
  any.set_value(google::protobuf::Duration().SerializeAsString());
  for (int i = 0; i < 20; ++i) {
    google::protobuf::Any outer;
    outer.PackFrom(any);
    any = outer;
  }
  *message.mutable_detail() = any;
  std::string json;
  absl::Status status = MessageToJson(message, &json);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("Any nested deeper"), std::string::npos);
  // The flag does not stick to the thread.
  json.clear();
  EXPECT_TRUE(MessageToJson(envelope::test::WellKnown(), &json).ok());
}

TEST(HostileJsonTest, WrittenValuesReadBack) {
  // Found by the round-trip fuzzer: a large double's shortest form is plain
  // digits, and year 1 was written without its leading zeros.
  AllTypes message;
  message.set_dbl(18446744073709551616.0);
  std::string json;
  ASSERT_TRUE(MessageToJson(message, &json).ok());
  AllTypes back;
  ASSERT_TRUE(JsonToMessage(json, &back).ok()) << json;
  EXPECT_EQ(back.dbl(), message.dbl());
  envelope::test::WellKnown times;
  times.mutable_created()->set_seconds(-62135596800);  // 0001-01-01
  json.clear();
  ASSERT_TRUE(MessageToJson(times, &json).ok());
  EXPECT_NE(json.find("0001-01-01T00:00:00Z"), std::string::npos) << json;
  envelope::test::WellKnown times_back;
  ASSERT_TRUE(JsonToMessage(json, &times_back).ok()) << json;
  EXPECT_EQ(times_back.created().seconds(), -62135596800);
}

// Reads `json` with JsonValueToWire into a T and with protobuf's own JSON
// parser into another: both must be equal, and (`same_size`) of the same
// encoded size.
template <typename T>
void ExpectAgreesWithProtobuf(const std::string& json, bool same_size) {
  SCOPED_TRACE(json);
  absl::StatusOr<json::Document> document = json::Parse(json);
  ASSERT_TRUE(document.ok()) << document.status();
  std::string wire;
  ASSERT_TRUE(JsonValueToWire(document->root(), T::descriptor(), &wire).ok());
  T ours;
  ASSERT_TRUE(ours.ParseFromString(wire));
  T theirs;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json, &theirs, options).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ours, theirs))
      << ours.DebugString() << "\nvs\n"
      << theirs.DebugString();
  // Defaults of fields without presence are left out, as protobuf does.
  if (same_size) {
    EXPECT_EQ(wire.size(), theirs.ByteSizeLong());
  }
}

// The reader writes the wire format itself: for every encoding, packed or
// not, in maps and nested, the bytes must parse to what protobuf's own JSON
// parser makes of the same text.
TEST(JsonValueToWireTest, AgreesWithProtobufsJsonParser) {
  const std::string long_text(300, 'x');  // a length of two bytes
  const std::vector<std::string> cases = {
      R"({"s32":-2147483648,"s64":"-9223372036854775808","f32":4294967295,)"
      R"("f64":"18446744073709551615","sf32":-1,"sf64":"-9223372036854775807",)"
      R"("i32":-1,"flt":-0.5,"dbl":-0.0,"flag":true,"color":"GREEN"})",
      R"({"s32s":[-1,0,1,2147483647],"s64s":[-3,"4"],"f32s":[0,7],)"
      R"("sf64s":[-9],"i32s":[-2147483648,5],"dbls":[0,1.5,-2e300],)"
      R"("flags":[true,false],"colors":["RED",2,0],"unpacked":[1,-1,0]})",
      R"({"byS":1,"bySint":{"-5":"m","0":""},"byFlag":{"true":{"Zone":"z"},)"
      R"("false":{}},"byU64":{"18446744073709551615":0.25},)"
      R"("byFixed":{"4294967295":"AP8="}})",
      R"({"maybe":0,"s32":0,"f32":0,"dbl":0,"color":"COLOR_UNSPECIFIED",)"
      R"("flag":false,"i32s":[],"longText":")" +
          long_text + R"("})",
      R"({"children":[{"s32":-1,"children":[{"inner":{"ProjectId":-1}}]},{}],)"
      R"("inner":{"Zone":")" +
          long_text + R"(","ProjectId":"7"}})",
  };
  for (const std::string& json : cases) {
    ExpectAgreesWithProtobuf<envelope::test::Encodings>(json, true);
  }
  // A proto3 `optional` zero is written, a plain zero is not.
  absl::StatusOr<json::Document> zero = json::Parse(R"({"maybe":0,"s32":0})");
  std::string wire;
  ASSERT_TRUE(JsonValueToWire(zero->root(),
                              envelope::test::Encodings::descriptor(), &wire)
                  .ok());
  envelope::test::Encodings message;
  ASSERT_TRUE(message.ParseFromString(wire));
  EXPECT_TRUE(message.has_maybe());
  EXPECT_EQ(wire, std::string("\xc8\x01\x00", 3));  // field 25, varint 0
}

TEST(JsonValueToWireTest, WellKnownTypesAgreeWithProtobufsJsonParser) {
  const std::vector<std::string> cases = {
      R"({"created":"2024-02-29T23:59:59.123456789Z","timeout":"-1.5s",)"
      R"("big":"-9223372036854775808","name":"","enabled":false,)"
      R"("labels":{"a":1,"b":[null,true,"s",{"c":{}}]},"anything":null,)"
      R"("list":[1,"x",null],"mask":"fooBar,baz.quxQuux","textChoice":""})",
      R"({"detail":{"@type":"type.googleapis.com/envelope.test.Inner",)"
      R"("Zone":"z","ProjectId":"-3"},"numberChoice":0,"anything":{"k":[]}})",
      R"({"detail":{"@type":"type.googleapis.com/google.protobuf.Duration",)"
      R"("value":"3s"},"created":"1970-01-01T00:00:00Z","timeout":"0s"})",
  };
  for (const std::string& json : cases) {
    // protobuf's util writes an Any's Duration with its zero nanos: the
    // same message, two bytes more.
    ExpectAgreesWithProtobuf<envelope::test::WellKnown>(json, false);
  }
}

}  // namespace
}  // namespace envelope
