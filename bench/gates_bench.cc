// What the attempt gates (gateway/route/attempt_gate.h) add to each call:
//   interpret_envelope_1kb   the baseline: reading a 1 KB success envelope,
//                            which every call does once per attempt;
//   local_rate_limit         LocalRateLimit::Admit and OnAnswer for one
//                            action with room to spare (the books kept,
//                            nobody waits), on 1 and 2 threads;
//   region_breaker           RegionBreaker::Admit and OnAnswer for one
//                            healthy host (--region-breaker, off by
//                            default), its URL made as Upstream does.
// Report them as ratios to the baseline of the same run
// (docs/performance.md). Speed is never asserted; this is not a test.
#include <benchmark/benchmark.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/envelope/outcome.h"
#include "gateway/route/rate_limiter.h"
#include "gateway/route/region_breaker.h"

namespace {

using envelope::AdaptiveRateOptions;
using envelope::ApiCall;
using envelope::AttemptAnswer;
using envelope::GateVerdict;

ApiCall ZonesCall() {
  ApiCall call;
  call.service = "cvm";
  call.version = "2017-03-12";
  call.action = "DescribeZones";
  call.region = "ap-guangzhou";
  call.deadline = absl::InfiniteFuture();
  return call;
}

// About 1 KB, the size of bench/e2e's small answer.
std::string Envelope1Kb() {
  std::string zones;
  for (int i = 0; i < 8; ++i) {
    absl::StrAppend(&zones, i ? "," : "", R"({"Zone":"ap-guangzhou-)", i,
                    R"(","ZoneName":"Guangzhou Zone )", i,
                    R"(","ZoneId":"10000)", i,
                    R"(","ZoneState":"AVAILABLE","ParentZone":""})");
  }
  return absl::StrCat(
      R"({"Response":{"TotalCount":8,"ZoneSet":[)", zones,
      R"(],"RequestId":"6f1e7c2a-0b5e-4a8c-9d6e-2f1a3b4c5d6e"}})");
}

void BM_InterpretEnvelope1Kb(benchmark::State& state) {
  const std::string body = Envelope1Kb();
  const envelope::ErrorContext context{.service = "cvm",
                                       .action = "DescribeZones"};
  const envelope::StatusTable table = envelope::StatusTable::Default();
  for (auto _ : state) {
    envelope::Outcome outcome =
        envelope::InterpretResponse(200, body, context, table);
    benchmark::DoNotOptimize(outcome);
  }
  state.SetBytesProcessed(state.iterations() * body.size());
}
BENCHMARK(BM_InterpretEnvelope1Kb)->Name("interpret_envelope_1kb");

void BM_LocalRateLimit(benchmark::State& state) {
  static envelope::LocalRateLimit* limit = [] {
    envelope::RateLimitOptions options;
    options.default_per_second = 1e9;
    options.adapt.burst = 1e9;
    return envelope::LocalRateLimit::Create(options)->release();
  }();
  ApiCall call = ZonesCall();
  for (auto _ : state) {
    limit->Admit(
        call, [](GateVerdict verdict) { benchmark::DoNotOptimize(verdict); });
    limit->OnAnswer(call, AttemptAnswer{.at = absl::Now()});
  }
}
BENCHMARK(BM_LocalRateLimit)->Name("local_rate_limit")->Threads(1)->Threads(2);

void BM_RegionBreaker(benchmark::State& state) {
  envelope::RegionBreakerOptions options;
  options.enabled = true;
  auto breaker = envelope::RegionBreaker::Create(
      options, [](const ApiCall& call) -> absl::StatusOr<std::string> {
        return absl::StrCat("https://", call.service, ".", call.region,
                            ".tencentcloudapi.com/");
      });
  ApiCall call = ZonesCall();
  for (auto _ : state) {
    (*breaker)->Admit(
        call, [](GateVerdict verdict) { benchmark::DoNotOptimize(verdict); });
    (*breaker)->OnAnswer(call,
                         AttemptAnswer{.at = absl::Now(), .http_status = 200});
  }
}
BENCHMARK(BM_RegionBreaker)->Name("region_breaker");

}  // namespace

BENCHMARK_MAIN();
