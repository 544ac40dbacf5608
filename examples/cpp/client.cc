// A C++ client of envelope-gateway: typed stubs generated from proto/, one
// success, and failures told apart by google.rpc.ErrorInfo.reason.
//
//   cmake --build build --target example_cpp_client
//   ENVELOPE_GATEWAY_ADDRESS=127.0.0.1:50051 build/examples/example_cpp_client
//
// Stubs: protoc --cpp_out and grpc_cpp_plugin on
// proto/tencentcloud/cvm/v20170312/cvm.proto and
// proto/envelope/gateway/v1/json_api.proto, and --cpp_out on google/rpc's
// status.proto and error_details.proto (examples/CMakeLists.txt).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "envelope/gateway/v1/json_api.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tencentcloud/cvm/v20170312/cvm.grpc.pb.h"

namespace {

namespace cvm = tencentcloud::cvm::v20170312;

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
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
  return code >= 0 && code <= 16 ? kNames[code] : "?";
}

// Prints a failed call's code and acts on its ErrorInfo.reason, read from
// grpc-status-details-bin (Status::error_details()).
void Explain(const char* call, const grpc::Status& s) {
  google::rpc::Status status;
  status.ParseFromString(s.error_details());
  google::rpc::ErrorInfo info;
  bool found = false;
  for (const auto& any : status.details()) {
    if (any.UnpackTo(&info)) {
      found = true;
      break;
    }
  }
  const int code = s.error_code();
  if (!found) {
    std::printf("%s failed: code %d (%s), no ErrorInfo: %s\n", call, code,
                CodeName(s.error_code()), s.error_message().c_str());
    return;
  }
  std::printf("%s failed: code %d (%s), reason %s\n", call, code,
              CodeName(s.error_code()), info.reason().c_str());
  const auto& meta = info.metadata();
  auto get = [&meta](const char* key) {
    auto it = meta.find(key);
    return it == meta.end() ? std::string() : it->second;
  };
  if (info.reason() == "RESOURCE_NOT_FOUND_INSTANCE_NOT_EXIST") {
    std::printf("  -> no such instance; the API's code is %s\n",
                get("code").c_str());
  } else if (info.reason() == "INVALID_ACTION") {
    std::printf("  -> %s has no action %s\n", get("service").c_str(),
                get("action").c_str());
  } else {
    std::printf("  -> not handled here (domain %s): %s\n",
                info.domain().c_str(), s.error_message().c_str());
  }
}

// The upstream RequestId, on success and failure alike.
void PrintRequestId(const grpc::ClientContext& ctx) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find("x-tc-requestid");
  if (it == trailers.end()) {
    std::printf("  no request id\n");
  } else {
    std::printf("  request id %.*s\n", static_cast<int>(it->second.size()),
                it->second.data());
  }
}

void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

}  // namespace

int main() {
  const char* env = std::getenv("ENVELOPE_GATEWAY_ADDRESS");
  const std::string address = env && *env ? env : "127.0.0.1:50051";
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = cvm::Cvm::NewStub(channel);

  // 1. A typed call: the answer is a DescribeZonesResponse.
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    cvm::DescribeZonesResponse zones;
    grpc::Status s =
        stub->DescribeZones(&ctx, cvm::DescribeZonesRequest(), &zones);
    if (!s.ok()) {
      Explain("DescribeZones", s);
    } else {
      std::printf("DescribeZones: total_count %llu\n",
                  static_cast<unsigned long long>(zones.total_count()));
      for (const auto& z : zones.zone_set()) {
        std::printf("  zone %s id %s state %s name %s\n", z.zone().c_str(),
                    z.zone_id().c_str(), z.zone_state().c_str(),
                    z.zone_name().c_str());
      }
    }
    PrintRequestId(ctx);
  }

  // 2. An instance that may not exist.
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    cvm::DescribeInstancesRequest req;
    req.add_instance_ids("ins-demo0001");
    cvm::DescribeInstancesResponse instances;
    grpc::Status s = stub->DescribeInstances(&ctx, req, &instances);
    if (!s.ok()) {
      Explain("DescribeInstances", s);
    } else {
      std::printf("DescribeInstances: total_count %lld\n",
                  static_cast<long long>(instances.total_count()));
    }
    PrintRequestId(ctx);
  }

  // 3. An action the API does not have, through the untyped JsonApi.
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    envelope::gateway::v1::CallRequest req;
    req.set_service("cvm");
    req.set_version("2017-03-12");
    req.set_action("DescribeNoSuchThing");
    req.set_params_json("{}");
    envelope::gateway::v1::CallResponse answer;
    grpc::Status s = envelope::gateway::v1::JsonApi::NewStub(channel)->Call(
        &ctx, req, &answer);
    if (!s.ok()) {
      Explain("DescribeNoSuchThing", s);
    } else {
      std::printf("DescribeNoSuchThing: %s\n", answer.response_json().c_str());
    }
    PrintRequestId(ctx);
  }
  return 0;
}
