#include "gateway/envelope/envelope.h"

#include "gateway/envelope/outcome.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

using C = absl::StatusCode;

TEST(ParseEnvelopeTest, Success) {
  std::string body =
      R"({"Response": {"TotalCount": 9007199254740993, "RequestId": "r-1"}})";
  auto envelope = ParseEnvelope(body);
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_FALSE(envelope->is_error);
  EXPECT_EQ(envelope->request_id, "r-1");
  EXPECT_EQ(envelope->ResponseText(),
            R"({"TotalCount": 9007199254740993, "RequestId": "r-1"})");
  uint64_t total = 0;
  ASSERT_FALSE(envelope->response["TotalCount"].get_uint64().get(total));
  EXPECT_EQ(total, 9007199254740993u);
}

TEST(ParseEnvelopeTest, Failure) {
  std::string body = R"({"Response":{"Error":{"Code":"InternalError",
      "Message":"boom"},"RequestId":"r-2"}})";
  auto envelope = ParseEnvelope(body);
  ASSERT_TRUE(envelope.ok());
  EXPECT_TRUE(envelope->is_error);
  EXPECT_EQ(envelope->error_code, "InternalError");
  EXPECT_EQ(envelope->error_message, "boom");
  EXPECT_EQ(envelope->request_id, "r-2");
}

TEST(ParseEnvelopeTest, EachMalformedShapeIsInternalSayingWhat) {
  struct Case {
    const char* body;
    const char* says;
  } cases[] = {
      {"<html>502 Bad Gateway</html>", "not JSON"},
      {"", "not JSON"},
      {R"({"Response": {"RequestId": "x"})", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"Data": {}})", "no \"Response\" object"},
      {R"({"Response": "text"})", "no \"Response\" object"},
      {R"({"Response": {"Error": "oops"}})", "\"Error\" is not an object"},
      {R"({"Response": {"Error": {"Message": "m"}}})", "no string \"Code\""},
      {R"({"Response": {"Error": {"Code": 42}}})", "no string \"Code\""},
  };
  for (const auto& c : cases) {
    auto envelope = ParseEnvelope(c.body);
    ASSERT_FALSE(envelope.ok()) << c.body;
    EXPECT_EQ(envelope.status().code(), C::kInternal) << c.body;
    EXPECT_NE(envelope.status().message().find(c.says), std::string::npos)
        << envelope.status();
  }
}

TEST(ParseEnvelopeTest, MalformedMessageNeverQuotesTheBody) {
  auto envelope = ParseEnvelope("secret-token-abc123 is not json");
  ASSERT_FALSE(envelope.ok());
  EXPECT_EQ(envelope.status().message().find("secret-token"),
            std::string::npos);
}

TEST(FindMemberTextTest, SkipsNestedValuesAndStrings) {
  std::string json =
      R"( { "A": {"Response": 1}, "B": "}\"Response", "Response" : [1, {"x": "]"}] } )";
  EXPECT_EQ(json::FindMemberText(json, "Response"), R"([1, {"x": "]"}])");
  EXPECT_EQ(json::FindMemberText(json, "B"), R"("}\"Response")");
  EXPECT_EQ(json::FindMemberText(json, "Missing"), "");
  EXPECT_EQ(json::FindMemberText(R"({"n": -1.5e3, "m": true})", "m"), "true");
  EXPECT_EQ(json::FindMemberText(R"({"n": -1.5e3, "m": true})", "n"), "-1.5e3");
}

class InterpretTest : public ::testing::Test {
 protected:
  Outcome Interpret(long status, std::string body) {
    body_ = std::move(body);
    ErrorContext context;
    context.service = "cvm";
    context.version = "2017-03-12";
    context.action = "DescribeZones";
    return InterpretResponse(status, body_, context, StatusTable::Default());
  }
  std::string body_;
};

TEST_F(InterpretTest, SuccessKeepsTheEnvelopeAndRequestId) {
  Outcome outcome = Interpret(200, R"({"Response":{"RequestId":"r"}})");
  EXPECT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome.envelope.has_value());
  EXPECT_EQ(outcome.request_id, "r");
  EXPECT_TRUE(outcome.error_code.empty());
}

