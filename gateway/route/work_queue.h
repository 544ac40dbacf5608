#ifndef GATEWAY_ROUTE_WORK_QUEUE_H_
#define GATEWAY_ROUTE_WORK_QUEUE_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace envelope {

// A few threads that run posted tasks in order of arrival. Upstream answers
// are parsed, transcoded and handed to gRPC here, so that the libcurl I/O
// thread only moves bytes (a large response or a slow stdout must not hold
// up every other transfer).
class WorkQueue {
 public:
  explicit WorkQueue(int threads);
  // Runs what is still queued, then joins (Shutdown()).
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // After Shutdown() a task runs at once on the caller's thread.
  void Post(absl::AnyInvocable<void() &&> task);

  // Runs every queued task (and any they post), then stops the threads.
  void Shutdown();

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace envelope

#endif  // GATEWAY_ROUTE_WORK_QUEUE_H_
