// The upstream leg's own work per call (gateway/upstream):
//   sign_tc3/<body bytes>       SignTc3 with the same key and day each call
//                               (what a gateway does all day long);
//   http_round_trip             HttpClient: one POST of 1 KB at a time over
//                               a kept-alive loopback connection;
//   upstream_round_trip         Upstream::Send: endpoint, headers, TC3
//                               signature and the same round trip;
//   upstream_bursts/<calls>     Upstream::Send of <calls> at once, then the
//                               next burst once all have been answered (the
//                               load dips to zero between bursts).
// The HTTP server is a child process (a few lines of HTTP/1.1 keep-alive
// answering every POST with the same 1 KB envelope), so the CPU time the
// round trips report is this process's alone: the caller's thread and the
// HttpClient's I/O thread. Counters: new connections per call.
//
// Speed is never asserted; this is not a test.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gateway/credentials/credentials.h"
#include "gateway/upstream/tc3_signer.h"
#include "gateway/upstream/upstream.h"

namespace {

using envelope::ApiCall;
using envelope::Credentials;
using envelope::HttpClient;
using envelope::HttpRequest;
using envelope::HttpResponse;
using envelope::Upstream;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "upstream_bench: %s: %s\n", what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

// ---------------------------------------------------------------------------
// The child's HTTP server.

const std::string& ResponseBody() {
  static const std::string* body = [] {
    std::string zones;
    for (int i = 0; zones.size() < 900; ++i) {
      absl::StrAppend(&zones, i == 0 ? "" : ",", R"({"Zone":"ap-guangzhou-)", i,
                      R"(","ZoneState":"AVAILABLE"})");
    }
    return new std::string(absl::StrCat(
        R"({"Response":{"TotalCount":1,"ZoneSet":[)", zones,
        R"(],"RequestId":"4cb7b9e8-8d3a-4d3b-9a4b-1c1f9c0e6a4d"}})"));
  }();
  return *body;
}

// Answers every complete request in `in` (and removes it); false when a
// request is malformed.
bool AnswerRequests(std::string& in, std::string& out) {
  for (;;) {
    size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos) return true;
    size_t length = 0;
    absl::string_view head(in.data(), end);
    for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
      constexpr absl::string_view kLength = "content-length:";
      if (line.size() > kLength.size() &&
          absl::EqualsIgnoreCase(line.substr(0, kLength.size()), kLength)) {
        if (!absl::SimpleAtoi(
                absl::StripAsciiWhitespace(line.substr(kLength.size())),
                &length)) {
          return false;
        }
      }
    }
    if (in.size() < end + 4 + length) return true;  // body still coming
    in.erase(0, end + 4 + length);
    absl::StrAppend(&out,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    "Content-Length: ",
                    ResponseBody().size(), "\r\n\r\n", ResponseBody());
  }
}

[[noreturn]] void Serve(int listener) {
  struct Connection {
    int fd;
    std::string in, out;
  };
  std::vector<Connection> connections;
  std::vector<pollfd> fds;
  char buffer[64 << 10];
  for (;;) {
    fds.assign(1, {listener, POLLIN, 0});
    for (const Connection& c : connections) {
      fds.push_back({c.fd, POLLIN, 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) Die("poll");
    if (fds[0].revents & POLLIN) {
      int fd = accept(listener, nullptr, nullptr);
      if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        connections.push_back({fd, "", ""});
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Connection& c = connections[i - 1];
      ssize_t n = read(c.fd, buffer, sizeof buffer);
      bool keep = n > 0;
      if (keep) {
        c.in.append(buffer, n);
        keep = AnswerRequests(c.in, c.out);
      }
      // Answers are small and the client reads them: written whole.
      while (keep && !c.out.empty()) {
        ssize_t w = write(c.fd, c.out.data(), c.out.size());
        if (w <= 0) {
          keep = false;
          break;
        }
        c.out.erase(0, w);
      }
      if (!keep) {
        close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(connections, [](const Connection& c) { return c.fd < 0; });
  }
}

// Starts the server in a child process; returns its port.
int StartServer(pid_t* child) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Die("bind");
  }
  if (listen(listener, 128) != 0) Die("listen");
  socklen_t size = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &size);
  *child = fork();
  if (*child < 0) Die("fork");
  if (*child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the benchmark
    Serve(listener);
  }
  close(listener);
  return ntohs(addr.sin_port);
}

int server_port = 0;

std::string ServerUrl() {
  return absl::StrCat("http://127.0.0.1:", server_port);
}

// ---------------------------------------------------------------------------
// Signing.

const Credentials kCredentials{"AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                               "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", ""};

std::string Body(size_t size) {
  std::string body = R"({"Filters":[{"Name":"zone","Values":[")";
  while (body.size() + 5 < size) body.push_back('a' + body.size() % 26);
  body += R"("]}]})";
  return body;
}

