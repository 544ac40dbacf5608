#ifndef GATEWAY_MAIN_ACCESS_LOG_H_
#define GATEWAY_MAIN_ACCESS_LOG_H_

#include <cstdio>
#include <string>

#include "absl/synchronization/mutex.h"
#include "gateway/front/server.h"

namespace envelope {

// SPEC §7: one JSON line per call on stdout: method, service, action,
// region, gRPC code, upstream code, RequestId, attempts, latency, bytes. No
// secret, signature or body: none of them is in a CallRecord.
std::string AccessLogLine(const CallRecord& record, absl::Time now);

// Writes AccessLogLine to `out`, one whole line per write.
class AccessLog {
 public:
  explicit AccessLog(FILE* out) : out_(out) {}
  void Write(const CallRecord& record);

 private:
  absl::Mutex mu_;
  FILE* out_;
};

}  // namespace envelope

#endif  // GATEWAY_MAIN_ACCESS_LOG_H_
