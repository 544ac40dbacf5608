// Coalesced reads (gateway/route/coalescer.h) without processes: the calls
// run their real CallAttempts against a stand-in UpstreamSender that holds
// each request until the test answers it, so the tests see how many
// requests left, who got which answer and what an Abort ended.
#include "gateway/route/coalescer.h"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

constexpr char kZones[] = "/tencentcloud.cvm.v20170312.Cvm/DescribeZones";
constexpr char kJsonApi[] = "/envelope.gateway.v1.JsonApi/Call";

// Holds every request until answered (by the test, from any thread);
// thread-safe. A cancelled request is answered CANCELLED at once.
class HoldingSender : public UpstreamSender {
 public:
  HttpClient::TransferId Send(const ApiCall& call,
                              HttpClient::Callback done) override {
    if (fail_at_once_) {
      HttpResponse response;
      // Not retried (a retry would wait on RunAfter).
      response.transport = absl::FailedPreconditionError("no region");
      response.fault = TransportFault::kNoRegion;
      std::move(done)(std::move(response));
      return 0;
    }
    absl::MutexLock lock(&mu_);
    held_[++last_id_] = std::move(done);
    bodies_.push_back(call.body);
    return last_id_;
  }
  void Cancel(HttpClient::TransferId id) override {
    {
      absl::MutexLock lock(&mu_);
      ++cancelled_;
    }
    HttpResponse response;
    response.transport = absl::CancelledError("the call was cancelled");
    response.fault = TransportFault::kCancelled;
    Answer(id, std::move(response));
  }
  void RunAfter(absl::Duration, absl::AnyInvocable<void() &&>) override {
    ADD_FAILURE() << "no call here waits";
  }

  // Answers transfer `id` if it is still held; outside the lock, as the
  // I/O thread does.
  bool Answer(HttpClient::TransferId id, HttpResponse response) {
    HttpClient::Callback done;
    {
      absl::MutexLock lock(&mu_);
      auto it = held_.find(id);
      if (it == held_.end()) return false;
      done = std::move(it->second);
      held_.erase(it);
    }
    std::move(done)(std::move(response));
    return true;
  }
  // Answers the oldest request held; false when none is.
  bool AnswerOldest(HttpResponse response) {
    HttpClient::TransferId id;
    {
      absl::MutexLock lock(&mu_);
      if (held_.empty()) return false;
      id = held_.begin()->first;
    }
    return Answer(id, std::move(response));
  }

  void FailAtOnce(bool fail) { fail_at_once_ = fail; }
  int sent() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(bodies_.size());
  }
  int cancelled() const {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

 private:
  mutable absl::Mutex mu_;
  HttpClient::TransferId last_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<HttpClient::TransferId, HttpClient::Callback> held_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
  int cancelled_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> fail_at_once_{false};
};

HttpResponse Zones(absl::string_view request_id) {
  HttpResponse response;
  response.status = 200;
  response.request_sent = true;
  response.host = "cvm.example:443";
  response.body = absl::StrCat(
      R"({"Response":{"TotalCount":1,"ZoneSet":[{"Zone":"ap-guangzhou-3"}],)",
      R"("RequestId":")", request_id, R"("}})");
  return response;
}

CallStatus Ended(absl::StatusCode code, absl::string_view reason) {
  CallStatus status;
  status.code = code;
  status.message = "ended by its front";
  status.reason = reason;
  return status;
}

// What became of one call: how often its done ran, and with what.
struct Seen {
  std::atomic<int> runs{0};
  std::optional<GrpcResult> result;
};

class CoalescerTest : public ::testing::Test {
 protected:
  // Every request a test left held is answered, so that each shared
  // request ends: until it does, the request and its group hold each other
  // (the gateway ends every call: an answer, its deadline, the drain).
  void TearDown() override {
    while (sender_.AnswerOldest(Zones("req-left-held"))) {
    }
  }

