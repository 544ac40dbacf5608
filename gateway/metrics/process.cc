#include "gateway/metrics/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gateway/metrics/exposition.h"

namespace envelope::metrics {
namespace {

// The whole of a small /proc file; nullopt if it cannot be read.
std::optional<std::string> ReadProcFile(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      text.append(buf, n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    close(fd);
    if (n < 0) return std::nullopt;
    return text;
  }
}

std::optional<double> OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  double count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the descriptor reading the directory
}

}  // namespace

std::optional<ProcStat> ParseProcStat(absl::string_view text,
                                      long ticks_per_second, long page_size) {
  const size_t paren = text.rfind(')');
  if (paren == absl::string_view::npos || ticks_per_second <= 0) {
    return std::nullopt;
  }
  // Field 3 (state) is the first after the name: field k is fields[k - 3].
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(text.substr(paren + 1)), ' ',
                     absl::SkipEmpty());
  const auto field = [&](int k, double* out) {
    return fields.size() > static_cast<size_t>(k - 3) &&
           absl::SimpleAtod(fields[k - 3], out);
  };
  double utime, stime, start, vsize, rss;
  if (!field(14, &utime) || !field(15, &stime) || !field(22, &start) ||
      !field(23, &vsize) || !field(24, &rss)) {
    return std::nullopt;
  }
  const double ticks = static_cast<double>(ticks_per_second);
  return ProcStat{.cpu_seconds = (utime + stime) / ticks,
                  .start_after_boot = start / ticks,
                  .virtual_bytes = vsize,
                  .resident_bytes = rss * static_cast<double>(page_size)};
}

std::optional<double> ParseBootTime(absl::string_view proc_stat) {
  for (absl::string_view line : absl::StrSplit(proc_stat, '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      double btime;
      if (absl::SimpleAtod(line, &btime)) return btime;
    }
  }
  return std::nullopt;
}

std::vector<prometheus::MetricFamily> ProcessMetrics() {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const std::optional<std::string> self = ReadProcFile("/proc/self/stat");
  const std::optional<ProcStat> stat =
      self ? ParseProcStat(*self, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE))
           : std::nullopt;
  if (stat) {
    out.push_back(OneValue("process_cpu_seconds_total",
                           "Total user and system CPU time spent in seconds.",
                           MetricType::Counter, stat->cpu_seconds));
    out.push_back(OneValue("process_resident_memory_bytes",
                           "Resident memory size in bytes.", MetricType::Gauge,
                           stat->resident_bytes));
    out.push_back(OneValue("process_virtual_memory_bytes",
                           "Virtual memory size in bytes.", MetricType::Gauge,
                           stat->virtual_bytes));
    const std::optional<std::string> system = ReadProcFile("/proc/stat");
    const std::optional<double> boot =
        system ? ParseBootTime(*system) : std::nullopt;
    if (boot) {
      out.push_back(
          OneValue("process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.",
                   MetricType::Gauge, *boot + stat->start_after_boot));
    }
  }
  if (const std::optional<double> fds = OpenFds()) {
    out.push_back(OneValue("process_open_fds",
                           "Number of open file descriptors.",
                           MetricType::Gauge, *fds));
  }
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    // RLIM_INFINITY shows as a huge number, as in the Go client.
    out.push_back(
        OneValue("process_max_fds", "Maximum number of open file descriptors.",
                 MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
  }
  return out;
}

}  // namespace envelope::metrics
