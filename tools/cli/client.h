#ifndef TOOLS_CLI_CLIENT_H_
#define TOOLS_CLI_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace envelope {

// What a caller of the gateway sees for one unary call.
struct UnaryResult {
  grpc::Status status;
  std::string response;  // serialized response message, on OK
  std::multimap<std::string, std::string> trailers;
};

// One unary call by method path ("/pkg.Service/Method") with raw bytes, as
// any gRPC client would make it.
UnaryResult CallUnary(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
    const std::string& request,
    const std::vector<std::pair<std::string, std::string>>& metadata = {},
    absl::Duration timeout = absl::Seconds(30));

// Human-readable status: code, message, each decoded google.rpc detail, and
// the trailers.
std::string DescribeFailure(const UnaryResult& result);

// The x-tc-* trailers as "key: value" lines.
std::string DescribeTrailers(const UnaryResult& result);

}  // namespace envelope

#endif  // TOOLS_CLI_CLIENT_H_
