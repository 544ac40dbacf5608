#include "gateway/main/access_log.h"

#include "absl/strings/str_cat.h"
#include "gateway/transcode/transcode.h"

namespace envelope {
namespace {

void Field(absl::string_view name, absl::string_view value, std::string* out) {
  absl::StrAppend(out, ",\"", name, "\":");
  AppendJsonString(value, out);
}

}  // namespace

std::string AccessLogLine(const CallRecord& record, absl::Time now) {
  const GrpcResult& r = *record.result;
  std::string line = "{\"time\":";
  AppendJsonString(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone()),
      &line);
  Field("method", record.method, &line);
  Field("service", r.service, &line);
  Field("action", r.action, &line);
  Field("region", r.region, &line);
  Field("grpc_code", absl::StatusCodeToString(r.code), &line);
  Field("upstream_code", r.error_code, &line);
  Field("request_id", r.request_id, &line);
  absl::StrAppend(
      &line, ",\"attempts\":", r.attempts,
      ",\"latency_ms\":", absl::ToDoubleMilliseconds(record.latency),
      ",\"upstream_ms\":", absl::ToDoubleMilliseconds(r.upstream_time),
      ",\"bytes_in\":", record.bytes_in, ",\"bytes_out\":", record.bytes_out,
      "}\n");
  return line;
}

void AccessLog::Write(const CallRecord& record) {
  std::string line = AccessLogLine(record, absl::Now());
  absl::MutexLock lock(&mu_);
  fwrite(line.data(), 1, line.size(), out_);
  fflush(out_);
}

}  // namespace envelope
