// The details of the gateway's own failures (gateway/route/gateway_errors.h):
// what a client decodes from grpc-status-details-bin, per reason.
#include "gateway/route/gateway_errors.h"

#include "gateway/envelope/reason.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

struct Decoded {
  google::rpc::Status status;
  std::optional<google::rpc::ErrorInfo> info;
  std::optional<google::rpc::RetryInfo> retry;
  std::optional<google::rpc::RequestInfo> request;
};

Decoded Decode(const std::string& details) {
  Decoded decoded;
  EXPECT_TRUE(decoded.status.ParseFromString(details));
  for (const auto& any : decoded.status.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    google::rpc::RequestInfo request;
    if (any.UnpackTo(&info)) decoded.info = info;
    if (any.UnpackTo(&retry)) decoded.retry = retry;
    if (any.UnpackTo(&request)) decoded.request = request;
  }
  return decoded;
}

GrpcResult Failed(absl::StatusCode code, absl::string_view reason) {
  GrpcResult result;
  result.code = code;
  result.message = "what happened";
  result.reason = reason;
  return result;
}

TEST(AttachGatewayDetailsTest, ErrorInfoCarriesReasonDomainAndWhatIsKnown) {
  GrpcResult result = Failed(absl::StatusCode::kUnavailable,
                             gateway_reason::kUpstreamHttpStatus);
  result.service = "cvm";
  result.action = "DescribeZones";
  result.region = "ap-guangzhou";
  result.attempts = 3;
  result.http_status = 503;
  AttachGatewayDetails("envelope-gateway", result);
  Decoded d = Decode(result.details);
  EXPECT_EQ(d.status.code(), static_cast<int>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(d.status.message(), "what happened");
  ASSERT_TRUE(d.info.has_value());
  EXPECT_EQ(d.info->reason(), "UPSTREAM_HTTP_STATUS");
  EXPECT_EQ(d.info->domain(), "envelope-gateway");
  EXPECT_EQ(d.info->metadata().at("service"), "cvm");
  EXPECT_EQ(d.info->metadata().at("action"), "DescribeZones");
  EXPECT_EQ(d.info->metadata().at("region"), "ap-guangzhou");
  EXPECT_EQ(d.info->metadata().at("attempts"), "3");
  EXPECT_EQ(d.info->metadata().at("http_status"), "503");
  ASSERT_TRUE(d.retry.has_value());  // a busy upstream: later may work
  EXPECT_EQ(d.retry->retry_delay().seconds(), 1);
  EXPECT_FALSE(d.request.has_value());
}

TEST(AttachGatewayDetailsTest, UnknownFieldsAreLeftOut) {
  GrpcResult result = Failed(absl::StatusCode::kInvalidArgument,
                             gateway_reason::kNoRequestMessage);
  AttachGatewayDetails("envelope-gateway", result);
  Decoded d = Decode(result.details);
  ASSERT_TRUE(d.info.has_value());
  EXPECT_EQ(d.info->reason(), "NO_REQUEST_MESSAGE");
  EXPECT_TRUE(d.info->metadata().empty());
  EXPECT_FALSE(d.retry.has_value());  // the same call fails the same way
}

TEST(AttachGatewayDetailsTest, AFailureWithoutReasonIsInternal) {
  GrpcResult result = Failed(absl::StatusCode::kInternal, "");
  AttachGatewayDetails("d", result);
  EXPECT_EQ(Decode(result.details).info->reason(), "INTERNAL");
}

TEST(AttachGatewayDetailsTest, AnUpstreamRequestIdIsARequestInfo) {
  GrpcResult result = Failed(absl::StatusCode::kInternal,
                             gateway_reason::kResponseNotTranscodable);
  result.request_id = "req-7";
  AttachGatewayDetails("d", result);
  Decoded d = Decode(result.details);
  ASSERT_TRUE(d.request.has_value());
  EXPECT_EQ(d.request->request_id(), "req-7");
}

TEST(AttachGatewayDetailsTest, OkAndApiErrorsAreLeftAlone) {
  GrpcResult ok;
  AttachGatewayDetails("d", ok);
  EXPECT_TRUE(ok.details.empty());
  GrpcResult api = Failed(absl::StatusCode::kNotFound, "");
  api.details = "the envelope's own";
  AttachGatewayDetails("d", api);
  EXPECT_EQ(api.details, "the envelope's own");
}

TEST(RetryDelayForTest, OnlyWhereLaterOrElsewhereCanHelp) {
  namespace r = gateway_reason;
  EXPECT_EQ(RetryDelayFor(r::kDraining, 0), absl::ZeroDuration());
  EXPECT_EQ(RetryDelayFor(r::kOverloaded, 0), absl::Seconds(1));
  EXPECT_EQ(RetryDelayFor(r::kUpstreamUnreachable, 0), absl::Seconds(1));
  EXPECT_EQ(RetryDelayFor(r::kNoCredentials, 0), absl::Seconds(5));
  EXPECT_EQ(RetryDelayFor(r::kUpstreamHttpStatus, 429), absl::Seconds(1));
  EXPECT_EQ(RetryDelayFor(r::kUpstreamHttpStatus, 404), std::nullopt);
  for (absl::string_view reason :
       {r::kUnknownMethod, r::kInvalidRequest, r::kInvalidMetadata,
        r::kRegionRequired, r::kNoRequestMessage, r::kRequestMessageTimeout,
        r::kActionNotAllowed, r::kDeadlineExceeded, r::kCancelled, r::kInternal,
        r::kUpstreamTlsFailure, r::kUpstreamTimeout,
        r::kUpstreamMalformedResponse, r::kUpstreamResponseTooLarge,
        r::kResponseNotTranscodable}) {
    EXPECT_EQ(RetryDelayFor(reason, 0), std::nullopt) << reason;
  }
}

}  // namespace
}  // namespace envelope
