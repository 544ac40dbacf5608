// The retry state machine of one call (gateway/route/call_attempts.h),
// without processes: a stand-in UpstreamSender records each attempt and
// each timer, and the test answers them. The real sender (Upstream over
// libcurl) is tested in tests/integration/upstream_test.cc.
#include "gateway/route/call_attempts.h"

#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/route/bundled_descriptors.h"
#include "gateway/route/router.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

// Attempts and timers wait until the test answers or fires them.
class StandInSender : public UpstreamSender {
 public:
  HttpClient::TransferId Send(const ApiCall& call,
                              HttpClient::Callback done) override {
    const HttpClient::TransferId id = ++last_id_;
    in_flight_[id] = std::move(done);
    bodies_.push_back(call.body);
    return id;
  }
  void Cancel(HttpClient::TransferId id) override {
    cancelled_.push_back(id);
    HttpResponse response;
    response.transport = absl::CancelledError("the call was cancelled");
    Answer(id, std::move(response));
  }
  void RunAfter(absl::Duration delay,
                absl::AnyInvocable<void() &&> task) override {
    delays_.push_back(delay);
    timers_.push_back(std::move(task));
  }

  // Answers transfer `id` (once).
  void Answer(HttpClient::TransferId id, HttpResponse response) {
    auto it = in_flight_.find(id);
    if (it == in_flight_.end()) return;
    HttpClient::Callback done = std::move(it->second);
    in_flight_.erase(it);
    std::move(done)(std::move(response));
  }
  void AnswerLast(HttpResponse response) {
    Answer(last_id_, std::move(response));
  }
  // Runs the timers set so far.
  void FireTimers() {
    std::vector<absl::AnyInvocable<void() &&>> due;
    due.swap(timers_);
    for (auto& task : due) std::move(task)();
  }

  int sent() const { return static_cast<int>(bodies_.size()); }
  size_t in_flight() const { return in_flight_.size(); }
  const std::vector<absl::Duration>& delays() const { return delays_; }
  const std::vector<HttpClient::TransferId>& cancelled() const {
    return cancelled_;
  }

 private:
  HttpClient::TransferId last_id_ = 0;
  std::map<HttpClient::TransferId, HttpClient::Callback> in_flight_;
  std::vector<std::string> bodies_;
  std::vector<absl::Duration> delays_;
  std::vector<absl::AnyInvocable<void() &&>> timers_;
  std::vector<HttpClient::TransferId> cancelled_;
};

HttpResponse EnvelopeAnswer(long status, const std::string& response_members) {
  HttpResponse response;
  response.status = status;
  response.request_sent = true;
  response.body = absl::StrCat(R"({"Response":{)", response_members,
                               R"(,"RequestId":"req-1"}})");
  return response;
}

HttpResponse Ok() { return EnvelopeAnswer(200, R"("TotalCount":2)"); }

HttpResponse RateLimited() {
  return EnvelopeAnswer(
      200, R"("Error":{"Code":"RequestLimitExceeded","Message":"slow down"})");
}

HttpResponse Unreachable(bool request_sent) {
  HttpResponse response;
  response.transport = absl::UnavailableError("upstream unreachable");
  response.fault = TransportFault::kUnreachable;
  response.request_sent = request_sent;
  return response;
}

// What the front passes when the caller's deadline ends a call.
CallStatus DeadlinePassed() {
  CallStatus status;
  status.code = absl::StatusCode::kDeadlineExceeded;
  status.message = "the call's deadline passed before the upstream answered";
  status.reason = gateway_reason::kDeadlineExceeded;
  return status;
}

class CallAttemptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto router = Router::Create({{"bundled", "", &BundledFiles()}});
    ASSERT_TRUE(router.ok()) << router.status();
    router_ = *std::move(router);
    route_ = router_->Find(
        "/tencentcloud.cvm.v20170312.Cvm/DescribeInstancesStatus");
    ASSERT_NE(route_, nullptr);
  }

  // Starts a call whose attempts the stand-in holds.
  std::shared_ptr<CallAttempts> Start(
      bool may_send_twice = true,
      absl::Duration time_left = absl::Seconds(30)) {
    CallAttempts::Setup setup;
    setup.route = route_;
    setup.api.service = "cvm";
    setup.api.version = "2017-03-12";
    setup.api.action = "DescribeInstancesStatus";
    setup.api.region = "ap-guangzhou";
    setup.api.body = "{}";
    setup.api.deadline = absl::Now() + time_left;
    setup.context = {.service = "cvm", .action = "DescribeInstancesStatus"};
    setup.table = &table_;
    setup.policy = &policy_;
    setup.upstream = &sender_;
    setup.gates = &gates_;
    setup.may_send_twice = may_send_twice;
    setup.done = [this](GrpcResult result) {
      ++ended_;
      result_ = std::move(result);
    };
    return CallAttempts::Start(std::move(setup));
  }

  std::unique_ptr<Router> router_;
  const MethodRoute* route_ = nullptr;
  StatusTable table_ = StatusTable::Default();
  RetryPolicy policy_{RetryOptions{}};
  StandInSender sender_;
  std::vector<AttemptGate*> gates_;
  int ended_ = 0;
  std::optional<GrpcResult> result_;
};