void BM_SignTc3(benchmark::State& state) {
  const std::string body = Body(state.range(0));
  const int64_t timestamp = absl::ToUnixSeconds(absl::Now());
  for (auto _ : state) {
    envelope::Tc3Signature sig = envelope::SignTc3(
        kCredentials, {.service = "cvm",
                       .host = "cvm.tencentcloudapi.com",
                       .content_type = "application/json; charset=utf-8",
                       .body = body,
                       .timestamp = timestamp});
    benchmark::DoNotOptimize(sig);
  }
  state.SetBytesProcessed(state.iterations() * body.size());
}
BENCHMARK(BM_SignTc3)->Name("sign_tc3")->Arg(1 << 10)->Arg(100 << 10);

// ---------------------------------------------------------------------------
// Round trips.

// Waits for a number of callbacks.
class Waiter {
 public:
  void Expect(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = n;
  }
  void Done(const HttpResponse& response) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!response.transport.ok() || response.status != 200) ++failures_;
    if (--pending_ == 0) cv_.notify_one();
  }
  // False if any call failed.
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return pending_ == 0; });
    return failures_ == 0;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int pending_ = 0;
  int failures_ = 0;
};

envelope::HttpClientOptions ClientOptions() {
  return {.no_proxy = "*", .max_connections_per_host = 8};
}

void ReportConnections(benchmark::State& state, HttpClient::Stats before,
                       HttpClient::Stats after) {
  const double calls = static_cast<double>(after.requests - before.requests);
  state.counters["conn/call"] =
      calls > 0 ? (after.connections - before.connections) / calls : 0;
}

void BM_HttpRoundTrip(benchmark::State& state) {
  Waiter waiter;  // outlives the client, whose callbacks use it
  HttpClient client(ClientOptions());
  const std::string body = Body(1 << 10);
  auto send = [&] {
    HttpRequest request;
    request.url = ServerUrl();
    request.body = body;
    waiter.Expect(1);
    client.Send(std::move(request),
                [&](HttpResponse response) { waiter.Done(response); });
    if (!waiter.Wait()) state.SkipWithError("a round trip failed");
  };
  send();  // the connection
  HttpClient::Stats before = client.stats();
  for (auto _ : state) send();
  ReportConnections(state, before, client.stats());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HttpRoundTrip)
    ->Name("http_round_trip")
    ->UseRealTime()
    ->MeasureProcessCPUTime();

class FixedCredentials : public envelope::CredentialSource {
 public:
  absl::StatusOr<Credentials> Get() const override { return kCredentials; }
  std::string Describe() const override { return "bench"; }
};

std::unique_ptr<Upstream> MakeUpstream() {
  envelope::UpstreamOptions options;
  options.endpoint_template = ServerUrl();
  options.credentials = std::make_shared<FixedCredentials>();
  options.http = ClientOptions();
  return std::make_unique<Upstream>(std::move(options));
}

ApiCall Call(const std::string& body) {
  return {.service = "cvm",
          .version = "2017-03-12",
          .action = "DescribeZones",
          .region = "ap-guangzhou",
          .body = body,
          .deadline = absl::Now() + absl::Seconds(30)};
}

void BM_UpstreamRoundTrip(benchmark::State& state) {
  Waiter waiter;  // outlives the client, whose callbacks use it
  std::unique_ptr<Upstream> upstream = MakeUpstream();
  const ApiCall call = Call(Body(1 << 10));
  auto send = [&] {
    waiter.Expect(1);
    upstream->Send(call, [&](HttpResponse response) { waiter.Done(response); });
    if (!waiter.Wait()) state.SkipWithError("a round trip failed");
  };
  send();
  HttpClient::Stats before = upstream->stats();
  for (auto _ : state) send();
  ReportConnections(state, before, upstream->stats());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UpstreamRoundTrip)
    ->Name("upstream_round_trip")
    ->UseRealTime()
    ->MeasureProcessCPUTime();

void BM_UpstreamBursts(benchmark::State& state) {
  const int calls = static_cast<int>(state.range(0));
  Waiter waiter;  // outlives the client, whose callbacks use it
  std::unique_ptr<Upstream> upstream = MakeUpstream();
  const ApiCall call = Call(Body(1 << 10));
  auto burst = [&] {
    waiter.Expect(calls);
    for (int i = 0; i < calls; ++i) {
      upstream->Send(call,
                     [&](HttpResponse response) { waiter.Done(response); });
    }
    if (!waiter.Wait()) state.SkipWithError("a call failed");
  };
  burst();  // the pool's connections
  HttpClient::Stats before = upstream->stats();
  for (auto _ : state) burst();
  ReportConnections(state, before, upstream->stats());
  state.SetItemsProcessed(state.iterations() * calls);
}
BENCHMARK(BM_UpstreamBursts)
    ->Name("upstream_bursts")
    ->Arg(8)
    ->Arg(32)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists: the child is a plain copy of this process.
  pid_t child = 0;
  server_port = StartServer(&child);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  return 0;
}
