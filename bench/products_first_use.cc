// What the first call to a bundled product pays, without the network: for
// every bundled product version, the time of the first Router::Find of one
// of its paths (parsing and building its descriptors, making its routes),
// and the process's memory before and after building them all. Prints
// numbers; asserts nothing (docs/performance.md, "Every product bundled").
//
//   build/bench/products_first_use
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"

namespace {

double RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024;
  }
  return 0;
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

int main() {
  const double rss_start = RssMiB();
  auto start = std::chrono::steady_clock::now();
  const envelope::EncodedFiles& files = envelope::BundledFiles();
  auto router = envelope::Router::Create({{"bundled", "", &files}});
  if (!router.ok()) {
    std::fprintf(stderr, "%s\n", router.status().ToString().c_str());
    return 1;
  }
  const double create_ms = Since(start);
  const double rss_created = RssMiB();
  struct Sample {
    double ms;
    size_t bytes;
    std::string name;
    double fresh_ms;  // the same on a router that built nothing yet
  };
  std::vector<Sample> samples;
  for (const envelope::EncodedFiles::File& file : files.files()) {
    if (!file.lazy || file.services.empty()) continue;
    // The first method's name comes from a throw-away parse, outside the
    // timing: the router itself does not need it.
    google::protobuf::FileDescriptorProto proto;
    proto.ParseFromArray(file.bytes.data(),
                         static_cast<int>(file.bytes.size()));
    if (proto.service(0).method_size() == 0) continue;
    const std::string path =
        "/" + file.services[0] + "/" + proto.service(0).method(0).name();
    auto t = std::chrono::steady_clock::now();
    const envelope::MethodRoute* route = (*router)->Find(path);
    const double ms = Since(t);
    if (route == nullptr) {
      std::fprintf(stderr, "not routed: %s\n", path.c_str());
      return 1;
    }
    // The product as the first one a gateway calls: its pool's tables are
    // small (in `router` they grow with every product, and their rehashes
    // land on whichever build crosses a size).
    auto fresh = envelope::Router::Create({{"bundled", "", &files}});
    t = std::chrono::steady_clock::now();
    (*fresh)->Find(path);
    const double fresh_ms = Since(t);
    samples.push_back({ms, file.bytes.size(), file.name, fresh_ms});
  }
  const double rss_all = RssMiB();
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.ms < b.ms; });
  auto at = [&](double q) {
    return samples[std::min(samples.size() - 1,
                            static_cast<size_t>(q * samples.size()))];
  };
  size_t within_20ms = 0;
  for (const Sample& s : samples) within_20ms += s.fresh_ms <= 20 ? 1 : 0;
  double total = 0;
  for (const Sample& s : samples) total += s.ms;
  std::printf("router over %zu bundled files: created in %.1f ms\n",
              files.files().size(), create_ms);
  std::printf("RSS: %.1f MiB at start, %.1f MiB with the router\n", rss_start,
              rss_created);
  std::printf("first Find of each of %zu products (build + routes), ms:\n",
              samples.size());
  std::printf("  median %.2f  p90 %.2f  p99 %.2f  max %.2f (%s, %zu bytes)\n",
              at(0.5).ms, at(0.9).ms, at(0.99).ms, samples.back().ms,
              samples.back().name.c_str(), samples.back().bytes);
  for (size_t i = samples.size() - 5; i < samples.size(); ++i) {
    std::printf("    %s: %.2f ms, %zu bytes\n", samples[i].name.c_str(),
                samples[i].ms, samples[i].bytes);
  }
  std::sort(
      samples.begin(), samples.end(),
      [](const Sample& a, const Sample& b) { return a.fresh_ms < b.fresh_ms; });
  std::printf(
      "the same, each product the first one built (fresh router):\n"
      "  median %.2f  p90 %.2f  p99 %.2f  max %.2f (%s, %zu bytes)\n",
      at(0.5).fresh_ms, at(0.9).fresh_ms, at(0.99).fresh_ms,
      samples.back().fresh_ms, samples.back().name.c_str(),
      samples.back().bytes);
  std::printf("  %zu of %zu within 20 ms\n", within_20ms, samples.size());
  std::printf(
      "  one method of each of the %zu built: %.0f ms in all, RSS %.1f MiB "
      "(+%.1f MiB, %.2f MiB per product)\n",
      samples.size(), total, rss_all, rss_all - rss_created,
      (rss_all - rss_created) / samples.size());
  // Every product whole, every method's messages: what a client listing
  // every service's file through reflection would make the gateway build.
  (*router).reset();  // its memory back before measuring the next
  auto whole = envelope::Router::Create({{"bundled", "", &files}});
  const double rss_before_whole = RssMiB();
  start = std::chrono::steady_clock::now();
  if (absl::Status status = (*whole)->BuildAll(); !status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  std::printf(
      "every product whole (Router::BuildAll): %.0f ms, RSS +%.1f MiB\n",
      Since(start), RssMiB() - rss_before_whole);
  return 0;
}