// A gate that answers each Admit with the next scripted verdict (or holds it
// when none is scripted), and records what it is told.
class ScriptedGate : public AttemptGate {
 public:
  void Admit(ApiCall& call, Verdict done) override {
    ++admitted_;
    if (script_.empty()) {
      held_ = std::move(done);
      return;
    }
    GateVerdict verdict = std::move(script_.front());
    script_.erase(script_.begin());
    std::move(done)(std::move(verdict));
  }
  void OnAnswer(const ApiCall& call, const AttemptAnswer& answer) override {
    answers_.push_back(answer);
  }

  std::vector<GateVerdict> script_;
  std::optional<Verdict> held_;
  int admitted_ = 0;
  std::vector<AttemptAnswer> answers_;
};

GateVerdict Refusal() {
  GateVerdict verdict;
  verdict.refusal.code = absl::StatusCode::kResourceExhausted;
  verdict.refusal.reason = gateway_reason::kLocalRateLimit;
  verdict.refusal.message = "paced";
  verdict.retry_after = absl::Seconds(3);
  return verdict;
}

TEST_F(CallAttemptsTest,
       EveryAttemptPassesTheGatesInOrderAndTheyHearTheAnswer) {
  ScriptedGate first, second;
  first.script_ = {GateVerdict::Go(), GateVerdict::Go()};
  second.script_ = {GateVerdict::Go(absl::Milliseconds(250)),
                    GateVerdict::Go()};
  gates_ = {&first, &second};
  Start();
  // The second gate asked to wait: nothing is sent before its timer.
  EXPECT_EQ(first.admitted_, 1);
  EXPECT_EQ(second.admitted_, 1);
  ASSERT_EQ(sender_.delays().size(), 1u);
  EXPECT_EQ(sender_.delays()[0], absl::Milliseconds(250));
  EXPECT_EQ(sender_.sent(), 0);
  sender_.FireTimers();
  EXPECT_EQ(sender_.sent(), 1);
  // A rate-limited answer is retried: the retry passes both gates again.
  sender_.AnswerLast(RateLimited());
  ASSERT_EQ(first.answers_.size(), 1u);
  EXPECT_TRUE(first.answers_[0].rate_limited);
  EXPECT_EQ(first.answers_[0].fault, AttemptFault::kRateLimited);
  EXPECT_EQ(first.answers_[0].http_status, 200);
  ASSERT_EQ(second.answers_.size(), 1u);
  sender_.FireTimers();  // the rate-limit backoff
  EXPECT_EQ(first.admitted_, 2);
  EXPECT_EQ(second.admitted_, 2);
  EXPECT_EQ(sender_.sent(), 2);
  sender_.AnswerLast(Ok());
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->code, absl::StatusCode::kOk);
  EXPECT_EQ(result_->attempts, 2);
  ASSERT_EQ(first.answers_.size(), 2u);
  EXPECT_FALSE(first.answers_[1].rate_limited);
}

TEST_F(CallAttemptsTest, AGatesRefusalEndsTheCallWithoutSending) {
  ScriptedGate gate;
  gate.script_ = {Refusal()};
  gates_ = {&gate};
  Start();
  EXPECT_EQ(sender_.sent(), 0);
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result_->reason, gateway_reason::kLocalRateLimit);
  EXPECT_EQ(result_->attempts, 0);
  EXPECT_EQ(result_->retry_after, absl::Seconds(3));
  EXPECT_EQ(result_->action, "DescribeInstancesStatus");
  EXPECT_TRUE(gate.answers_.empty());
}

TEST_F(CallAttemptsTest, AnAbortWhileAGateDecidesSendsNothingAfterIt) {
  ScriptedGate gate;  // holds its verdict
  gates_ = {&gate};
  auto call = Start();
  ASSERT_TRUE(gate.held_.has_value());
  call->Abort(DeadlinePassed());
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->code, absl::StatusCode::kDeadlineExceeded);
  std::move (*gate.held_)(GateVerdict::Go());  // the verdict comes late
  EXPECT_EQ(sender_.sent(), 0);
  EXPECT_EQ(ended_, 1);
}

