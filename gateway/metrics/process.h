#ifndef GATEWAY_METRICS_PROCESS_H_
#define GATEWAY_METRICS_PROCESS_H_

#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "prometheus/metric_family.h"

// The process_* metrics as the Prometheus client libraries export them
// (client_golang's and client_python's process collector: same names, types
// and units); prometheus-cpp 1.0 has no such collector. Linux only: read
// from /proc (docs/operations.md, "Metrics").
namespace envelope::metrics {

// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds. A family whose source cannot be read is left
// out rather than reported as 0.
std::vector<prometheus::MetricFamily> ProcessMetrics();

// What /proc/self/stat says, in base units.
struct ProcStat {
  double cpu_seconds = 0;       // utime + stime
  double start_after_boot = 0;  // starttime, seconds after boot
  double virtual_bytes = 0;     // vsize
  double resident_bytes = 0;    // rss pages * page size
};
// `text`: the contents of /proc/<pid>/stat (proc(5)); the command name may
// hold spaces and parentheses, so fields are counted from the last ')'.
std::optional<ProcStat> ParseProcStat(absl::string_view text,
                                      long ticks_per_second, long page_size);
// The `btime` line of /proc/stat: boot time, seconds since the epoch.
std::optional<double> ParseBootTime(absl::string_view proc_stat);

}  // namespace envelope::metrics

#endif  // GATEWAY_METRICS_PROCESS_H_
