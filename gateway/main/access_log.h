#ifndef GATEWAY_MAIN_ACCESS_LOG_H_
#define GATEWAY_MAIN_ACCESS_LOG_H_

#include <cstdio>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/front/server.h"

namespace envelope {

// docs/operations.md, "Logs": one JSON line per call on stdout: method,
// service, action, region, gRPC code, upstream code, RequestId, attempts,
// latency, bytes. No secret, signature or body: none of them is in a
// CallRecord.
std::string AccessLogLine(const CallRecord& record, absl::Time now);

// Writes AccessLogLine to `out`, whole lines only. Calls only append to a
// buffer; a thread of the log's own writes it out every `flush_interval`
// (or sooner once 64 KB are waiting), so a call costs no system call and a
// slow stdout holds up no call (docs/operations.md, "Logs"). What is
// pending is written when the log is destroyed.
class AccessLog {
 public:
  explicit AccessLog(FILE* out,
                     absl::Duration flush_interval = absl::Milliseconds(100));
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void Write(const CallRecord& record);

 private:
  void Run();
  bool ShouldWake() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FILE* const out_;
  const absl::Duration flush_interval_;
  absl::Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace envelope

#endif  // GATEWAY_MAIN_ACCESS_LOG_H_