TEST_F(CallAttemptsTest, AnAnswerEndsTheCallOnce) {
  auto call = Start();
  EXPECT_EQ(sender_.sent(), 1);
  EXPECT_EQ(ended_, 0);
  sender_.AnswerLast(Ok());
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->code, absl::StatusCode::kOk);
  EXPECT_EQ(result_->attempts, 1);
  EXPECT_EQ(result_->request_id, "req-1");
  EXPECT_FALSE(result_->payload.empty());
  call->Abort(DeadlinePassed());  // after the end: nothing more happens
  EXPECT_EQ(ended_, 1);
  EXPECT_TRUE(sender_.cancelled().empty());
}

TEST_F(CallAttemptsTest, UnsentRequestIsRetriedAfterABackoff) {
  auto call = Start(/*may_send_twice=*/false);
  sender_.AnswerLast(Unreachable(/*request_sent=*/false));
  EXPECT_EQ(ended_, 0);
  ASSERT_EQ(sender_.delays().size(), 1u);
  // Equal jitter on the first transport backoff (100 ms).
  EXPECT_GE(sender_.delays()[0], absl::Milliseconds(50));
  EXPECT_LE(sender_.delays()[0], absl::Milliseconds(100));
  EXPECT_EQ(sender_.sent(), 1);  // nothing sent before the timer fires
  sender_.FireTimers();
  EXPECT_EQ(sender_.sent(), 2);
  sender_.AnswerLast(Ok());
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->code, absl::StatusCode::kOk);
  EXPECT_EQ(result_->attempts, 2);
}

TEST_F(CallAttemptsTest, SentRequestIsRepeatedOnlyWhenItMayBe) {
  Start(/*may_send_twice=*/false);
  sender_.AnswerLast(Unreachable(/*request_sent=*/true));
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(result_->attempts, 1);
  EXPECT_TRUE(sender_.delays().empty());

  ended_ = 0;
  Start(/*may_send_twice=*/true);
  sender_.AnswerLast(Unreachable(/*request_sent=*/true));
  EXPECT_EQ(ended_, 0);
  EXPECT_EQ(sender_.delays().size(), 1u);
}

TEST_F(CallAttemptsTest, RateLimitedUntilTheLastAttemptCarriesRetryInfo) {
  Start(/*may_send_twice=*/false);  // refused for rate: any action retries
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_EQ(sender_.sent(), attempt);
    sender_.AnswerLast(RateLimited());
    if (attempt < 3) {
      EXPECT_EQ(ended_, 0);
      sender_.FireTimers();
    }
  }
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result_->error_code, "RequestLimitExceeded");
  EXPECT_EQ(result_->attempts, 3);
  // The two waits: 1 s then 2 s, each jittered to between half and all.
  ASSERT_EQ(sender_.delays().size(), 2u);
  EXPECT_GE(sender_.delays()[0], absl::Milliseconds(500));
  EXPECT_LE(sender_.delays()[1], absl::Seconds(2));
  // RetryInfo: the longest next wait, 1 s * 2^2.
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(result_->details));
  google::rpc::RetryInfo retry;
  bool found = false;
  for (const auto& detail : status.details()) found |= detail.UnpackTo(&retry);
  ASSERT_TRUE(found);
  EXPECT_EQ(retry.retry_delay().seconds(), 4);
}

TEST_F(CallAttemptsTest, NoRetryWhenTheDeadlineLeavesNoRoom) {
  Start(/*may_send_twice=*/true, /*time_left=*/absl::Milliseconds(60));
  sender_.AnswerLast(Unreachable(/*request_sent=*/false));
  ASSERT_EQ(ended_, 1);  // 50..100 ms of backoff + 20 ms do not fit in 60
  EXPECT_EQ(result_->code, absl::StatusCode::kUnavailable);
  EXPECT_TRUE(sender_.delays().empty());
}

TEST_F(CallAttemptsTest, AbortWhileWaitingEndsAtOnceAndSendsNothingMore) {
  auto call = Start();
  sender_.AnswerLast(Unreachable(/*request_sent=*/false));
  ASSERT_EQ(sender_.delays().size(), 1u);
  call->Abort(DeadlinePassed());
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->code, absl::StatusCode::kDeadlineExceeded);
  // However the call ends, it says how far it got (the access log's fields).
  EXPECT_EQ(result_->reason, gateway_reason::kDeadlineExceeded);
  EXPECT_EQ(result_->attempts, 1);
  EXPECT_EQ(result_->transport_retries, 1);
  EXPECT_EQ(result_->service, "cvm");
  EXPECT_EQ(result_->action, "DescribeInstancesStatus");
  EXPECT_EQ(result_->region, "ap-guangzhou");
  sender_.FireTimers();  // the wait ends after the call did
  EXPECT_EQ(sender_.sent(), 1);
  EXPECT_EQ(ended_, 1);
}

