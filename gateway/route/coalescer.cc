#include "gateway/route/coalescer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/route/router.h"

namespace envelope {

// One shared request and the calls waiting on it. Guarded by the
// coalescer's lock, except what is set before the group is shared.
struct Coalescer::Group {
  std::string key;
  absl::Time deadline;
  // What a member that leaves early reports (docs/operations.md, "Logs").
  std::string service;
  std::string action;
  std::string region;
  // Waiting, in the order they came: the first started the request.
  std::vector<std::shared_ptr<Member>> members;
  std::shared_ptr<CallAttempts> attempts;  // set once started
  bool in_table = true;
  // The last member left: the request is being aborted, and its end goes
  // to that member.
  bool closing = false;
  bool finished = false;
};

// A call's share of a group, as its front holds it.
class Coalescer::Member : public DispatchedCall {
 public:
  Member(Coalescer* coalescer, std::shared_ptr<Group> group,
         Dispatcher::Done done, bool follower)
      : coalescer_(coalescer),
        group_(std::move(group)),
        done_(std::move(done)),
        follower_(follower) {}

  void Abort(CallStatus status) override {
    coalescer_->Leave(*this, std::move(status));
  }

 private:
  friend class Coalescer;

  Coalescer* const coalescer_;
  const std::shared_ptr<Group> group_;
  // Taken, under the coalescer's lock, by whoever sets `ended_`.
  Dispatcher::Done done_;
  const bool follower_;  // joined a request another call started
  const absl::Time joined_ = absl::Now();
  bool ended_ = false;  // guarded by the coalescer's lock
};

Coalescer::Coalescer(CoalescerOptions options, const RetryPolicy* policy)
    : options_(std::move(options)),
      actions_(options_.actions),
      policy_(policy) {}

bool Coalescer::Covers(const ApiCall& api, bool has_client_token) const {
  // An empty allow-list allows everything; an empty list here means none.
  // A ClientToken marks a write the API deduplicates, whatever its name.
  return !options_.actions.empty() && !has_client_token &&
         actions_.Allows(api.service, api.action) &&
         policy_->MaySendTwice(api.action, /*has_client_token=*/false);
}

std::string Coalescer::Key(const CallAttempts::Setup& setup) {
  const ApiCall& api = setup.api;
  // A typed method and JsonApi answer the same request in different forms.
  const std::string route = setup.route == nullptr || setup.route->untyped
                                ? std::string()
                                : setup.route->path;
  std::string key;
  key.reserve(api.body.size() + 128);
  // Each part length-prefixed: different calls never make the same key.
  for (absl::string_view part :
       {absl::string_view(route), absl::string_view(api.service),
        absl::string_view(api.version), absl::string_view(api.action),
        absl::string_view(api.region), absl::string_view(api.language),
        absl::string_view(api.endpoint), absl::string_view(api.body)}) {
    absl::StrAppend(&key, part.size(), ":", part, ";");
  }
  return key;
}

std::shared_ptr<DispatchedCall> Coalescer::Start(CallAttempts::Setup setup) {
  std::string key = Key(setup);
  const absl::Time deadline = setup.api.deadline;
  std::shared_ptr<Group> group;
  std::shared_ptr<Member> member;
  {
    absl::MutexLock lock(&mu_);
    auto found = table_.find(key);
    if (found != table_.end()) {
      Group& shared = *found->second;
      // A shorter deadline joins (its own front ends it); a longer one only
      // within the slack: the shared request ends by its first caller's.
      if (!shared.closing && shared.members.size() < options_.max_members &&
          deadline <= shared.deadline + options_.deadline_slack) {
        member =
            std::make_shared<Member>(this, found->second, std::move(setup.done),
                                     /*follower=*/true);
        shared.members.push_back(member);
        ++stats_.saved_requests;
        ++stats_.members;
        return member;
      }
    }
    if (found != table_.end() || table_.size() < options_.max_groups) {
      group = std::make_shared<Group>();
      group->key = std::move(key);
      group->deadline = deadline;
      group->service = setup.api.service;
      group->action = setup.api.action;
      group->region = setup.api.region;
      member = std::make_shared<Member>(this, group, std::move(setup.done),
                                        /*follower=*/false);
      group->members.push_back(member);
      // Later calls join the newer request: its deadline is the later one.
      if (found != table_.end()) {
        found->second->in_table = false;
        table_.erase(found);
      }
      table_.emplace(group->key, group);
      ++stats_.groups;
      ++stats_.members;
    }
  }
  // The table is full: this call goes alone.
  if (group == nullptr) return CallAttempts::Start(std::move(setup));
  setup.done = [this, group](GrpcResult result) {
    Finish(group, std::move(result));
  };
  // Its end may come before Start returns (a gate's refusal, a request that
  // cannot be built): Finish has run then.
  std::shared_ptr<CallAttempts> attempts =
      CallAttempts::Start(std::move(setup));
  {
    absl::MutexLock lock(&mu_);
    // The first member cannot have left: nobody holds it yet.
    if (!group->finished) group->attempts = std::move(attempts);
  }
  return member;
}

void Coalescer::Leave(Member& member, CallStatus status) {
  std::shared_ptr<CallAttempts> abort;
  Dispatcher::Done done;
  GrpcResult result;
  {
    absl::MutexLock lock(&mu_);
    Group& group = *member.group_;
    if (member.ended_ || group.closing) return;
    if (group.members.size() == 1 && group.attempts != nullptr) {
      // The last one: the request is aborted, and its end, which says how
      // far the request got (attempts, host), comes to this member.
      group.closing = true;
      if (group.in_table) {
        table_.erase(group.key);
        group.in_table = false;
      }
      abort = group.attempts;
    } else {
      member.ended_ = true;
      auto it =
          std::find_if(group.members.begin(), group.members.end(),
                       [&member](const auto& m) { return m.get() == &member; });
      if (it != group.members.end()) group.members.erase(it);
      --stats_.members;
      done = std::move(member.done_);
      result.service = group.service;
      result.action = group.action;
      result.region = group.region;
      result.coalesced = member.follower_;
      result.upstream_time = absl::Now() - member.joined_;
    }
  }
  if (abort != nullptr) {
    abort->Abort(std::move(status));
    return;
  }
  static_cast<CallStatus&>(result) = std::move(status);
  std::move(done)(std::move(result));
}

void Coalescer::Finish(const std::shared_ptr<Group>& group, GrpcResult result) {
  std::vector<std::shared_ptr<Member>> members;
  std::shared_ptr<CallAttempts> attempts;
  {
    absl::MutexLock lock(&mu_);
    group->finished = true;
    if (group->in_table) {
      table_.erase(group->key);
      group->in_table = false;
    }
    members.swap(group->members);
    for (const auto& member : members) member->ended_ = true;
    stats_.members -= members.size();
    --stats_.groups;
    attempts = std::move(group->attempts);  // released outside the lock
  }
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < members.size(); ++i) {
    Member& member = *members[i];
    GrpcResult copy =
        i + 1 == members.size() ? std::move(result) : GrpcResult(result);
    copy.coalesced = member.follower_;
    if (member.follower_) {
      // The attempts' spans belong to the first caller's trace.
      copy.attempt_log.clear();
      copy.upstream_time = std::min(copy.upstream_time, now - member.joined_);
    }
    Dispatcher::Done done = std::move(member.done_);
    std::move(done)(std::move(copy));
  }
}

CoalescerStats Coalescer::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace envelope
