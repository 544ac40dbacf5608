// File: gateway/trace/otlp_exporter.h
//
// Spans sent to an OpenTelemetry collector over OTLP/HTTP: `POST
// <endpoint>/v1/traces`, `Content-Type: application/x-protobuf`, body an
// `ExportTraceServiceRequest` (third_party/opentelemetry-proto). Calls only
// append their spans to a bounded queue; a thread of the exporter's own
// encodes and sends them in batches, so a slow or dead collector holds up no
// call. Spans that find the queue full, or whose batch the collector did not
// take, are dropped and counted (docs/operations.md, "Traces").

#ifndef GATEWAY_TRACE_OTLP_EXPORTER_H_
#define GATEWAY_TRACE_OTLP_EXPORTER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/trace/trace_context.h"

namespace envelope::trace {

// OTLP's Span.SpanKind values.
enum class SpanKind { kServer = 2, kClient = 3 };

struct Attribute {
  std::string key;
  std::variant<std::string, int64_t> value;
};

// One finished span, as plain data: encoded on the exporter's thread.
struct Span {
  TraceId trace_id;
  uint64_t span_id = 0;
  uint64_t parent_id = 0;      // 0: a root span
  bool parent_remote = false;  // the parent is the caller's span
  uint8_t trace_flags = 0;
  std::string tracestate;
  std::string name;
  SpanKind kind = SpanKind::kServer;
  absl::Time start;
  absl::Time end;
  bool error = false;  // OTLP status ERROR; else UNSET
  std::string status_message;
  std::vector<Attribute> attributes;
};

struct OtlpOptions {
  // The collector's base URL ("http://otel-collector:4318"); the spans go to
  // <endpoint>/v1/traces. Empty: no exporter.
  std::string endpoint;
  // Spans waiting to be sent at most; beyond, new spans are dropped.
  size_t queue_size = 2048;
  // Spans per request at most.
  size_t max_batch = 512;
  // How long a batch waits for more spans before it is sent.
  absl::Duration batch_delay = absl::Milliseconds(200);
  // Bound of one request to the collector.
  absl::Duration timeout = absl::Seconds(10);
  // Resource attributes service.name and service.version.
  std::string service_name = "envelope-gateway";
  std::string service_version;
};

// The request body for `spans` (OTLP/HTTP, binary protobuf).
//
// Example:
//
//   std::string body = EncodeExportRequest(spans, options);
std::string EncodeExportRequest(const std::vector<Span>& spans,
                                const OtlpOptions& options);

// Starts the export thread at construction; the destructor sends what is
// queued (each request bounded by `timeout`; after a failed one the rest is
// dropped) and stops it.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<OtlpExporter>> exporter =
//       OtlpExporter::Start({.endpoint = "http://127.0.0.1:4318"});
//   (*exporter)->Add(std::move(spans));  // never blocks on the collector
class OtlpExporter {
 public:
  struct Stats {
    uint64_t exported = 0;  // spans the collector took
    uint64_t dropped = 0;   // queue full, request failed, or rejected
  };

  // An endpoint that is not http:// or https:// with a host is an error.
  static absl::StatusOr<std::unique_ptr<OtlpExporter>> Start(
      OtlpOptions options);
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Queues the spans of one call; those that do not fit are dropped.
  void Add(std::vector<Span> spans);

  Stats stats() const;

 private:
  explicit OtlpExporter(OtlpOptions options);
  void Run();
  // Sends one batch; the spans the collector did not take count as dropped.
  // False when the request failed.
  bool Send(void* curl, const std::vector<Span>& batch);
  bool BatchReady() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const OtlpOptions options_;
  const std::string url_;
  mutable absl::Mutex mu_;
  std::deque<Span> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace envelope::trace

#endif  // GATEWAY_TRACE_OTLP_EXPORTER_H_