TEST_F(CallAttemptsTest, AbortDuringATransferEndsTheCallAndCancelsIt) {
  auto call = Start();
  call->Abort(DeadlinePassed());
  ASSERT_EQ(sender_.cancelled().size(), 1u);
  ASSERT_EQ(ended_, 1);  // the cancelled transfer's answer ends nothing more
  EXPECT_EQ(result_->code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result_->attempts, 1);
  EXPECT_EQ(sender_.in_flight(), 0u);
  EXPECT_TRUE(sender_.delays().empty());
}

TEST_F(CallAttemptsTest, LibcurlResendsCountAsAttempts) {
  Start();
  HttpResponse answer = Ok();
  answer.resends = 1;
  sender_.AnswerLast(std::move(answer));
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->attempts, 2);
}

TEST_F(CallAttemptsTest, RetriesAreCountedByReasonAndTheLastAnswerKept) {
  Start();
  sender_.AnswerLast(RateLimited());
  sender_.FireTimers();
  sender_.AnswerLast(Unreachable(/*request_sent=*/false));
  sender_.FireTimers();
  HttpResponse answer = Ok();
  answer.host = "cvm.example.test:8443";
  sender_.AnswerLast(std::move(answer));
  ASSERT_EQ(ended_, 1);
  EXPECT_EQ(result_->code, absl::StatusCode::kOk);
  EXPECT_EQ(result_->attempts, 3);
  EXPECT_EQ(result_->rate_limit_retries, 1);
  EXPECT_EQ(result_->transport_retries, 1);
  EXPECT_EQ(result_->http_status, 200);
  EXPECT_EQ(result_->upstream_host, "cvm.example.test:8443");
}

TEST_F(CallAttemptsTest, EachTransportFaultHasItsReason) {
  const std::pair<TransportFault, absl::string_view> cases[] = {
      {TransportFault::kUnreachable, gateway_reason::kUpstreamUnreachable},
      {TransportFault::kTlsFailure, gateway_reason::kUpstreamTlsFailure},
      {TransportFault::kTimeout, gateway_reason::kUpstreamTimeout},
      {TransportFault::kTooLarge, gateway_reason::kUpstreamResponseTooLarge},
      {TransportFault::kCancelled, gateway_reason::kCancelled},
      {TransportFault::kStopping, gateway_reason::kDraining},
      {TransportFault::kNoResources, gateway_reason::kOverloaded},
      {TransportFault::kNoCredentials, gateway_reason::kNoCredentials},
      {TransportFault::kNoRegion, gateway_reason::kRegionRequired},
  };
  for (const auto& [fault, reason] : cases) {
    HttpResponse response;
    response.transport = absl::InternalError("fault");  // never retried
    response.fault = fault;
    GrpcResult result =
        ResultFromAnswer(*route_, ErrorContext{}, table_, response);
    EXPECT_EQ(result.reason, reason) << static_cast<int>(fault);
  }
}

TEST(ClassifyAttemptTest, EachFaultByWhatTheAttemptGot) {
  GrpcResult none;
  EXPECT_EQ(ClassifyAttempt(Unreachable(false), none),
            AttemptFault::kBeforeSend);
  EXPECT_EQ(ClassifyAttempt(Unreachable(true), none), AttemptFault::kAfterSend);
  HttpResponse tls = Unreachable(false);
  tls.fault = TransportFault::kTlsFailure;
  EXPECT_EQ(ClassifyAttempt(tls, none), AttemptFault::kPermanent);
  HttpResponse timeout;
  timeout.transport = absl::DeadlineExceededError("too slow");
  EXPECT_EQ(ClassifyAttempt(timeout, none), AttemptFault::kPermanent);

  GrpcResult limited;
  limited.code = absl::StatusCode::kResourceExhausted;
  limited.error_code = "RequestLimitExceeded.UinLimitExceeded";
  EXPECT_EQ(ClassifyAttempt(Ok(), limited), AttemptFault::kRateLimited);
  GrpcResult busy;  // a 503 without an envelope
  busy.code = absl::StatusCode::kUnavailable;
  EXPECT_EQ(ClassifyAttempt(Ok(), busy), AttemptFault::kAfterSend);
  GrpcResult refused;  // an envelope's own error is an answer
  refused.code = absl::StatusCode::kUnavailable;
  refused.error_code = "ResourceUnavailable";
  EXPECT_EQ(ClassifyAttempt(Ok(), refused), AttemptFault::kNone);
}

}  // namespace
}  // namespace envelope
