#include "gateway/route/work_queue.h"

namespace envelope {

WorkQueue::WorkQueue(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkQueue::~WorkQueue() { Shutdown(); }

void WorkQueue::Post(absl::AnyInvocable<void() &&> task) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ || !threads_.empty()) {
      tasks_.push_back(std::move(task));
      return;
    }
  }
  std::move(task)();
}

void WorkQueue::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  std::deque<absl::AnyInvocable<void() &&>> left;
  {
    absl::MutexLock lock(&mu_);
    threads_.clear();
    left.swap(tasks_);
  }
  for (auto& task : left) std::move(task)();
}

void WorkQueue::Run() {
  while (true) {
    absl::AnyInvocable<void() &&> task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !tasks_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (tasks_.empty()) return;  // stopping and nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    std::move(task)();
  }
}

}  // namespace envelope