TEST_F(InterpretTest, FailureCarriesCodeMessageDetailsAndTrailers) {
  Outcome outcome = Interpret(
      200,
      R"({"Response":{"Error":{"Code":"ResourceNotFound.X","Message":"gone"},"RequestId":"r"}})");
  EXPECT_EQ(outcome.code, C::kNotFound);
  EXPECT_EQ(outcome.message, "gone");
  EXPECT_EQ(outcome.request_id, "r");
  EXPECT_EQ(outcome.error_code, "ResourceNotFound.X");
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(outcome.details));
  EXPECT_EQ(status.code(), 5);
  EXPECT_EQ(status.details_size(), 4);
}

TEST_F(InterpretTest, DryRunIsOkWithNoResponseButTheCodeTrailer) {
  Outcome outcome = Interpret(
      200,
      R"({"Response":{"Error":{"Code":"DryRunOperation","Message":"would work"},"RequestId":"r"}})");
  EXPECT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome.envelope.has_value());
  EXPECT_EQ(outcome.error_code, "DryRunOperation");
  EXPECT_EQ(outcome.request_id, "r");
  EXPECT_TRUE(outcome.message.empty());
  EXPECT_TRUE(outcome.details.empty());
}

TEST_F(InterpretTest, EnvelopeWinsOverTheHttpStatus) {
  Outcome outcome = Interpret(
      500,
      R"({"Response":{"Error":{"Code":"InternalError","Message":"m"},"RequestId":"r"}})");
  EXPECT_EQ(outcome.code, C::kInternal);
  EXPECT_EQ(outcome.error_code, "InternalError");
}

TEST_F(InterpretTest, NonEnvelopeNon200ByHttpStatus) {
  struct Case {
    long http;
    C code;
  } cases[] = {{400, C::kInternal},         {401, C::kUnauthenticated},
               {403, C::kPermissionDenied}, {404, C::kUnimplemented},
               {429, C::kUnavailable},      {502, C::kUnavailable},
               {503, C::kUnavailable},      {504, C::kUnavailable},
               {500, C::kUnknown},          {418, C::kUnknown}};
  for (const auto& c : cases) {
    Outcome outcome = Interpret(c.http, "<html>error</html>");
    EXPECT_EQ(outcome.code, c.code) << c.http;
    EXPECT_NE(outcome.message.find(std::to_string(c.http)), std::string::npos);
    EXPECT_TRUE(outcome.details.empty());
  }
}

TEST_F(InterpretTest, MalformedWith200IsInternal) {
  Outcome outcome = Interpret(200, "not json");
  EXPECT_EQ(outcome.code, C::kInternal);
  EXPECT_NE(outcome.message.find("not JSON"), std::string::npos);
  EXPECT_TRUE(outcome.request_id.empty());
}

// docs/errors.md: x-tc-requestid "whenever the upstream gave one".
TEST_F(InterpretTest, BrokenErrorStillGivesTheRequestId) {
  for (const char* body :
       {R"({"Response":{"Error":{"Message":"m"},"RequestId":"rid-1"}})",
        R"({"Response":{"Error":"oops","RequestId":"rid-1"}})"}) {
    Outcome outcome = Interpret(200, body);
    EXPECT_EQ(outcome.code, C::kInternal) << body;
    EXPECT_EQ(outcome.request_id, "rid-1") << body;
    EXPECT_TRUE(outcome.error_code.empty()) << body;
  }
  EXPECT_TRUE(Interpret(200, R"({"Response":{"Error":{"Code":1}}})")
                  .request_id.empty());
  // On another HTTP status as well.
  Outcome busy =
      Interpret(503, R"({"Response":{"Error":{},"RequestId":"rid-2"}})");
  EXPECT_EQ(busy.code, C::kUnavailable);
  EXPECT_EQ(busy.request_id, "rid-2");
}

}  // namespace
}  // namespace envelope
