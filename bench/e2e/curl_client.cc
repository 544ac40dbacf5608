// Baseline B of bench/e2e: the least an HTTP/1.1 client does per request.
// libcurl's multi interface on one thread, CONCURRENCY transfers at a time,
// each easy handle set up once and reused (its keep-alive connection with
// it), POSTing the same JSON body with the same headers as the gateway
// sends, REQUESTS times in all.
//
//   curl_client --url=URL --body=FILE [--headers=FILE] --requests=N
//               [--concurrency=C] [--expect-bytes=N]
//
// --headers: one "Name: value" per line, sent as they are ("Name:" alone
// removes a header curl would add). --expect-bytes: every response body must
// have this size. Any transfer error, non-200 status or other size is a
// failure; the exit code is then 1.
//
// Prints one JSON line: requests, failed, seconds, the process's own CPU
// during the requests (utime+stime from /proc/self/stat, clock ticks, as the
// driver reads the servers'), and the latency percentiles of the requests
// (microseconds from adding the transfer to its end, nearest rank).
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_common.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url, body_file, headers_file;
  long requests = 0;
  long concurrency = 1;
  long expect_bytes = -1;
};

struct Transfer {
  CURL* easy = nullptr;
  Clock::time_point start;
  long bytes = 0;
};

// utime + stime of this process, in clock ticks.
long long CpuTicks() {
  std::string stat;
  if (!e2e::ReadFile("/proc/self/stat", &stat)) return -1;
  // Fields after the command name (which may hold spaces), from field 3.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n == 14) utime = std::atoll(field.c_str());
    if (n == 15) stime = std::atoll(field.c_str());
  }
  return utime + stime;
}

size_t CountBody(char*, size_t size, size_t count, void* user) {
  static_cast<Transfer*>(user)->bytes += static_cast<long>(size * count);
  return size * count;
}

bool ParseOptions(int argc, char** argv, Options* options) {
  std::string requests, concurrency = "1", expect_bytes = "-1";
  if (!e2e::ParseFlags(argc, argv,
                       {{"url", &options->url},
                        {"body", &options->body_file},
                        {"headers", &options->headers_file},
                        {"requests", &requests},
                        {"concurrency", &concurrency},
                        {"expect-bytes", &expect_bytes}})) {
    return false;
  }
  options->requests = std::atol(requests.c_str());
  options->concurrency = std::atol(concurrency.c_str());
  options->expect_bytes = std::atol(expect_bytes.c_str());
  return !options->url.empty() && !options->body_file.empty() &&
         options->requests > 0 && options->concurrency > 0;
}

// Nearest rank: the smallest value with at least q of the values at or below.
long Percentile(const std::vector<long>& sorted, double q) {
  size_t rank = static_cast<size_t>(std::ceil(q * sorted.size()));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) {
    std::cerr << "usage: curl_client --url=URL --body=FILE [--headers=FILE] "
                 "--requests=N [--concurrency=C] [--expect-bytes=N]\n";
    return 2;
  }
  std::string body, headers_text;
  if (!e2e::ReadFile(options.body_file, &body) ||
      (!options.headers_file.empty() &&
       !e2e::ReadFile(options.headers_file, &headers_text))) {
    std::cerr << "curl_client: cannot read the body or headers file\n";
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl_slist* headers = e2e::HeaderList(headers_text);

  const long concurrency = std::min(options.concurrency, options.requests);
  std::vector<Transfer> transfers(concurrency);
  for (Transfer& t : transfers) {
    t.easy = curl_easy_init();
    curl_easy_setopt(t.easy, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(t.easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(t.easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(t.easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, CountBody);
    curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
  }
  CURLM* multi = curl_multi_init();

  std::vector<long> latencies;
  latencies.reserve(options.requests);
  long started = 0, failed = 0;
  auto start = [&](Transfer& t) {
    t.bytes = 0;
    t.start = Clock::now();
    curl_multi_add_handle(multi, t.easy);
    ++started;
  };

  const long long cpu_before = CpuTicks();
  const Clock::time_point begin = Clock::now();
  for (Transfer& t : transfers) start(t);
  while (static_cast<long>(latencies.size()) < options.requests) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &t);
      latencies.push_back(static_cast<long>(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() -
                                                                t->start)
              .count()));
      long code = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
      if (message->data.result != CURLE_OK || code != 200 ||
          (options.expect_bytes >= 0 && t->bytes != options.expect_bytes)) {
        if (failed++ == 0) {
          std::cerr << "curl_client: "
                    << curl_easy_strerror(message->data.result) << ", HTTP "
                    << code << ", " << t->bytes << " bytes\n";
        }
      }
      curl_multi_remove_handle(multi, t->easy);
      if (started < options.requests) start(*t);
    }
    if (static_cast<long>(latencies.size()) < options.requests) {
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - begin).count();
  const long long cpu_ticks = CpuTicks() - cpu_before;

  std::sort(latencies.begin(), latencies.end());
  std::printf(
      "{\"requests\": %ld, \"failed\": %ld, \"seconds\": %.6f, "
      "\"cpu_ticks\": %lld, \"clock_ticks_per_second\": %ld, "
      "\"p50_us\": %ld, \"p99_us\": %ld}\n",
      options.requests, failed, seconds, cpu_ticks, sysconf(_SC_CLK_TCK),
      Percentile(latencies, 0.50), Percentile(latencies, 0.99));

  for (Transfer& t : transfers) curl_easy_cleanup(t.easy);
  curl_multi_cleanup(multi);
  curl_slist_free_all(headers);
  curl_global_cleanup();
  return failed == 0 ? 0 : 1;
}
