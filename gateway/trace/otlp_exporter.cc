#include "gateway/trace/otlp_exporter.h"

#include <curl/curl.h>

#include "absl/base/internal/endian.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace envelope::trace {
namespace {

namespace otlp = ::opentelemetry::proto;

// Span.flags: the W3C trace flags in bits 0-7, then whether the parent is
// known to be remote or not (OTLP's SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
// and SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK).
constexpr uint32_t kHasIsRemote = 0x100;
constexpr uint32_t kIsRemote = 0x200;

std::string Bytes(uint64_t value) {
  std::string bytes(8, '\0');
  absl::big_endian::Store64(bytes.data(), value);
  return bytes;
}

std::string Bytes(const TraceId& id) {
  return absl::StrCat(Bytes(id.high), Bytes(id.low));
}

uint64_t UnixNanos(absl::Time t) {
  return static_cast<uint64_t>(absl::ToUnixNanos(t));
}

void SetString(otlp::common::v1::KeyValue* kv, absl::string_view key,
               absl::string_view value) {
  kv->set_key(std::string(key));
  kv->mutable_value()->set_string_value(std::string(value));
}

void Fill(const Span& span, otlp::trace::v1::Span* out) {
  out->set_trace_id(Bytes(span.trace_id));
  out->set_span_id(Bytes(span.span_id));
  if (span.parent_id != 0) out->set_parent_span_id(Bytes(span.parent_id));
  out->set_trace_state(span.tracestate);
  out->set_flags(span.trace_flags | kHasIsRemote |
                 (span.parent_remote ? kIsRemote : 0));
  out->set_name(span.name);
  out->set_kind(static_cast<otlp::trace::v1::Span::SpanKind>(span.kind));
  out->set_start_time_unix_nano(UnixNanos(span.start));
  out->set_end_time_unix_nano(UnixNanos(span.end));
  for (const Attribute& attribute : span.attributes) {
    otlp::common::v1::KeyValue* kv = out->add_attributes();
    kv->set_key(attribute.key);
    if (const auto* text = std::get_if<std::string>(&attribute.value)) {
      kv->mutable_value()->set_string_value(*text);
    } else {
      kv->mutable_value()->set_int_value(std::get<int64_t>(attribute.value));
    }
  }
  if (span.error) {
    out->mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
    out->mutable_status()->set_message(span.status_message);
  }
}

size_t CollectBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

std::string EncodeExportRequest(const std::vector<Span>& spans,
                                const OtlpOptions& options) {
  otlp::collector::trace::v1::ExportTraceServiceRequest request;
  otlp::trace::v1::ResourceSpans* resource_spans = request.add_resource_spans();
  auto* resource = resource_spans->mutable_resource();
  SetString(resource->add_attributes(), "service.name", options.service_name);
  if (!options.service_version.empty()) {
    SetString(resource->add_attributes(), "service.version",
              options.service_version);
  }
  otlp::trace::v1::ScopeSpans* scope_spans = resource_spans->add_scope_spans();
  scope_spans->mutable_scope()->set_name("envelope-gateway");
  scope_spans->mutable_scope()->set_version(options.service_version);
  for (const Span& span : spans) Fill(span, scope_spans->add_spans());
  return request.SerializeAsString();
}

absl::StatusOr<std::unique_ptr<OtlpExporter>> OtlpExporter::Start(
    OtlpOptions options) {
  absl::string_view rest = options.endpoint;
  if (!absl::ConsumePrefix(&rest, "http://") &&
      !absl::ConsumePrefix(&rest, "https://")) {
    return absl::InvalidArgumentError("must start with http:// or https://");
  }
  if (rest.empty() || rest[0] == '/') {
    return absl::InvalidArgumentError("names no host");
  }
  if (options.queue_size == 0 || options.max_batch == 0) {
    return absl::InvalidArgumentError("queue and batch sizes must be positive");
  }
  return std::unique_ptr<OtlpExporter>(new OtlpExporter(std::move(options)));
}

OtlpExporter::OtlpExporter(OtlpOptions options)
    : options_(std::move(options)),
      url_(absl::StrCat(absl::StripSuffix(options_.endpoint, "/"),
                        "/v1/traces")),
      thread_([this] { Run(); }) {}

OtlpExporter::~OtlpExporter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void OtlpExporter::Add(std::vector<Span> spans) {
  size_t dropped = 0;
  {
    absl::MutexLock lock(&mu_);
    for (Span& span : spans) {
      if (queue_.size() >= options_.queue_size) {
        ++dropped;
        continue;
      }
      queue_.push_back(std::move(span));
    }
  }
  if (dropped != 0) dropped_.fetch_add(dropped, std::memory_order_relaxed);
}

OtlpExporter::Stats OtlpExporter::stats() const {
  return {.exported = exported_.load(std::memory_order_relaxed),
          .dropped = dropped_.load(std::memory_order_relaxed)};
}

bool OtlpExporter::BatchReady() const {
  return stopping_ || queue_.size() >= options_.max_batch;
}

void OtlpExporter::Run() {
  // One handle for the thread's life: its connection to the collector is
  // kept alive between batches.
  CURL* curl = curl_easy_init();
  std::vector<Span> batch;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Wait for a first span, then up to batch_delay for the batch to fill:
      // one request carries many calls' spans.
      mu_.Await(absl::Condition(
          +[](OtlpExporter* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      mu_.AwaitWithTimeout(absl::Condition(this, &OtlpExporter::BatchReady),
                           options_.batch_delay);
      if (queue_.empty() && stopping_) break;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!Send(curl, batch)) {
      // Stopping with the collector failing: the rest would fail too, one
      // timeout each, and hold up the gateway's exit.
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        dropped_.fetch_add(queue_.size(), std::memory_order_relaxed);
        queue_.clear();
      }
    }
    batch.clear();
  }
  if (curl != nullptr) curl_easy_cleanup(curl);
}

bool OtlpExporter::Send(void* curl, const std::vector<Span>& batch) {
  const std::string body = EncodeExportRequest(batch, options_);
  std::string answer;
  long status = 0;
  CURLcode code = CURLE_FAILED_INIT;
  if (curl != nullptr) {
    curl_easy_reset(curl);
    curl_slist* headers =
        curl_slist_append(nullptr, "Content-Type: application/x-protobuf");
    curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(
        curl, CURLOPT_TIMEOUT_MS,
        static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
  }
  if (code != CURLE_OK || status < 200 || status >= 300) {
    // Not retried: the queue behind it keeps filling, and spans are a
    // best-effort record (docs/operations.md, "Traces").
    dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
    return false;
  }
  // A partial success names how many spans the collector rejected.
  uint64_t rejected = 0;
  otlp::collector::trace::v1::ExportTraceServiceResponse response;
  if (!answer.empty() && response.ParseFromString(answer) &&
      response.partial_success().rejected_spans() > 0) {
    rejected = std::min<uint64_t>(response.partial_success().rejected_spans(),
                                  batch.size());
  }
  dropped_.fetch_add(rejected, std::memory_order_relaxed);
  exported_.fetch_add(batch.size() - rejected, std::memory_order_relaxed);
  return true;
}

}  // namespace envelope::trace