  void SetUp() override {
    auto router =
        Router::Create({{"bundled", std::string(BundledDescriptorSet())}});
    ASSERT_TRUE(router.ok()) << router.status();
    router_ = *std::move(router);
    zones_ = router_->Find(kZones);
    json_api_ = router_->Find(kJsonApi);
    ASSERT_NE(zones_, nullptr);
    ASSERT_NE(json_api_, nullptr);
  }

  // A DescribeZones call as the dispatcher sets it up; change what a test
  // needs before Join.
  CallAttempts::Setup Call(absl::Duration time_left = absl::Seconds(30)) {
    CallAttempts::Setup setup;
    setup.route = zones_;
    setup.api.service = "cvm";
    setup.api.version = "2017-03-12";
    setup.api.action = "DescribeZones";
    setup.api.region = "ap-guangzhou";
    setup.api.body = "{}";
    setup.api.deadline = absl::Now() + time_left;
    setup.context = {.service = "cvm", .action = "DescribeZones"};
    setup.table = &table_;
    setup.policy = &policy_;
    setup.upstream = &sender_;
    setup.may_send_twice = true;
    return setup;
  }

  // Starts `setup` through `coalescer`; the returned index names its Seen.
  size_t Join(Coalescer& coalescer, CallAttempts::Setup setup) {
    Seen& seen = seen_.emplace_back();
    setup.done = [&seen](GrpcResult result) {
      seen.result = std::move(result);
      seen.runs.fetch_add(1);
    };
    calls_.push_back(coalescer.Start(std::move(setup)));
    return calls_.size() - 1;
  }
  size_t Join(CallAttempts::Setup setup) {
    return Join(coalescer_, std::move(setup));
  }

  const GrpcResult& ResultOf(size_t call) {
    EXPECT_EQ(seen_[call].runs.load(), 1) << "call " << call;
    return *seen_[call].result;
  }

  std::unique_ptr<Router> router_;
  const MethodRoute* zones_ = nullptr;
  const MethodRoute* json_api_ = nullptr;
  StatusTable table_ = StatusTable::Default();
  RetryPolicy policy_{RetryOptions{}};
  HoldingSender sender_;
  Coalescer coalescer_{{.actions = {"Describe*"}}, &policy_};
  std::deque<Seen> seen_;  // stable addresses for the dones
  std::vector<std::shared_ptr<DispatchedCall>> calls_;
};

