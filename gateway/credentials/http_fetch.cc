#include "gateway/credentials/http_fetch.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace envelope::credentials_internal {
namespace {

constexpr size_t kMaxBody = 1 << 20;

struct Transfer {
  std::string body;
  bool too_big = false;
  const std::atomic<bool>* cancel = nullptr;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (transfer->body.size() + n > kMaxBody) {
    transfer->too_big = true;
    return 0;  // makes libcurl abort the transfer
  }
  transfer->body.append(data, n);
  return n;
}

// libcurl calls this at least once a second, also while connecting: the
// hook that lets a destructor stop a transfer to an unresponsive host.
int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->cancel->load() ? 1 : 0;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void SetOptions(CURL* e, const HttpRequest& request, curl_slist* headers,
                Transfer* transfer, char* error) {
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, transfer);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, Progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, transfer);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(
      e, CURLOPT_TIMEOUT_MS,
      std::max<long>(1, absl::ToInt64Milliseconds(request.timeout)));
  if (!request.use_proxy) curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  if (request.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
}

}  // namespace

absl::StatusOr<HttpResponse> HttpFetch(const HttpRequest& request,
                                       const std::atomic<bool>& cancel) {
  GlobalInitOnce();
  CURL* e = curl_easy_init();
  if (e == nullptr) return absl::InternalError("curl_easy_init failed");
  curl_slist* headers = nullptr;
  for (const std::string& header : request.headers) {
    headers = curl_slist_append(headers, header.c_str());
  }
  headers = curl_slist_append(headers, "Expect:");
  Transfer transfer;
  transfer.cancel = &cancel;
  char error[CURL_ERROR_SIZE] = "";
  SetOptions(e, request, headers, &transfer, error);
  CURLcode code = curl_easy_perform(e);
  HttpResponse response;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_cleanup(e);
  curl_slist_free_all(headers);
  if (cancel.load()) return absl::CancelledError("shutting down");
  std::string what = absl::StrCat(request.method, " ", request.url, ": ");
  if (transfer.too_big) {
    return absl::UnavailableError(absl::StrCat(what, "answer over 1 MiB"));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(
        what, error[0] != '\0' ? error : curl_easy_strerror(code)));
  }
  response.body = std::move(transfer.body);
  return response;
}

}  // namespace envelope::credentials_internal
