#include "gateway/admin/http.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace envelope::admin_internal {
namespace {

// RFC 9110 token characters.
bool IsTchar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::StrContains("!#$%&'*+-.^_`|~", c);
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTchar(c)) return false;
  }
  return true;
}

// Control characters other than tab end up here from bare CRs, NULs and the
// like: refuse them rather than guess.
bool HasControl(absl::string_view s) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return true;
  }
  return false;
}

RequestHead Error(int status) {
  RequestHead head;
  head.kind = RequestHead::Kind::kError;
  head.error_status = status;
  return head;
}

// The path of an origin-form ("/p?q") or absolute-form ("http://h/p?q")
// target; empty if it is neither.
std::string PathOf(absl::string_view target) {
  if (!absl::StartsWith(target, "/")) {
    absl::string_view rest = target;
    if (!absl::ConsumePrefix(&rest, "http://") &&
        !absl::ConsumePrefix(&rest, "https://")) {
      return "";
    }
    const size_t slash = rest.find_first_of("/?#");
    if (slash == absl::string_view::npos || rest[slash] != '/') return "/";
    target = rest.substr(slash);
  }
  return std::string(target.substr(0, target.find_first_of("?#")));
}

RequestHead ParseLines(const std::vector<absl::string_view>& lines) {
  const std::vector<absl::string_view> parts =
      absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (parts.size() != 3 || parts[1].empty() || HasControl(lines[0]) ||
      absl::StrContains(lines[0], '\t') || absl::StrContains(parts[2], ' ')) {
    return Error(400);
  }
  if (!IsToken(parts[0])) return Error(400);
  const absl::string_view version = parts[2];
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    const bool http_like = version.size() == 8 &&
                           absl::StartsWith(version, "HTTP/") &&
                           absl::ascii_isdigit(version[5]) &&
                           version[6] == '.' && absl::ascii_isdigit(version[7]);
    return Error(http_like ? 505 : 400);
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const absl::string_view line = lines[i];
    const size_t colon = line.find(':');
    // No obsolete line folding, no space before the colon (RFC 9112 §5).
    if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon)) ||
        HasControl(line)) {
      return Error(400);
    }
  }
  RequestHead head;
  head.path = PathOf(parts[1]);
  if (head.path.empty()) return Error(400);
  head.kind = RequestHead::Kind::kRequest;
  head.method = std::string(parts[0]);
  return head;
}

absl::string_view Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 414:
      return "URI Too Long";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

constexpr absl::string_view kDefaultContentType = "text/plain; charset=utf-8";

}  // namespace

RequestHead ParseRequestHead(absl::string_view buffer, size_t max_head_bytes) {
  // Empty lines before the request line are ignored (RFC 9112 §2.2); they
  // still count towards the limit, so a stream of them cannot grow forever.
  size_t pos = 0;
  while (pos < buffer.size() && (buffer[pos] == '\r' || buffer[pos] == '\n')) {
    ++pos;
  }
  std::vector<absl::string_view> lines;
  while (true) {
    const size_t nl = buffer.find('\n', pos);
    if (nl == absl::string_view::npos || nl + 1 > max_head_bytes) {
      if (buffer.size() <= max_head_bytes) return RequestHead();
      return Error(lines.empty() ? 414 : 431);
    }
    absl::string_view line = buffer.substr(pos, nl - pos);
    absl::ConsumeSuffix(&line, "\r");
    pos = nl + 1;
    if (line.empty()) break;
    lines.push_back(line);
  }
  return ParseLines(lines);
}

std::string SerializeResponse(const AdminResponse& response, bool head_only) {
  int status = response.status;
  if (status < 200 || status > 599) status = 500;
  absl::string_view content_type = response.content_type;
  if (content_type.empty() || HasControl(content_type)) {
    content_type = kDefaultContentType;
  }
  std::string out =
      absl::StrCat("HTTP/1.1 ", status, " ", Reason(status),
                   "\r\nContent-Type: ", content_type,
                   "\r\nContent-Length: ", response.body.size(),
                   "\r\nCache-Control: no-store\r\nConnection: close\r\n");
  if (status == 405) out += "Allow: GET, HEAD\r\n";
  out += "\r\n";
  if (!head_only) out += response.body;
  return out;
}

AdminResponse TextResponse(int status, absl::string_view body) {
  AdminResponse response;
  response.status = status;
  response.body = std::string(body);
  return response;
}

}  // namespace envelope::admin_internal
