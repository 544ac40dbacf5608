// The transcoder (gateway/transcode) against protobuf's own JSON util
// (google::protobuf::util::JsonStringToMessage / MessageToJsonString), both
// on the same dynamic messages of the bundled descriptors, on real responses
// from third_party/tencentcloud-specs/<svc>/<ver>/examples.json.
//
// Inputs (the `Response` object of an example's output, re-written compact,
// as the API sends it):
//   cvm_describe_instances  the longest cvm/v20170312 DescribeInstances
//                           example;
//   cvm_instances_x100      the same with its InstanceSet element replicated
//                           to 100 elements, TotalCount 100;
//   vpc_largest             the longest example of any vpc/v20170312 action.
// Directions: json_to_proto (parse text into a new message) and
// proto_to_json (print a message into a new string). Every benchmark of an
// input counts the size of that input's compact JSON as its bytes, so the
// MB/s of the two competitors compare like their times.
//
// After the run, a table of ours / protobuf MB/s and their ratio, all from
// this one invocation. Speed is never asserted; this is not a test.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"
#include "gateway/transcode/transcode.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

// What RunSpecifiedBenchmarks gives its own console reporter
// (--benchmark_color,
// --benchmark_counters_tabular, a terminal or not); exported by libbenchmark
// 1.7 but not declared in its header.
namespace benchmark::internal {
ConsoleReporter::OutputOptions GetOutputOptions(bool force_no_color);
}  // namespace benchmark::internal

#ifndef SPECS_DIR
#define SPECS_DIR "third_party/tencentcloud-specs"
#endif

