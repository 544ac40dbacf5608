// Floor C of bench/e2e: the two legs joined, and nothing else. A callback
// generic gRPC server (as bare_server) that, for each call, posts a fixed
// JSON body over libcurl's multi interface on one I/O thread (as
// curl_client, kept-alive connections) and, when the HTTP answer has
// arrived, answers a fixed, pre-serialized response (the bytes the gateway
// answers for the same envelope). No routing, signing, envelope or
// transcoding: what the gateway costs above this is its own work; what this
// costs above A + B is the price of joining a gRPC thread and an I/O thread
// (docs/performance.md).
//
//   glue_server --listen=127.0.0.1:0 --response=FILE --url=URL --body=FILE
//               [--headers=FILE]
//
// Prints "glue_server listening on HOST:PORT" on stdout once serving; stops
// at SIGTERM or SIGINT. A failed HTTP exchange ends the call UNAVAILABLE.
// h2load counts a gRPC error as a success (HTTP 200, the status is in the
// trailers), so failures are counted here: the first few are printed on
// stderr as they happen, and at exit one line "glue_server: N calls OK,
// M failed", which bench/e2e/driver.py checks.
#include <curl/curl.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "e2e_common.h"

namespace {

// Calls answered OK and failed; the I/O thread and gRPC's threads count.
std::atomic<long> calls_ok{0};
std::atomic<long> calls_failed{0};

// Counts a failed call; prints the first few only, so that an upstream down
// does not turn into a flood of lines.
void Fail(const std::string& why) {
  if (calls_failed.fetch_add(1) < 5) {
    std::cerr << "glue_server: call failed: " + why + "\n" << std::flush;
  }
}

class Reactor;

// One libcurl multi handle on one thread; calls are handed over through a
// locked queue and curl_multi_wakeup, as the gateway's HttpClient does.
class IoLoop {
 public:
  IoLoop(std::string url, std::string body, curl_slist* headers)
      : url_(std::move(url)), body_(std::move(body)), headers_(headers) {
    multi_ = curl_multi_init();
    thread_ = std::thread([this] { Run(); });
  }
  ~IoLoop() {
    stopping_ = true;
    curl_multi_wakeup(multi_);
    thread_.join();
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }

  void Post(Reactor* call) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued_.push_back(call);
    }
    curl_multi_wakeup(multi_);
  }

 private:
  static size_t Discard(char*, size_t size, size_t count, void*) {
    return size * count;
  }

  CURL* Easy() {
    if (!idle_.empty()) {
      CURL* easy = idle_.back();
      idle_.pop_back();
      return easy;
    }
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body_.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body_.size()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, Discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    return easy;
  }

  void Run();

  const std::string url_, body_;
  curl_slist* const headers_;
  CURLM* multi_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<Reactor*> queued_;  // guarded by mu_
  std::vector<CURL*> idle_;       // the loop thread's only
  std::thread thread_;
};

class Reactor : public grpc::ServerGenericBidiReactor {
 public:
  Reactor(const grpc::ByteBuffer& response, IoLoop* loop)
      : response_(response), loop_(loop) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Fail("no request message");
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "no request message"));
      return;
    }
    loop_->Post(this);
  }

  // On the I/O thread, when the HTTP exchange has ended; ERROR is empty if
  // it succeeded.
  void Answer(const std::string& error) {
    if (!error.empty()) {
      Fail(error);
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "upstream failed"));
      return;
    }
    ++calls_ok;
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;  // a copy shares the slice: a reference count
  IoLoop* loop_;
};

void IoLoop::Run() {
  std::vector<Reactor*> taken;
  while (!stopping_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      taken.swap(queued_);
    }
    for (Reactor* call : taken) {
      CURL* easy = Easy();
      curl_easy_setopt(easy, CURLOPT_PRIVATE, call);
      curl_multi_add_handle(multi_, easy);
    }
    taken.clear();
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      Reactor* call = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &call);
      long code = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
      std::string error;
      if (message->data.result != CURLE_OK || code != 200) {
        error = std::string(curl_easy_strerror(message->data.result)) +
                ", HTTP " + std::to_string(code);
      }
      curl_multi_remove_handle(multi_, easy);
      idle_.push_back(easy);
      call->Answer(error);
    }
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
}

class Service : public grpc::CallbackGenericService {
 public:
  Service(const std::string& response, IoLoop* loop)
      : response_(e2e::SharedBuffer(response)), loop_(loop) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext*) override {
    return new Reactor(response_, loop_);
  }

 private:
  const grpc::ByteBuffer response_;
  IoLoop* loop_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", response_file, url, body_file,
              headers_file, response, body, headers_text;
  if (!e2e::ParseFlags(argc, argv,
                       {{"listen", &listen},
                        {"response", &response_file},
                        {"url", &url},
                        {"body", &body_file},
                        {"headers", &headers_file}})) {
    std::cerr << "usage: glue_server --listen=HOST:PORT --response=FILE "
                 "--url=URL --body=FILE [--headers=FILE]\n";
    return 2;
  }
  if (!e2e::ReadFile(response_file, &response) ||
      !e2e::ReadFile(body_file, &body) || url.empty() ||
      (!headers_file.empty() && !e2e::ReadFile(headers_file, &headers_text))) {
    std::cerr << "glue_server: needs --response, --body (readable) and --url\n";
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl_slist* headers = e2e::HeaderList(headers_text);

  // Before the I/O thread and gRPC's start.
  const sigset_t stop = e2e::BlockStopSignals();
  auto loop = std::make_unique<IoLoop>(url, body, headers);
  Service service(response, loop.get());
  const int status =
      e2e::ServeUntilStopped("glue_server", listen, &service, stop);
  loop.reset();
  curl_slist_free_all(headers);
  curl_global_cleanup();
  std::cerr << "glue_server: " << calls_ok << " calls OK, " << calls_failed
            << " failed\n";
  return status;
}
