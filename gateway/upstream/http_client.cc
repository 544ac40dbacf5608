#include "gateway/upstream/http_client.h"

#include <curl/curl.h>

#include <deque>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace envelope {
namespace {

// One request in flight; owned by the loop while curl holds it.
struct Transfer {
  HttpRequest request;
  HttpClient::Callback done;
  HttpResponse response;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  bool over_limit = false;
  char error[CURL_ERROR_SIZE] = {0};

  ~Transfer() {
    if (headers != nullptr) curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer->response.body.size() + bytes >
      transfer->request.max_response_bytes) {
    transfer->over_limit = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

void SetUpEasy(Transfer& t) {
  t.easy = curl_easy_init();
  for (const std::string& header : t.request.headers) {
    t.headers = curl_slist_append(t.headers, header.c_str());
  }
  // curl would add "Expect: 100-continue" to large bodies: one more round trip.
  t.headers = curl_slist_append(t.headers, "Expect:");
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, t.request.url.c_str());
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.request.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(t.request.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(
      e, CURLOPT_TIMEOUT_MS,
      std::max<long>(1, absl::ToInt64Milliseconds(t.request.timeout)));
}

absl::Status TransportStatus(const Transfer& t, CURLcode code) {
  if (code == CURLE_OK) return absl::OkStatus();
  if (t.over_limit) {
    return absl::InternalError(
        absl::StrCat("upstream response is over the size limit of ",
                     t.request.max_response_bytes, " bytes"));
  }
  std::string detail = t.error[0] != '\0' ? t.error : curl_easy_strerror(code);
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(
        absl::StrCat("upstream did not answer within ",
                     absl::FormatDuration(t.request.timeout), ": ", detail));
  }
  return absl::UnavailableError(absl::StrCat(
      "upstream unreachable: ", curl_easy_strerror(code), " (", detail, ")"));
}

}  // namespace

class HttpClient::Loop {
 public:
  Loop() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    thread_ = std::thread([this] { Run(); });
  }

  ~Loop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
    curl_multi_cleanup(multi_);
  }

  void Enqueue(std::unique_ptr<Transfer> transfer) {
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        pending_.push_back(std::move(transfer));
        transfer = nullptr;
      }
    }
    if (transfer != nullptr) {
      Fail(std::move(transfer), absl::UnavailableError("gateway is stopping"));
      return;
    }
    curl_multi_wakeup(multi_);
  }

 private:
  static void Fail(std::unique_ptr<Transfer> t, absl::Status status) {
    t->response.transport = std::move(status);
    std::move(t->done)(std::move(t->response));
  }

  // Moves queued requests into curl; returns false once stopping.
  bool TakePending() {
    std::deque<std::unique_ptr<Transfer>> pending;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      pending.swap(pending_);
      stopping = stopping_;
    }
    for (auto& t : pending) {
      SetUpEasy(*t);
      curl_multi_add_handle(multi_, t->easy);
      active_.insert(t.release());  // owned by active_ until it completes
    }
    return !stopping;
  }

  void Complete(CURL* easy, CURLcode code) {
    Transfer* raw = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
    std::unique_ptr<Transfer> t(raw);
    active_.erase(raw);
    curl_multi_remove_handle(multi_, easy);
    t->response.transport = TransportStatus(*t, code);
    if (code == CURLE_OK) {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t->response.status);
    } else {
      t->response.body.clear();
    }
    std::move(t->done)(std::move(t->response));
  }

  void Run() {
    int running = 0;
    while (TakePending()) {
      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg == CURLMSG_DONE)
          Complete(msg->easy_handle, msg->data.result);
      }
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    CancelAll();
  }

  void CancelAll() {
    for (Transfer* raw : active_) {
      curl_multi_remove_handle(multi_, raw->easy);
      Fail(std::unique_ptr<Transfer>(raw),
           absl::UnavailableError("gateway is stopping"));
    }
    active_.clear();
    absl::MutexLock lock(&mu_);
    for (auto& t : pending_) {
      Fail(std::move(t), absl::UnavailableError("gateway is stopping"));
    }
    pending_.clear();
  }

  CURLM* multi_ = nullptr;
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Transfer>> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Transfers curl holds; touched only by the I/O thread.
  absl::flat_hash_set<Transfer*> active_;
  std::thread thread_;
};

HttpClient::HttpClient() : loop_(std::make_unique<Loop>()) {}
HttpClient::~HttpClient() = default;

void HttpClient::Send(HttpRequest request, Callback done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  loop_->Enqueue(std::move(transfer));
}

}  // namespace envelope
