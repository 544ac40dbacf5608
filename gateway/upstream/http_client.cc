#include "gateway/upstream/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace envelope {

HttpHeaders::HttpHeaders(HttpHeaders&& other) noexcept
    : head_(std::exchange(other.head_, nullptr)),
      tail_(std::exchange(other.tail_, nullptr)) {}

HttpHeaders& HttpHeaders::operator=(HttpHeaders&& other) noexcept {
  if (this != &other) {
    if (head_ != nullptr) curl_slist_free_all(head_);
    head_ = std::exchange(other.head_, nullptr);
    tail_ = std::exchange(other.tail_, nullptr);
  }
  return *this;
}

HttpHeaders::~HttpHeaders() {
  if (head_ != nullptr) curl_slist_free_all(head_);
}

void HttpHeaders::AddLine(absl::string_view line) {
  // curl_slist_append copies a C string: a short line is made one on the
  // stack rather than in a string of its own.
  char buffer[256];
  std::string long_line;
  const char* text = buffer;
  if (line.size() < sizeof buffer) {
    std::memcpy(buffer, line.data(), line.size());
    buffer[line.size()] = '\0';
  } else {
    long_line.assign(line.data(), line.size());
    text = long_line.c_str();
  }
  // Appended after the last node, so that no line walks the whole list.
  curl_slist* appended = curl_slist_append(tail_, text);
  if (appended == nullptr) return;  // out of memory: the line is left out
  if (head_ == nullptr) {
    head_ = tail_ = appended;
  } else {
    tail_ = tail_->next;
  }
}

void HttpHeaders::Add(absl::string_view name, absl::string_view value) {
  char buffer[256];
  const size_t size = name.size() + 2 + value.size();
  if (size > sizeof buffer) {
    AddLine(absl::StrCat(name, ": ", value));
    return;
  }
  std::memcpy(buffer, name.data(), name.size());
  buffer[name.size()] = ':';
  buffer[name.size() + 1] = ' ';
  std::memcpy(buffer + name.size() + 2, value.data(), value.size());
  AddLine(absl::string_view(buffer, size));
}

std::vector<std::string> HttpHeaders::Lines() const {
  std::vector<std::string> lines;
  for (const curl_slist* node = head_; node != nullptr; node = node->next) {
    lines.emplace_back(node->data);
  }
  return lines;
}

namespace {

// One request in flight; owned by the loop while curl holds it.
struct Transfer {
  HttpClient::TransferId id = 0;
  HttpRequest request;
  HttpClient::Callback done;
  HttpResponse response;
  CURL* easy = nullptr;  // the loop's, lent for the transfer
  int sends = 0;         // times libcurl was about to send the request
  bool over_limit = false;
  char error[CURL_ERROR_SIZE] = {0};
};

// The most reserved for a body before its bytes arrive.
constexpr size_t kMaxReservedBody = 4 << 20;

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer->response.body.size() + bytes >
      transfer->request.max_response_bytes) {
    transfer->over_limit = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  std::string& body = transfer->response.body;
  if (body.empty()) {
    // Room for the whole body at once, as the server announced it (bounded:
    // a claimed length costs nothing until bytes arrive), rather than
    // doubling and copying it as it comes.
    curl_off_t length = -1;
    curl_easy_getinfo(transfer->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                      &length);
    if (length > 0) {
      body.reserve(std::min<size_t>({static_cast<size_t>(length),
                                     transfer->request.max_response_bytes,
                                     kMaxReservedBody}));
    }
  }
  body.append(data, bytes);
  return bytes;
}

// libcurl calls this each time it is about to send the request on a
// connection: once, and once more for each re-send it makes by itself (a
// reused connection found dead before any answer byte, an HTTP/2 stream
// the server refused), so every call past the first is such a re-send.
// It costs one call per send, where reading libcurl's verbose text (the
// only other place it says so) costs formatting every line of it.
int CountSend(void* user, char*, char*, int, int) {
  ++static_cast<Transfer*>(user)->sends;
  return CURL_PREREQFUNC_OK;
}