namespace {

using google::protobuf::Message;
namespace util = google::protobuf::util;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "transcode_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string SpecsDir() {
  const char* env = std::getenv("ENVELOPE_SPECS_DIR");
  return env != nullptr && *env != '\0' ? env : SPECS_DIR;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Compact(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

struct Example {
  std::string action;
  std::string output;  // the full envelope JSON text
};

// The longest example output, of `only_action` or, if empty, of any action.
Example LongestExample(const std::string& service, const std::string& version,
                       const std::string& only_action) {
  const std::string path =
      SpecsDir() + "/" + service + "/" + version + "/examples.json";
  rapidjson::Document doc;
  doc.Parse(ReadFile(path).c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("actions")) {
    Die(path + ": not an examples.json");
  }
  Example best;
  for (const auto& action : doc["actions"].GetObject()) {
    std::string name = action.name.GetString();
    if (!only_action.empty() && name != only_action) continue;
    for (const auto& example : action.value.GetArray()) {
      if (!example.HasMember("output") || !example["output"].IsString()) {
        continue;
      }
      std::string output = example["output"].GetString();
      if (output.size() > best.output.size()) best = {name, std::move(output)};
    }
  }
  if (best.output.empty()) Die(path + ": no example for " + only_action);
  return best;
}

struct Input {
  std::string name;
  std::string description;
  const Message* prototype = nullptr;
  std::string json;  // the Response object, compact
};

Input MakeInput(const envelope::Router& router, std::string name,
                const std::string& package, const std::string& service_name,
                const Example& example, int replicate_to = 0) {
  rapidjson::Document doc;
  doc.Parse(example.output.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("Response")) {
    Die(example.action + ": example output has no Response");
  }
  rapidjson::Value& response = doc["Response"];
  std::string description = package + " " + example.action;
  if (replicate_to > 0) {
    rapidjson::Value& set = response["InstanceSet"];
    if (!set.IsArray() || set.Empty()) Die("no InstanceSet to replicate");
    rapidjson::Value element(set[0], doc.GetAllocator());
    set.Clear();
    for (int i = 0; i < replicate_to; ++i) {
      set.PushBack(rapidjson::Value(element, doc.GetAllocator()),
                   doc.GetAllocator());
    }
    response["TotalCount"].SetInt(replicate_to);
    description += ", InstanceSet[0] x" + std::to_string(replicate_to);
  }
  const std::string path =
      "/" + package + "." + service_name + "/" + example.action;
  const envelope::MethodRoute* route = router.Find(path);
  if (route == nullptr) Die("no route " + path);
  return {std::move(name), std::move(description), route->response_prototype,
          Compact(response)};
}

util::JsonParseOptions ProtobufParseOptions() {
  util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // the API adds members; ours ignores
  return options;
}

std::unique_ptr<Message> OursParse(const Input& input) {
  std::unique_ptr<Message> message(input.prototype->New());
  absl::Status status = envelope::JsonToMessage(input.json, message.get());
  if (!status.ok()) Die(input.name + ": ours: " + status.ToString());
  return message;
}

std::unique_ptr<Message> ProtobufParse(const Input& input,
                                       const std::string& json) {
  std::unique_ptr<Message> message(input.prototype->New());
  auto status =
      util::JsonStringToMessage(json, message.get(), ProtobufParseOptions());
  if (!status.ok()) Die(input.name + ": protobuf: " + status.ToString());
  return message;
}

// Both sides must read the input into the same message, and each must read
// back what it wrote; otherwise the comparison means nothing.
void CheckEquivalent(const Input& input) {
  std::unique_ptr<Message> ours = OursParse(input);
  std::unique_ptr<Message> theirs = ProtobufParse(input, input.json);
  std::string diff;
  util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (!differencer.Compare(*ours, *theirs)) {
    Die(input.name +
        ": the transcoder and protobuf's util read different "
        "messages:\n" +
        diff);
  }
  std::string ours_json;
  (void)envelope::MessageToJson(*ours, &ours_json);
  std::unique_ptr<Message> ours_back(input.prototype->New());
  absl::Status status = envelope::JsonToMessage(ours_json, ours_back.get());
  if (!status.ok() || !util::MessageDifferencer::Equals(*ours, *ours_back)) {
    Die(input.name + ": the transcoder does not read back what it wrote");
  }
  std::string theirs_json;
  if (!util::MessageToJsonString(*theirs, &theirs_json).ok() ||
      !util::MessageDifferencer::Equals(*theirs,
                                        *ProtobufParse(input, theirs_json))) {
    Die(input.name + ": protobuf's util does not read back what it wrote");
  }
  if (input.prototype->GetDescriptor()->field_count() > 0 &&
      ours->ByteSizeLong() == 0) {
    Die(input.name + ": the message is empty");
  }
}

void BM_JsonToProtoOurs(benchmark::State& state, const Input* input) {
  for (auto _ : state) {
    std::unique_ptr<Message> message(input->prototype->New());
    absl::Status status = envelope::JsonToMessage(input->json, message.get());
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(message.get());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(input->json.size()));
}

void BM_JsonToProtoProtobuf(benchmark::State& state, const Input* input) {
  const util::JsonParseOptions options = ProtobufParseOptions();
  for (auto _ : state) {
    std::unique_ptr<Message> message(input->prototype->New());
    auto status =
        util::JsonStringToMessage(input->json, message.get(), options);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(message.get());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(input->json.size()));
}

void BM_ProtoToJsonOurs(benchmark::State& state, const Input* input) {
  std::unique_ptr<Message> message = OursParse(*input);
  for (auto _ : state) {
    std::string out;
    (void)envelope::MessageToJson(*message, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(input->json.size()));
}

void BM_ProtoToJsonProtobuf(benchmark::State& state, const Input* input) {
  std::unique_ptr<Message> message = OursParse(*input);
  const util::JsonPrintOptions options;  // the defaults
  for (auto _ : state) {
    std::string out;
    auto status = util::MessageToJsonString(*message, &out, options);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(input->json.size()));
}

// What the gateway does with an answer: JSON text to the bytes of the
// typed response. Ours writes the wire format while reading the parsed JSON
// (no message is built); protobuf's util must fill a message and serialize it.
void BM_JsonToWireOurs(benchmark::State& state, const Input* input) {
  const google::protobuf::Descriptor* type = input->prototype->GetDescriptor();
  for (auto _ : state) {
    absl::StatusOr<envelope::json::Document> document =
        envelope::json::Parse(input->json);
    std::string wire;
    absl::Status status =
        envelope::JsonValueToWire(document->root(), type, &wire);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(input->json.size()));
}

void BM_JsonToWireProtobuf(benchmark::State& state, const Input* input) {
  const util::JsonParseOptions options = ProtobufParseOptions();
  for (auto _ : state) {
    std::unique_ptr<Message> message(input->prototype->New());
    auto status =
        util::JsonStringToMessage(input->json, message.get(), options);
    std::string wire;
    message->SerializeToString(&wire);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(input->json.size()));
}

// Benchmark names are "<direction>/<input>/<ours|protobuf>".
std::string Name(const std::string& direction, const std::string& input,
                 const std::string& competitor) {
  return direction + "/" + input + "/" + competitor;
}

// The console output as usual, and the bytes/s of every run kept for the
// ratio table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter()
      : ConsoleReporter(benchmark::internal::GetOutputOptions(false)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      auto it = run.counters.find("bytes_per_second");
      if (it == run.counters.end()) continue;
      const std::string name = run.run_name.str();
      if (run.run_type == Run::RT_Aggregate) {
        // With --benchmark_repetitions: the median stands for the run.
        if (run.aggregate_name == "median") median_[name] = it->second.value;
      } else {
        iterations_[name].push_back(it->second.value);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // Bytes/s of a benchmark; 0 if it did not run (filtered out).
  double BytesPerSecond(const std::string& name) const {
    if (auto it = median_.find(name); it != median_.end()) return it->second;
    auto it = iterations_.find(name);
    if (it == iterations_.end() || it->second.empty()) return 0;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

 private:
  std::map<std::string, std::vector<double>> iterations_;
  std::map<std::string, double> median_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  auto router =
      envelope::Router::Create({{"bundled", "", &envelope::BundledFiles()}});
  if (!router.ok()) Die(router.status().ToString());

  const Example instances =
      LongestExample("cvm", "v20170312", "DescribeInstances");
  const Example vpc = LongestExample("vpc", "v20170312", "");
  const std::vector<Input> inputs = {
      MakeInput(**router, "cvm_describe_instances",
                "tencentcloud.cvm.v20170312", "Cvm", instances),
      MakeInput(**router, "cvm_instances_x100", "tencentcloud.cvm.v20170312",
                "Cvm", instances, 100),
      MakeInput(**router, "vpc_largest", "tencentcloud.vpc.v20170312", "Vpc",
                vpc),
  };
  for (const Input& input : inputs) {
    CheckEquivalent(input);
    std::printf("input %-24s %7zu bytes  %s\n", input.name.c_str(),
                input.json.size(), input.description.c_str());
  }
  std::printf("equivalence: ours and protobuf's util read the same messages\n");
  std::fflush(stdout);

  const struct {
    const char* direction;
    void (*ours)(benchmark::State&, const Input*);
    void (*protobuf)(benchmark::State&, const Input*);
  } directions[] = {
      {"json_to_proto", BM_JsonToProtoOurs, BM_JsonToProtoProtobuf},
      {"proto_to_json", BM_ProtoToJsonOurs, BM_ProtoToJsonProtobuf},
      {"json_to_wire", BM_JsonToWireOurs, BM_JsonToWireProtobuf},
  };
  for (const Input& input : inputs) {
    for (const auto& d : directions) {
      benchmark::RegisterBenchmark(
          Name(d.direction, input.name, "ours").c_str(), d.ours, &input);
      benchmark::RegisterBenchmark(
          Name(d.direction, input.name, "protobuf").c_str(), d.protobuf,
          &input);
    }
  }

  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  // MB = 10^6 bytes; ratio = ours / protobuf (> 1: ours is faster).
  std::printf("\n%-24s | %-13s | %10s | %13s | %6s\n", "input", "direction",
              "ours MB/s", "protobuf MB/s", "ratio");
  std::printf("%s\n", std::string(24 + 13 + 10 + 13 + 6 + 12, '-').c_str());
  for (const Input& input : inputs) {
    for (const auto& d : directions) {
      const double ours =
          reporter.BytesPerSecond(Name(d.direction, input.name, "ours"));
      const double theirs =
          reporter.BytesPerSecond(Name(d.direction, input.name, "protobuf"));
      if (ours == 0 && theirs == 0) continue;
      char ratio[32] = "-";
      if (ours > 0 && theirs > 0) {
        std::snprintf(ratio, sizeof(ratio), "%.2fx", ours / theirs);
      }
      std::printf("%-24s | %-13s | %10.1f | %13.1f | %6s\n", input.name.c_str(),
                  d.direction, ours / 1e6, theirs / 1e6, ratio);
    }
  }
  return 0;
}
