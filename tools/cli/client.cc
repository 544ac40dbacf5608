#include "tools/cli/client.h"

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace envelope {
namespace {

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

template <typename T>
bool AppendIf(const google::protobuf::Any& any, std::string* out) {
  T message;
  if (!any.UnpackTo(&message)) return false;
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  absl::StrAppend(out, "  ", T::descriptor()->full_name(), " ", json, "\n");
  return true;
}

void AppendDetail(const google::protobuf::Any& any, std::string* out) {
  if (AppendIf<google::rpc::ErrorInfo>(any, out) ||
      AppendIf<google::rpc::RequestInfo>(any, out) ||
      AppendIf<google::rpc::LocalizedMessage>(any, out) ||
      AppendIf<google::rpc::RetryInfo>(any, out) ||
      AppendIf<google::rpc::QuotaFailure>(any, out) ||
      AppendIf<google::rpc::BadRequest>(any, out) ||
      AppendIf<google::rpc::ResourceInfo>(any, out)) {
    return;
  }
  absl::StrAppend(out, "  ", any.type_url(), " (", any.value().size(),
                  " bytes)\n");
}

const char* CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "?";
}

}  // namespace

UnaryResult CallUnary(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
    const std::string& request,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::CompletionQueue queue;
  grpc::ByteBuffer request_buffer = ToByteBuffer(request);
  grpc::ByteBuffer response_buffer;
  UnaryResult result;
  auto call = stub.PrepareUnaryCall(&context, method, request_buffer, &queue);
  call->StartCall();
  call->Finish(&response_buffer, &result.status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  queue.Next(&tag, &ok);
  if (result.status.ok()) result.response = ToString(response_buffer);
  for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
    result.trailers.emplace(std::string(key.data(), key.size()),
                            std::string(value.data(), value.size()));
  }
  return result;
}

std::string DescribeTrailers(const UnaryResult& result) {
  std::string out;
  for (const auto& [key, value] : result.trailers) {
    if (key.rfind("x-tc-", 0) == 0)
      absl::StrAppend(&out, "  ", key, ": ", value, "\n");
  }
  return out;
}

std::string DescribeFailure(const UnaryResult& result) {
  std::string out =
      absl::StrCat("code: ", CodeName(result.status.error_code()), " (",
                   static_cast<int>(result.status.error_code()),
                   ")\nmessage: ", result.status.error_message(), "\n");
  google::rpc::Status status;
  if (!result.status.error_details().empty() &&
      status.ParseFromString(result.status.error_details())) {
    absl::StrAppend(&out, "details (grpc-status-details-bin):\n");
    for (const auto& any : status.details()) AppendDetail(any, &out);
  }
  absl::StrAppend(&out, "trailers:\n", DescribeTrailers(result));
  return out;
}

}  // namespace envelope
