// The admin endpoint's HTTP/1.1 reader (gateway/admin/http.h), which sees
// whatever any local process sends to /healthz, /readyz and /metrics.
//
// Input: the bytes received so far. They are read with the server's default
// head limit (8192) and with a small one (64), so short inputs reach the 414
// and 431 paths too. Properties:
//   - the server calls ParseRequestHead again after every read, so once a
//     prefix of the bytes decides (a request or an error), every longer
//     buffer decides the same;
//   - "need more" only within the limit;
//   - errors are 400, 414, 431 or 505; a request has a token method and a
//     path that starts with '/' and holds no query, fragment, space or
//     control character.
// The same bytes also make a response for SerializeResponse (status from the
// first two bytes, content type from the first line, body the rest): the
// head must be CRLF-delimited lines with no stray CR or LF, the status
// within 200..599, and Content-Length the body's.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/admin/http.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using envelope::admin_internal::RequestHead;

constexpr char kHarness[] = "admin_http_fuzzer";

bool Same(const RequestHead& a, const RequestHead& b) {
  return a.kind == b.kind && a.error_status == b.error_status &&
         a.method == b.method && a.path == b.path;
}

std::string Describe(const RequestHead& h) {
  return absl::StrCat("{kind ", static_cast<int>(h.kind), ", status ",
                      h.error_status, ", method \"", absl::CEscape(h.method),
                      "\", path \"", absl::CEscape(h.path), "\"}");
}

void CheckHead(absl::string_view buffer, size_t limit) {
  const RequestHead head =
      envelope::admin_internal::ParseRequestHead(buffer, limit);
  switch (head.kind) {
    case RequestHead::Kind::kNeedMore:
      FUZZ_CHECK(kHarness, buffer.size() <= limit,
                 absl::StrCat("needs more after ", buffer.size(),
                              " bytes, over the limit of ", limit));
      break;
    case RequestHead::Kind::kError:
      FUZZ_CHECK(kHarness,
                 head.error_status == 400 || head.error_status == 414 ||
                     head.error_status == 431 || head.error_status == 505,
                 absl::StrCat("error status ", head.error_status));
      break;
    case RequestHead::Kind::kRequest:
      FUZZ_CHECK(kHarness, !head.method.empty(), "a request without method");
      FUZZ_CHECK(kHarness, absl::StartsWith(head.path, "/"),
                 "path " + Describe(head));
      for (char c : head.path) {
        const unsigned char u = static_cast<unsigned char>(c);
        FUZZ_CHECK(kHarness, u > 0x20 && u != 0x7F && c != '?' && c != '#',
                   "path " + Describe(head));
      }
      break;
  }
  if (head.kind == RequestHead::Kind::kNeedMore) return;
  // The server's earlier calls saw the prefixes ending at each line break:
  // the first of them that decides must decide as the whole buffer does.
  // Found by bisection (a decided prefix stays decided, which the check
  // itself then covers); one parse per line would make long inputs slow.
  std::vector<size_t> ends;
  for (size_t nl = buffer.find('\n'); nl != absl::string_view::npos;
       nl = buffer.find('\n', nl + 1)) {
    ends.push_back(nl + 1);
  }
  auto decides = [&](size_t end) {
    return envelope::admin_internal::ParseRequestHead(buffer.substr(0, end),
                                                      limit)
               .kind != RequestHead::Kind::kNeedMore;
  };
  size_t lo = 0, hi = ends.size();  // first deciding index in [lo, hi]
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (decides(ends[mid])) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  if (lo < ends.size()) {
    const RequestHead earlier = envelope::admin_internal::ParseRequestHead(
        buffer.substr(0, ends[lo]), limit);
    FUZZ_CHECK(kHarness, Same(earlier, head),
               absl::StrCat("the first ", ends[lo], " bytes decided ",
                            Describe(earlier), ", all ", buffer.size(),
                            " decide ", Describe(head)));
  }
  // And the prefix just over the limit, where a head without line end stops.
  if (buffer.size() > limit + 1) {
    const RequestHead over = envelope::admin_internal::ParseRequestHead(
        buffer.substr(0, limit + 1), limit);
    FUZZ_CHECK(
        kHarness, over.kind == RequestHead::Kind::kNeedMore || Same(over, head),
        absl::StrCat("the first ", limit + 1, " bytes decided ", Describe(over),
                     ", all ", buffer.size(), " decide ", Describe(head)));
  }
}

void CheckResponse(absl::string_view input) {
  envelope::AdminResponse response;
  if (input.size() >= 2) {
    response.status = static_cast<int16_t>(
        static_cast<uint8_t>(input[0]) | (static_cast<uint8_t>(input[1]) << 8));
  }
  const size_t nl = input.find('\n');
  if (nl != absl::string_view::npos) {
    response.content_type = std::string(input.substr(0, nl));
    response.body = std::string(input.substr(nl + 1));
  }
  for (bool head_only : {false, true}) {
    const std::string out =
        envelope::admin_internal::SerializeResponse(response, head_only);
    const size_t end = out.find("\r\n\r\n");
    FUZZ_CHECK(kHarness, end != std::string::npos, "a response without head");
    const absl::string_view head = absl::string_view(out).substr(0, end + 2);
    FUZZ_CHECK(kHarness, absl::StartsWith(head, "HTTP/1.1 "),
               "status line: " + absl::CEscape(head));
    int status = 0;
    FUZZ_CHECK(kHarness,
               head.size() > 12 &&
                   absl::SimpleAtoi(head.substr(9, 3), &status) &&
                   status >= 200 && status <= 599 && head[12] == ' ',
               "status line: " + absl::CEscape(head));
    for (size_t i = 0; i < head.size(); ++i) {
      const bool line_end = head[i] == '\r' && head[i + 1] == '\n';
      FUZZ_CHECK(kHarness,
                 line_end || (head[i] != '\r' && head[i] != '\n') ||
                     (head[i] == '\n' && i > 0 && head[i - 1] == '\r'),
                 "a stray CR or LF in the head: " + absl::CEscape(head));
    }
    FUZZ_CHECK(
        kHarness,
        absl::StrContains(head, absl::StrCat("\r\nContent-Length: ",
                                             response.body.size(), "\r\n")),
        "Content-Length is not the body's: " + absl::CEscape(head));
    const absl::string_view body = absl::string_view(out).substr(end + 4);
    FUZZ_CHECK(kHarness, body == (head_only ? "" : response.body),
               "the body sent is not the response's");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  CheckHead(input, 8192);
  CheckHead(input, 64);
  CheckResponse(input);
  return 0;
}
