#include "gateway/main/access_log.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "gateway/transcode/transcode.h"

namespace envelope {
namespace {

void Field(absl::string_view name, absl::string_view value, std::string* out) {
  absl::StrAppend(out, ",\"", name, "\":");
  AppendJsonString(value, out);
}

// Bytes waiting that make the writer go at once rather than at its tick.
constexpr size_t kFlushBytes = 64 << 10;

// "2026-11-29T17:54:17.581Z" (quoted): the date and time to the second are
// formatted once a second per thread, as formatting costs more than the rest
// of the line.
void AppendTime(absl::Time now, std::string* out) {
  thread_local int64_t cached_second = std::numeric_limits<int64_t>::min();
  thread_local std::string cached;                  // "2026-11-29T17:54:17"
  const int64_t second = absl::ToUnixSeconds(now);  // rounded down
  if (second != cached_second) {
    cached =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second),
                         absl::UTCTimeZone());
    cached_second = second;
  }
  const int64_t millis =
      absl::ToInt64Milliseconds(now - absl::FromUnixSeconds(second));
  absl::StrAppend(out, "\"", cached, ".", absl::Dec(millis, absl::kZeroPad3),
                  "Z\"");
}

}  // namespace

std::string AccessLogLine(const CallRecord& record, absl::Time now) {
  const GrpcResult& r = *record.result;
  std::string line = "{\"time\":";
  AppendTime(now, &line);
  Field("method", record.method, &line);
  Field("service", r.service, &line);
  Field("action", r.action, &line);
  Field("region", r.region, &line);
  Field("grpc_code", absl::StatusCodeToString(r.code), &line);
  Field("upstream_code", r.error_code, &line);
  Field("request_id", r.request_id, &line);
  Field("reason", r.reason, &line);
  Field("upstream_host", r.upstream_host, &line);
  absl::StrAppend(
      &line, ",\"http_status\":", r.http_status, ",\"attempts\":", r.attempts,
      ",\"transport_retries\":", r.transport_retries,
      ",\"rate_limit_retries\":", r.rate_limit_retries,
      ",\"coalesced\":", r.coalesced ? "true" : "false",
      ",\"latency_ms\":", absl::ToDoubleMilliseconds(record.latency),
      ",\"upstream_ms\":", absl::ToDoubleMilliseconds(r.upstream_time),
      ",\"bytes_in\":", record.bytes_in, ",\"bytes_out\":", record.bytes_out);
  Field("peer", record.peer, &line);
  Field("user_agent", record.user_agent, &line);
  Field("x_request_id", record.x_request_id, &line);
  if (record.trace != nullptr) {
    // The caller's trace (or the one the gateway started) and the gateway's
    // span of the call (docs/operations.md, "Traces").
    Field("trace_id", trace::TraceIdHex(record.trace->trace_id), &line);
    Field("span_id", trace::SpanIdHex(record.trace->span_id), &line);
  }
  line.append("}\n");
  return line;
}

AccessLog::AccessLog(FILE* out, absl::Duration flush_interval)
    : out_(out), flush_interval_(flush_interval), writer_([this] { Run(); }) {}

AccessLog::~AccessLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

void AccessLog::Write(const CallRecord& record) {
  std::string line = AccessLogLine(record, absl::Now());
  absl::MutexLock lock(&mu_);
  pending_.append(line);
}

bool AccessLog::ShouldWake() const {
  return stopping_ || pending_.size() >= kFlushBytes;
}

void AccessLog::Run() {
  std::string lines;
  bool last = false;
  while (!last) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(this, &AccessLog::ShouldWake),
                           flush_interval_);
      lines.swap(pending_);
      last = stopping_;
    }
    if (!lines.empty()) {
      fwrite(lines.data(), 1, lines.size(), out_);
      fflush(out_);
      lines.clear();
    }
  }
}

}  // namespace envelope
