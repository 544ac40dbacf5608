#ifndef GATEWAY_UPSTREAM_HTTP_CLIENT_H_
#define GATEWAY_UPSTREAM_HTTP_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct curl_slist;

namespace envelope {

// A request's headers, held as the list libcurl sends them from: each line
// is copied once, when added, and handed to the transfer as it is.
class HttpHeaders {
 public:
  HttpHeaders() = default;
  HttpHeaders(HttpHeaders&& other) noexcept;
  HttpHeaders& operator=(HttpHeaders&& other) noexcept;
  ~HttpHeaders();

  // Adds "name: value".
  void Add(absl::string_view name, absl::string_view value);
  // Adds a whole line ("Name: value", or "Name:" to suppress a header
  // libcurl would add).
  void AddLine(absl::string_view line);

  bool empty() const { return head_ == nullptr; }
  // Every line, in order (tests, diagnostics).
  std::vector<std::string> Lines() const;
  // For the transfer: the list, still owned by this object.
  curl_slist* list() const { return head_; }

 private:
  curl_slist* head_ = nullptr;
  curl_slist* tail_ = nullptr;  // where the next line goes: no walk per line
};

struct HttpRequest {
  std::string url;
  HttpHeaders headers;
  std::string body;  // sent with POST
  absl::Duration timeout = absl::Seconds(30);
  size_t max_response_bytes = 16 << 20;
  // Send on a new connection. libcurl re-sends, once and unasked, a request
  // whose reused keep-alive connection turns out dead before any answer
  // byte; on a new connection it never does. For requests that must not
  // arrive twice.
  bool fresh_connection = false;
};

// "https://host:port/path" -> "host:port".
absl::string_view UrlAuthority(absl::string_view url);

// What ended an exchange without an HTTP answer, for the reason its caller
// is given (docs/errors.md, "The gateway's own failures").
enum class TransportFault {
  kNone,           // an HTTP answer arrived
  kUnreachable,    // connection refused or reset, DNS, a short answer
  kTlsFailure,     // the TLS handshake failed: sending again won't help
  kTimeout,        // no answer within the call's time
  kTooLarge,       // the answer is over the size limit
  kCancelled,      // the call was cancelled
  kStopping,       // the gateway is stopping
  kNoResources,    // libcurl could not set the transfer up
  kNoCredentials,  // nothing to sign with (never sent)
  kNoRegion,       // the endpoint needs a region and none was given
};

struct HttpResponse {
  // OK when an HTTP answer arrived (whatever its status); otherwise the
  // transport fault as a gRPC status (docs/errors.md, "Status codes": no
  // envelope).
  absl::Status transport;
  // False when the fault came before any byte of the request left (no
  // connection, DNS, TLS handshake): such a request is safe to send again.
  bool request_sent = false;
  TransportFault fault = TransportFault::kNone;
  // The endpoint's host[:port] the request went to, when it was built.
  std::string host;
  // Times libcurl sent the request again by itself (a reused connection
  // found dead before any answer byte): each one is an upstream attempt.
  int resends = 0;
  long status = 0;
  std::string body;
};

// Transport settings shared by every request.
struct HttpClientOptions {
  // CA bundle (PEM) to verify servers with; empty: the system's.
  std::string ca_file;
  // Verification can only be turned off explicitly (tests, never defaults).
  bool verify_peer = true;
  // curl's CONNECT_TO entries "HOST:PORT:CONNECT-HOST:CONNECT-PORT": connect
  // elsewhere while the URL's host stays the SNI, Host and certificate name.
  std::vector<std::string> connect_to;
  // Proxy URL; empty: the environment (HTTPS_PROXY, https_proxy, NO_PROXY...).
  std::string proxy;
  // Hosts never proxied, comma-separated ("*" = all); empty: the environment.
  std::string no_proxy;
  // Cap of simultaneous connections to one host; more calls wait their turn.
  long max_connections_per_host = 32;
  // Offer HTTP/2 through ALPN on TLS connections.
  bool http2 = true;
  // Connections libcurl keeps open at once, over all hosts (its connection
  // cache). Left to itself, libcurl sizes that cache to 4 per transfer
  // running at the moment, so each time the load dips it closes pooled
  // connections, and the next burst opens them again (measured: 0.05 to
  // 0.15 new connections per call). A fixed size large enough for every
  // host's share keeps them, as a plain client would. 0: room for 8 hosts,
  // 8 * max_connections_per_host (256 when that is unlimited): the gateway
  // calls a handful of services, each its own host.
  long connection_cache_size = 0;
};

// Asynchronous HTTP over libcurl's multi interface, driven by one I/O thread:
// no thread per call, connections kept alive and reused across calls.
class HttpClient {
 public:
  using Callback = absl::AnyInvocable<void(HttpResponse) &&>;
  using TransferId = uint64_t;

  explicit HttpClient(HttpClientOptions options = {});
  // Stops the I/O thread (Shutdown()).
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a POST. `done` runs exactly once, on the I/O thread: keep it short.
  TransferId Send(HttpRequest request, Callback done);

  // Aborts a transfer still running; its callback then gets CANCELLED.
  void Cancel(TransferId id);

  // Runs `task` on the I/O thread after `delay` (for retry backoff), or at
  // shutdown, whichever comes first.
  void RunAfter(absl::Duration delay, absl::AnyInvocable<void() &&> task);

  // Stops the I/O thread: transfers still running end with UNAVAILABLE, and
  // from then on Send fails at once and RunAfter runs its task at once.
  // Idempotent.
  void Shutdown();

  // TLS handshakes and new connections so far (for connection-reuse metrics).
  struct Stats {
    int64_t connections = 0;
    int64_t requests = 0;
  };
  Stats stats() const;

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace envelope

#endif  // GATEWAY_UPSTREAM_HTTP_CLIENT_H_
