#include "gateway/metrics/process.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace envelope::metrics {
namespace {

// /proc/<pid>/stat of a process named "a) (b" (proc(5) field numbers):
// utime 14 = 250 ticks, stime 15 = 50, starttime 22 = 1000, vsize 23,
// rss 24 = 300 pages.
constexpr char kStat[] =
    "4242 (a) (b) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 3 0 "
    "1000 104857600 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 "
    "0 0 0 0\n";

TEST(ParseProcStatTest, FieldsCountedFromTheLastParenthesis) {
  const std::optional<ProcStat> stat = ParseProcStat(kStat, 100, 4096);
  ASSERT_TRUE(stat.has_value());
  EXPECT_DOUBLE_EQ(stat->cpu_seconds, 3.0);
  EXPECT_DOUBLE_EQ(stat->start_after_boot, 10.0);
  EXPECT_DOUBLE_EQ(stat->virtual_bytes, 104857600);
  EXPECT_DOUBLE_EQ(stat->resident_bytes, 300 * 4096.0);
}

TEST(ParseProcStatTest, RefusesWhatItCannotRead) {
  EXPECT_FALSE(ParseProcStat("", 100, 4096).has_value());
  EXPECT_FALSE(ParseProcStat("1 (x) S 1 2 3", 100, 4096).has_value());
  EXPECT_FALSE(ParseProcStat(kStat, 0, 4096).has_value());
}

TEST(ParseBootTimeTest, ReadsTheBtimeLine) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nintr 5\nbtime 1764600000\nprocs 3\n"),
            1764600000.0);
  EXPECT_FALSE(ParseBootTime("cpu  1 2 3\n").has_value());
}

std::map<std::string, double> Values() {
  std::map<std::string, double> out;
  for (const prometheus::MetricFamily& f : ProcessMetrics()) {
    EXPECT_EQ(f.metric.size(), 1u) << f.name;
    const prometheus::ClientMetric& m = f.metric[0];
    out[f.name] = f.type == prometheus::MetricType::Counter ? m.counter.value
                                                            : m.gauge.value;
  }
  return out;
}

TEST(ProcessMetricsTest, TheSixFamiliesOfThisProcess) {
  // Burn some CPU so that the counter has something to show.
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  volatile unsigned spin = 0;
  while (std::chrono::steady_clock::now() < until) spin = spin + 1;

  const std::map<std::string, double> before = Values();
  ASSERT_EQ(before.size(), 6u);
  EXPECT_GT(before.at("process_cpu_seconds_total"), 0);
  EXPECT_GT(before.at("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(before.at("process_virtual_memory_bytes"),
            before.at("process_resident_memory_bytes"));
  rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(before.at("process_max_fds"), static_cast<double>(limit.rlim_cur));
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_LE(before.at("process_start_time_seconds"), now + 1);
  EXPECT_GT(before.at("process_start_time_seconds"), now - 3600);

  // Two more descriptors are two more open fds.
  const int a = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int b = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  const std::map<std::string, double> after = Values();
  close(a);
  close(b);
  EXPECT_EQ(after.at("process_open_fds"), before.at("process_open_fds") + 2);
}

}  // namespace
}  // namespace envelope::metrics
