#include "gateway/main/diagnostics.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc/support/log.h"

namespace envelope {

Diagnostics::Diagnostics(absl::string_view level)
    : threshold_(level == "debug"     ? 0
                 : level == "warning" ? 2
                 : level == "error"   ? 3
                                      : 1) {}

void Diagnostics::Write(int level, absl::string_view name,
                        absl::string_view text) const {
  if (level < threshold_) return;
  // One write per line, so lines of several threads never interleave;
  // control characters (a line break would start a line of another form, an
  // escape sequence would drive a terminal) are written as \xNN.
  std::string line = absl::StrCat("envelope-gateway: ", name, ": ");
  for (char c : text) {
    if ((c >= 0 && c < 0x20) || c == 0x7F) {
      absl::StrAppend(&line, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      line.push_back(c);
    }
  }
  line.push_back('\n');
  fwrite(line.data(), 1, line.size(), stderr);
}

namespace {

std::atomic<const Diagnostics*> grpc_log_target{nullptr};

void WriteGrpcLog(gpr_log_func_args* args) {
  const Diagnostics* log = grpc_log_target.load();
  if (log == nullptr) return;
  std::string text = absl::StrCat("grpc: ", args->message);
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      log->Debug(text);
      break;
    case GPR_LOG_SEVERITY_INFO:
      log->Info(text);
      break;
    default:
      log->Error(text);
  }
}

// protobuf logs, e.g., a proto3 string that is not UTF-8 in a request it
// parses ("[libprotobuf ERROR ...]" on stderr by default).
void WriteProtobufLog(google::protobuf::LogLevel level, const char* filename,
                      int line, const std::string& message) {
  const Diagnostics* log = grpc_log_target.load();
  if (log == nullptr) return;
  std::string text = absl::StrCat("protobuf: ", message);
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      log->Info(text);
      break;
    case google::protobuf::LOGLEVEL_WARNING:
      log->Warning(text);
      break;
    default:
      log->Error(text);
  }
}

}  // namespace

void RouteGrpcLogs(const Diagnostics& log) {
  grpc_log_target = new Diagnostics(log);  // never freed, on purpose
  gpr_set_log_function(WriteGrpcLog);
  google::protobuf::SetLogHandler(WriteProtobufLog);
}

}  // namespace envelope