void SetUpEasy(Transfer& t, const HttpClientOptions& options,
               curl_slist* connect_to) {
  // curl would add "Expect: 100-continue" to large bodies: one more round trip.
  t.request.headers.AddLine("Expect:");
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, t.request.url.c_str());
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.request.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(t.request.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.request.headers.list());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  // A 100 KB answer in two reads instead of seven (libcurl reads 16 KB at a
  // time by default): 6 % less CPU per such call (docs/performance.md). The
  // buffer is touched only as far as an answer fills it.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 64L << 10);
  if (t.request.fresh_connection) {
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  }
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, CountSend);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, &t);
  curl_easy_setopt(
      e, CURLOPT_TIMEOUT_MS,
      std::max<long>(1, absl::ToInt64Milliseconds(t.request.timeout)));
  curl_easy_setopt(e, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  if (!options.ca_file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_file.c_str());
  }
  if (!options.verify_peer) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (connect_to != nullptr) {
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, connect_to);
  }
  if (!options.proxy.empty()) {
    curl_easy_setopt(e, CURLOPT_PROXY, options.proxy.c_str());
  }
  if (!options.no_proxy.empty()) {
    curl_easy_setopt(e, CURLOPT_NOPROXY, options.no_proxy.c_str());
  }
  curl_easy_setopt(
      e, CURLOPT_HTTP_VERSION,
      options.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
  // Wait for a connection of the pool (or an h2 stream) rather than open a
  // new one per call.
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
}

bool IsTlsFailure(CURLcode code) {
  return code == CURLE_SSL_CONNECT_ERROR ||
         code == CURLE_PEER_FAILED_VERIFICATION ||
         code == CURLE_SSL_CERTPROBLEM || code == CURLE_SSL_CIPHER ||
         code == CURLE_SSL_CACERT_BADFILE || code == CURLE_SSL_ISSUER_ERROR ||
         code == CURLE_SSL_CRL_BADFILE ||
         code == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

TransportFault Fault(const Transfer& t, CURLcode code) {
  if (code == CURLE_OK) return TransportFault::kNone;
  if (t.over_limit) return TransportFault::kTooLarge;
  if (code == CURLE_OPERATION_TIMEDOUT) return TransportFault::kTimeout;
  if (IsTlsFailure(code)) return TransportFault::kTlsFailure;
  return TransportFault::kUnreachable;
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
  if (IsTlsFailure(code)) {
    return absl::UnavailableError(
        absl::StrCat("upstream TLS failure: ", detail));
  }
  return absl::UnavailableError(absl::StrCat(
      "upstream unreachable: ", curl_easy_strerror(code), " (", detail, ")"));
}

long ConnectionCacheSize(const HttpClientOptions& options) {
  if (options.connection_cache_size > 0) return options.connection_cache_size;
  if (options.max_connections_per_host <= 0) return 256;
  return 8 * options.max_connections_per_host;
}

}  // namespace