TEST_F(CoalescerTest, IdenticalCallsShareOneRequestAndEachGetsTheAnswer) {
  for (int i = 0; i < 3; ++i) Join(Call());
  EXPECT_EQ(sender_.sent(), 1);
  CoalescerStats stats = coalescer_.stats();
  EXPECT_EQ(stats.saved_requests, 2u);
  EXPECT_EQ(stats.groups, 1u);
  EXPECT_EQ(stats.members, 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(seen_[i].runs.load(), 0);

  ASSERT_TRUE(sender_.AnswerOldest(Zones("req-shared")));
  for (size_t i = 0; i < 3; ++i) {
    const GrpcResult& result = ResultOf(i);
    EXPECT_EQ(result.code, absl::StatusCode::kOk) << result.message;
    EXPECT_EQ(result.request_id, "req-shared");
    EXPECT_EQ(result.payload, ResultOf(0).payload);
    EXPECT_FALSE(result.payload.empty());
    EXPECT_EQ(result.attempts, 1);
    EXPECT_EQ(result.http_status, 200);
    EXPECT_EQ(result.upstream_host, "cvm.example:443");
    EXPECT_EQ(result.action, "DescribeZones");
    // Only the first sent it; the others joined.
    EXPECT_EQ(result.coalesced, i > 0) << i;
  }
  stats = coalescer_.stats();
  EXPECT_EQ(stats.groups, 0u);
  EXPECT_EQ(stats.members, 0u);
  // After the end an Abort changes nothing.
  calls_[1]->Abort(Ended(absl::StatusCode::kCancelled, "CANCELLED"));
  EXPECT_EQ(seen_[1].runs.load(), 1);
  EXPECT_EQ(sender_.cancelled(), 0);

  // The request is no longer in flight: the next identical call sends.
  Join(Call());
  EXPECT_EQ(sender_.sent(), 2);
}

TEST_F(CoalescerTest, CallsThatDifferDoNotShare) {
  using Change = std::function<void(CallAttempts::Setup&)>;
  const std::vector<Change> kinds = {
      [](CallAttempts::Setup&) {},
      [](CallAttempts::Setup& s) { s.api.body = R"({"ZoneIds":[1]})"; },
      [](CallAttempts::Setup& s) { s.api.region = "ap-beijing"; },
      [](CallAttempts::Setup& s) { s.api.language = "en-US"; },
      [](CallAttempts::Setup& s) { s.api.version = "2017-03-13"; },
      [](CallAttempts::Setup& s) { s.api.endpoint = "https://cvm.example"; },
      // The same request through JsonApi: its answer has another form.
      [this](CallAttempts::Setup& s) { s.route = json_api_; },
  };
  for (int round = 1; round <= 2; ++round) {
    for (const Change& change : kinds) {
      CallAttempts::Setup setup = Call();
      change(setup);
      Join(std::move(setup));
    }
    // The second round: each call joins its own kind.
    EXPECT_EQ(sender_.sent(), static_cast<int>(kinds.size()));
    EXPECT_EQ(coalescer_.stats().saved_requests, (round - 1) * kinds.size());
    EXPECT_EQ(coalescer_.stats().groups, kinds.size());
  }
  for (size_t i = 0; i < kinds.size(); ++i) {
    ASSERT_TRUE(sender_.AnswerOldest(Zones(absl::StrCat("req-", i))));
    EXPECT_EQ(ResultOf(i).request_id, absl::StrCat("req-", i));
    EXPECT_EQ(ResultOf(i + kinds.size()).request_id, absl::StrCat("req-", i));
  }
}

TEST_F(CoalescerTest, AMemberThatLeavesEndsAloneAndTheOthersKeepTheRequest) {
  for (int i = 0; i < 3; ++i) Join(Call());
  calls_[1]->Abort(
      Ended(absl::StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED"));
  {
    const GrpcResult& left = ResultOf(1);
    EXPECT_EQ(left.code, absl::StatusCode::kDeadlineExceeded);
    EXPECT_EQ(left.reason, "DEADLINE_EXCEEDED");
    EXPECT_EQ(left.service, "cvm");
    EXPECT_EQ(left.action, "DescribeZones");
    EXPECT_EQ(left.region, "ap-guangzhou");
    EXPECT_TRUE(left.coalesced);
    EXPECT_TRUE(left.request_id.empty());
  }
  EXPECT_EQ(sender_.cancelled(), 0);
  EXPECT_EQ(seen_[0].runs.load(), 0);
  EXPECT_EQ(seen_[2].runs.load(), 0);
  EXPECT_EQ(coalescer_.stats().members, 2u);
  calls_[1]->Abort(Ended(absl::StatusCode::kCancelled, "CANCELLED"));

  // The first call leaving does not take the request with it either.
  calls_[0]->Abort(Ended(absl::StatusCode::kCancelled, "CANCELLED"));
  EXPECT_EQ(ResultOf(0).code, absl::StatusCode::kCancelled);
  EXPECT_FALSE(ResultOf(0).coalesced);
  EXPECT_EQ(sender_.cancelled(), 0);

  ASSERT_TRUE(sender_.AnswerOldest(Zones("req-shared")));
  EXPECT_EQ(ResultOf(2).code, absl::StatusCode::kOk);
  EXPECT_EQ(ResultOf(2).request_id, "req-shared");
  EXPECT_EQ(seen_[0].runs.load(), 1);
  EXPECT_EQ(seen_[1].runs.load(), 1);
  EXPECT_EQ(ResultOf(1).code, absl::StatusCode::kDeadlineExceeded);
}

TEST_F(CoalescerTest, WhenEveryMemberLeavesTheRequestIsAborted) {
  Join(Call());
  Join(Call());
  calls_[0]->Abort(Ended(absl::StatusCode::kCancelled, "CANCELLED"));
  EXPECT_EQ(sender_.cancelled(), 0);
  calls_[1]->Abort(
      Ended(absl::StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED"));
  EXPECT_EQ(sender_.cancelled(), 1);
  // The last one hears how far the request got.
  const GrpcResult& last = ResultOf(1);
  EXPECT_EQ(last.code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(last.attempts, 1);
  EXPECT_TRUE(last.coalesced);
  EXPECT_EQ(ResultOf(0).code, absl::StatusCode::kCancelled);
  EXPECT_EQ(coalescer_.stats().groups, 0u);
  EXPECT_EQ(coalescer_.stats().members, 0u);

  // Nothing is left to join: the next call sends anew.
  Join(Call());
  EXPECT_EQ(sender_.sent(), 2);
}

TEST_F(CoalescerTest, DeadlinesDecideWhoJoins) {
  Join(Call(absl::Seconds(10)));
  // Shorter: joins (its own front ends it in time).
  Join(Call(absl::Seconds(1)));
  // Later by less than the slack (1 s): joins.
  Join(Call(absl::Seconds(10) + absl::Milliseconds(500)));
  EXPECT_EQ(sender_.sent(), 1);
  // Later by more: sends its own, and takes the first one's place.
  Join(Call(absl::Seconds(20)));
  EXPECT_EQ(sender_.sent(), 2);
  Join(Call(absl::Seconds(20)));
  EXPECT_EQ(sender_.sent(), 2);
  EXPECT_EQ(coalescer_.stats().saved_requests, 3u);
  EXPECT_EQ(coalescer_.stats().groups, 2u);

  ASSERT_TRUE(sender_.Answer(1, Zones("req-first")));
  for (size_t i : {0u, 1u, 2u}) EXPECT_EQ(ResultOf(i).request_id, "req-first");
  EXPECT_EQ(seen_[3].runs.load(), 0);
  EXPECT_EQ(seen_[4].runs.load(), 0);
  // The first request's end leaves the second one's place in the table.
  Join(Call(absl::Seconds(20)));
  EXPECT_EQ(sender_.sent(), 2);
  ASSERT_TRUE(sender_.Answer(2, Zones("req-second")));
  for (size_t i : {3u, 4u, 5u}) {
    EXPECT_EQ(ResultOf(i).request_id, "req-second");
  }
}

TEST_F(CoalescerTest, BoundsAreKept) {
  Coalescer small({.actions = {"Describe*"}, .max_members = 2, .max_groups = 1},
                  &policy_);
  Join(small, Call());
  Join(small, Call());
  EXPECT_EQ(sender_.sent(), 1);
  // The group is full: the third sends, and later calls join it.
  Join(small, Call());
  EXPECT_EQ(sender_.sent(), 2);
  Join(small, Call());
  EXPECT_EQ(sender_.sent(), 2);
  // The table is full: another kind goes alone, and nobody joins it.
  for (int i = 0; i < 2; ++i) {
    auto other = Call();
    other.api.region = "ap-beijing";
    Join(small, std::move(other));
  }
  EXPECT_EQ(sender_.sent(), 4);
  EXPECT_EQ(small.stats().groups, 2u);  // the one alone is none
  EXPECT_EQ(small.stats().saved_requests, 2u);
  while (sender_.AnswerOldest(Zones("req"))) {
  }
  for (size_t i = 0; i < seen_.size(); ++i) {
    EXPECT_EQ(ResultOf(i).code, absl::StatusCode::kOk) << i;
  }
  EXPECT_EQ(small.stats().groups, 0u);
}

TEST_F(CoalescerTest, AnEndBeforeStartReturnsReachesTheFirstCall) {
  sender_.FailAtOnce(true);
  Join(Call());
  const GrpcResult& result = ResultOf(0);
  EXPECT_EQ(result.code, absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(result.coalesced);
  EXPECT_EQ(coalescer_.stats().groups, 0u);
  EXPECT_EQ(coalescer_.stats().members, 0u);
  calls_[0]->Abort(Ended(absl::StatusCode::kCancelled, "CANCELLED"));
  EXPECT_EQ(seen_[0].runs.load(), 1);
  sender_.FailAtOnce(false);
  Join(Call());
  EXPECT_EQ(sender_.sent(), 1);
}

TEST_F(CoalescerTest, CoversOnlyListedIdempotentReads) {
  RetryOptions options;
  options.non_idempotent_actions = {"DescribeOdd"};
  RetryPolicy policy(options);
  Coalescer coalescer(
      {.actions = {"Describe*", "RunInstances", "vpc:GetThing"}}, &policy);
  ApiCall api;
  api.service = "cvm";
  api.action = "DescribeZones";
  EXPECT_TRUE(coalescer.Covers(api, false));
  // A ClientToken marks a write, whatever the action's name.
  EXPECT_FALSE(coalescer.Covers(api, true));
  api.action = "RunInstances";  // listed, but not idempotent
  EXPECT_FALSE(coalescer.Covers(api, false));
  api.action = "DescribeOdd";  // declared not idempotent
  EXPECT_FALSE(coalescer.Covers(api, false));
  api.action = "GetThing";  // listed for vpc only
  EXPECT_FALSE(coalescer.Covers(api, false));
  api.service = "vpc";
  EXPECT_TRUE(coalescer.Covers(api, false));
  api.action = "ListThings";  // idempotent, not listed
  EXPECT_FALSE(coalescer.Covers(api, false));

  Coalescer none({}, &policy);
  api.action = "DescribeZones";
  EXPECT_FALSE(none.Covers(api, false));
}

// Calls join and leave on several threads while another answers: every
// call ends exactly once, and the table empties.
TEST_F(CoalescerTest, ConcurrentJoinsLeavesAndAnswersEndEachCallOnce) {
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 300;
  std::vector<std::deque<Seen>> seen(kThreads);
  std::atomic<bool> callers_done{false};
  std::thread answerer([&] {
    while (!callers_done.load()) {
      if (!sender_.AnswerOldest(Zones("req"))) std::this_thread::yield();
    }
  });
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      std::mt19937 random(t);
      std::vector<std::shared_ptr<DispatchedCall>> mine;
      for (int i = 0; i < kCallsPerThread; ++i) {
        CallAttempts::Setup setup = Call();
        setup.api.body = absl::StrCat(R"({"Limit":)", random() % 3, "}");
        Seen& s = seen[t].emplace_back();
        setup.done = [&s](GrpcResult result) {
          s.result = std::move(result);
          s.runs.fetch_add(1);
        };
        mine.push_back(coalescer_.Start(std::move(setup)));
        // Some leave at once, some a little later.
        if (random() % 3 == 0) {
          mine.back()->Abort(Ended(absl::StatusCode::kCancelled, "CANCELLED"));
        }
        if (i >= 5 && random() % 4 == 0) {
          mine[i - 5]->Abort(Ended(absl::StatusCode::kCancelled, "CANCELLED"));
        }
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  callers_done.store(true);
  answerer.join();
  while (sender_.AnswerOldest(Zones("req"))) {
  }
  for (int t = 0; t < kThreads; ++t) {
    for (const Seen& s : seen[t]) ASSERT_EQ(s.runs.load(), 1);
  }
  const CoalescerStats stats = coalescer_.stats();
  EXPECT_EQ(stats.groups, 0u);
  EXPECT_EQ(stats.members, 0u);
  EXPECT_GT(stats.saved_requests, 0u);
  EXPECT_EQ(sender_.sent() + static_cast<int>(stats.saved_requests),
            kThreads * kCallsPerThread);
}

}  // namespace
}  // namespace envelope
