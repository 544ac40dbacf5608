#ifndef GATEWAY_MAIN_DIAGNOSTICS_H_
#define GATEWAY_MAIN_DIAGNOSTICS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace envelope {

// Diagnostics on stderr ("envelope-gateway: <level>: <text>"), filtered by
// the configured level. Stdout carries only the address line and the access
// log, so that both stay machine-readable.
class Diagnostics {
 public:
  explicit Diagnostics(absl::string_view level);
  void Debug(absl::string_view text) const { Write(0, "debug", text); }
  void Info(absl::string_view text) const { Write(1, "info", text); }
  void Warning(absl::string_view text) const { Write(2, "warning", text); }
  void Error(absl::string_view text) const { Write(3, "error", text); }

 private:
  void Write(int level, absl::string_view name, absl::string_view text) const;
  int threshold_;
};

// From now on, gRPC's and protobuf's own log lines go through a copy of
// `log` ("envelope-gateway: error: grpc: ...", "... protobuf: ..."), so that
// every stderr line has the same form. The copy lives to the end of the
// process: gRPC's threads may log until then.
void RouteGrpcLogs(const Diagnostics& log);

}  // namespace envelope

#endif  // GATEWAY_MAIN_DIAGNOSTICS_H_