class HttpClient::Loop {
 public:
  explicit Loop(HttpClientOptions options) : options_(std::move(options)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                      options_.max_connections_per_host);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS,
                      ConnectionCacheSize(options_));
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    // The same for every transfer: built once, read by each.
    for (const std::string& entry : options_.connect_to) {
      curl_slist* list = curl_slist_append(connect_to_, entry.c_str());
      if (list != nullptr) connect_to_ = list;
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~Loop() {
    Stop();
    for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
    if (connect_to_ != nullptr) curl_slist_free_all(connect_to_);
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    if (thread_.joinable()) thread_.join();
  }

  TransferId Enqueue(std::unique_ptr<Transfer> transfer) {
    TransferId id = next_id_.fetch_add(1) + 1;
    transfer->id = id;
    bool wake = false;
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        // The loop takes every pending transfer after each wake-up, so only
        // the first of a batch needs one: a wake-up is already on its way
        // for the others (one system call fewer per call under load).
        wake = pending_.empty();
        pending_.push_back(std::move(transfer));
        transfer = nullptr;
      }
    }
    if (transfer != nullptr) {
      Fail(std::move(transfer), TransportFault::kStopping,
           absl::UnavailableError("gateway is stopping"));
      return id;
    }
    if (wake) curl_multi_wakeup(multi_);
    return id;
  }

  void Cancel(TransferId id) {
    {
      absl::MutexLock lock(&mu_);
      cancels_.push_back(id);
    }
    curl_multi_wakeup(multi_);
  }

  void RunAfter(absl::Duration delay, absl::AnyInvocable<void() &&> task) {
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        timers_.emplace(absl::Now() + delay, std::move(task));
        task = nullptr;
      }
    }
    if (task != nullptr) {
      std::move(task)();  // stopping: no timer will fire, run it now
      return;
    }
    curl_multi_wakeup(multi_);
  }

  Stats stats() const {
    return {connections_.load(std::memory_order_relaxed),
            requests_.load(std::memory_order_relaxed)};
  }

 private:
  static void Fail(std::unique_ptr<Transfer> t, TransportFault fault,
                   absl::Status status) {
    t->response.fault = fault;
    t->response.transport = std::move(status);
    std::move(t->done)(std::move(t->response));
  }

  // Takes queued work under the lock: new transfers, cancellations, due
  // timers. Returns false once stopping.
  bool TakeWork(std::vector<std::unique_ptr<Transfer>>& transfers,
                std::vector<TransferId>& cancels,
                std::vector<absl::AnyInvocable<void() &&>>& due,
                absl::Time* next_timer) {
    absl::MutexLock lock(&mu_);
    transfers.swap(pending_);
    cancels.swap(cancels_);
    absl::Time now = absl::Now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      due.push_back(std::move(timers_.begin()->second));
      timers_.erase(timers_.begin());
    }
    *next_timer =
        timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first;
    return !stopping_;
  }

  // One turn of the loop's bookkeeping; false once stopping.
  bool Step(absl::Time* next_timer) {
    // taken_ and pending_ trade buffers: neither allocates once grown.
    std::vector<std::unique_ptr<Transfer>>& transfers = taken_;
    std::vector<TransferId> cancels;
    std::vector<absl::AnyInvocable<void() &&>> due;
    bool running = TakeWork(transfers, cancels, due, next_timer);
    for (auto& t : transfers) {
      t->easy = TakeEasy();
      if (t->easy == nullptr) {
        Fail(std::move(t), TransportFault::kNoResources,
             absl::ResourceExhaustedError(
                 "could not set up an upstream transfer"));
        continue;
      }
      SetUpEasy(*t, options_, connect_to_);
      if (curl_multi_add_handle(multi_, t->easy) != CURLM_OK) {
        ReturnEasy(std::exchange(t->easy, nullptr));
        Fail(std::move(t), TransportFault::kNoResources,
             absl::ResourceExhaustedError(
                 "could not start an upstream transfer"));
        continue;
      }
      TransferId id = t->id;
      active_[id] = t.release();  // owned by active_ until it completes
    }
    transfers.clear();
    for (TransferId id : cancels) Abort(id);
    for (auto& task : due) std::move(task)();
    return running;
  }

  // An easy handle for a new transfer: one that an earlier transfer left,
  // reset, or a new one. Reuse spares a handle's set-up and teardown (and
  // its buffers' allocations) per call.
  CURL* TakeEasy() {
    if (idle_easy_.empty()) return curl_easy_init();
    CURL* easy = idle_easy_.back();
    idle_easy_.pop_back();
    return easy;
  }

  // Takes back the handle of a transfer that curl no longer holds. Reset at
  // once: it keeps none of the finished transfer's options or pointers
  // (connections stay in the multi handle's cache, not in the easy handle).
  void ReturnEasy(CURL* easy) {
    if (idle_easy_.size() >= kMaxIdleEasy) {
      curl_easy_cleanup(easy);
      return;
    }
    curl_easy_reset(easy);
    idle_easy_.push_back(easy);
  }

  // Removes a transfer's handle from curl and takes it back.
  void Release(Transfer& t) {
    curl_multi_remove_handle(multi_, t.easy);
    ReturnEasy(std::exchange(t.easy, nullptr));
  }

  void Abort(TransferId id) {
    auto it = active_.find(id);
    if (it == active_.end()) return;  // already done
    std::unique_ptr<Transfer> t(it->second);
    active_.erase(it);
    Release(*t);
    Fail(std::move(t), TransportFault::kCancelled,
         absl::CancelledError("the call was cancelled"));
  }

  void Complete(CURL* easy, CURLcode code) {
    Transfer* raw = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
    std::unique_ptr<Transfer> t(raw);
    active_.erase(raw->id);
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    connections_.fetch_add(connects, std::memory_order_relaxed);
    requests_.fetch_add(1, std::memory_order_relaxed);
    long header_bytes_sent = 0;
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &header_bytes_sent);
    t->response.request_sent = header_bytes_sent > 0;
    t->response.fault = Fault(*t, code);
    t->response.transport = TransportStatus(*t, code);
    if (code == CURLE_OK) {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t->response.status);
    } else {
      t->response.body.clear();
    }
    t->response.resends = std::max(0, t->sends - 1);
    Release(*t);
    std::move(t->done)(std::move(t->response));
  }

  void Run() {
    int running = 0;
    absl::Time next_timer = absl::InfiniteFuture();
    while (Step(&next_timer)) {
      // Removing a finished transfer can free the connection a queued one
      // waits for (more transfers than max_connections_per_host), and
      // libcurl (7.88) hands it over only in a later perform: without one
      // right away, the queued transfer waits for the poll's timeout.
      for (bool completed = true; completed;) {
        completed = false;
        curl_multi_perform(multi_, &running);
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
          if (msg->msg == CURLMSG_DONE) {
            Complete(msg->easy_handle, msg->data.result);
            completed = true;
          }
        }
      }
      int wait_ms = 1000;
      if (next_timer != absl::InfiniteFuture()) {
        wait_ms = static_cast<int>(std::clamp<int64_t>(
            absl::ToInt64Milliseconds(next_timer - absl::Now()) + 1, 0, 1000));
      }
      curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
    }
    CancelAll();
  }

  void CancelAll() {
    for (auto& [id, raw] : active_) {
      Release(*raw);
      Fail(std::unique_ptr<Transfer>(raw), TransportFault::kStopping,
           absl::UnavailableError("gateway is stopping"));
    }
    active_.clear();
    std::vector<std::unique_ptr<Transfer>> pending;
    std::multimap<absl::Time, absl::AnyInvocable<void() &&>> timers;
    {
      absl::MutexLock lock(&mu_);
      pending.swap(pending_);
      timers.swap(timers_);
    }
    for (auto& t : pending) {
      Fail(std::move(t), TransportFault::kStopping,
           absl::UnavailableError("gateway is stopping"));
    }
    // Timers hold calls waiting to retry: run them now so that each ends
    // (their new attempts fail at once: the loop is stopping).
    for (auto& [when, task] : timers) std::move(task)();
  }

  // Idle easy handles kept for reuse. Enough for the calls usually in
  // flight at once; past that a burst's extra handles are freed rather than
  // held (each keeps some tens of KB of buffers).
  static constexpr size_t kMaxIdleEasy = 64;

  const HttpClientOptions options_;
  CURLM* multi_ = nullptr;
  curl_slist* connect_to_ = nullptr;  // options_.connect_to, for curl
  std::atomic<TransferId> next_id_{0};
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> requests_{0};
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Transfer>> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<TransferId> cancels_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, absl::AnyInvocable<void() &&>> timers_
      ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Transfers curl holds, by id; touched only by the I/O thread.
  absl::flat_hash_map<TransferId, Transfer*> active_;
  // Reset easy handles waiting for a transfer; I/O thread only (and the
  // destructor, once the thread has ended).
  std::vector<CURL*> idle_easy_;
  // The transfers a turn of the loop took from pending_; I/O thread only.
  std::vector<std::unique_ptr<Transfer>> taken_;
  std::thread thread_;
};

HttpClient::HttpClient(HttpClientOptions options)
    : loop_(std::make_unique<Loop>(std::move(options))) {}
HttpClient::~HttpClient() = default;

absl::string_view UrlAuthority(absl::string_view url) {
  size_t start = url.find("://");
  start = start == absl::string_view::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(start,
                    end == absl::string_view::npos ? url.npos : end - start);
}

HttpClient::TransferId HttpClient::Send(HttpRequest request, Callback done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->response.host = std::string(UrlAuthority(request.url));
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  return loop_->Enqueue(std::move(transfer));
}

void HttpClient::Cancel(TransferId id) { loop_->Cancel(id); }

void HttpClient::Shutdown() { loop_->Stop(); }

void HttpClient::RunAfter(absl::Duration delay,
                          absl::AnyInvocable<void() &&> task) {
  loop_->RunAfter(delay, std::move(task));
}

HttpClient::Stats HttpClient::stats() const { return loop_->stats(); }

}  // namespace envelope
