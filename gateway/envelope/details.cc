#include "gateway/envelope/details.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/envelope/reason.h"
#include "google/rpc/error_details.pb.h"

namespace envelope {
namespace {

constexpr absl::string_view kDefaultLocale = "en-US";

// True when `code` is `family` or one of its ".Sub" codes.
bool InFamily(absl::string_view code, absl::string_view family) {
  return code == family ||
         (absl::StartsWith(code, family) && code.size() > family.size() &&
          code[family.size()] == '.');
}

bool InAnyFamily(absl::string_view code,
                 std::initializer_list<absl::string_view> families) {
  for (auto family : families) {
    if (InFamily(code, family)) return true;
  }
  return false;
}

// Quoted tokens in a message: `x`, 'x' or "x".
std::vector<absl::string_view> QuotedTokens(absl::string_view message) {
  std::vector<absl::string_view> tokens;
  for (size_t i = 0; i < message.size(); ++i) {
    char quote = message[i];
    if (quote != '`' && quote != '\'' && quote != '"') continue;
    size_t end = message.find(quote, i + 1);
    if (end == absl::string_view::npos) break;
    tokens.push_back(message.substr(i + 1, end - i - 1));
    i = end;
  }
  return tokens;
}

// API members are CamelCase, possibly a path: "Filters.0.Name",
// "Placement.Zone".
bool LooksLikeMember(absl::string_view token) {
  if (token.empty() || !absl::ascii_isupper(token[0])) return false;
  bool has_lower = false;
  for (char c : token) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '[' && c != ']') {
      return false;
    }
    has_lower |= absl::ascii_islower(c);
  }
  return has_lower;
}

void AddFamilyDetail(google::rpc::Status& status, absl::string_view code,
                     absl::string_view message, const ErrorContext& context) {
  if (InFamily(code, "RequestLimitExceeded")) {
    AddRetryInfo(context.retry_delay, status);
  } else if (InAnyFamily(code, {"LimitExceeded", "ResourceInsufficient",
                                "ResourcesSoldOut"})) {
    google::rpc::QuotaFailure quota;
    auto* violation = quota.add_violations();
    violation->set_subject(absl::StrCat(context.service, ":", context.action));
    violation->set_description(std::string(message));
    status.add_details()->PackFrom(quota);
  } else if (InAnyFamily(code, {"InvalidParameter", "InvalidParameterValue",
                                "MissingParameter", "UnknownParameter"})) {
    google::rpc::BadRequest bad_request;
    auto* violation = bad_request.add_field_violations();
    violation->set_field(FieldNamedIn(message));
    violation->set_description(std::string(message));
    status.add_details()->PackFrom(bad_request);
  } else if (InFamily(code, "ResourceNotFound")) {
    google::rpc::ResourceInfo resource;
    absl::string_view sub = code.size() > sizeof("ResourceNotFound")
                                ? code.substr(sizeof("ResourceNotFound"))
                                : absl::string_view(context.service);
    resource.set_resource_type(std::string(sub));
    for (auto token : QuotedTokens(message)) {
      resource.set_resource_name(std::string(token));
      break;
    }
    resource.set_description(std::string(message));
    status.add_details()->PackFrom(resource);
  }
}

}  // namespace

void AddRetryInfo(absl::Duration delay, google::rpc::Status& status) {
  google::rpc::RetryInfo retry;
  const int64_t seconds = absl::IDivDuration(delay, absl::Seconds(1), &delay);
  retry.mutable_retry_delay()->set_seconds(seconds);
  retry.mutable_retry_delay()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(delay)));
  status.add_details()->PackFrom(retry);
}

std::string FieldNamedIn(absl::string_view message) {
  for (auto token : QuotedTokens(message)) {
    if (LooksLikeMember(token)) return std::string(token);
  }
  return "";
}

google::rpc::Status BuildErrorStatus(absl::StatusCode code,
                                     absl::string_view error_code,
                                     absl::string_view message,
                                     absl::string_view request_id,
                                     const ErrorContext& context) {
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(std::string(message));

  google::rpc::ErrorInfo info;
  info.set_reason(ErrorReason(error_code));
  info.set_domain(context.domain);
  auto& metadata = *info.mutable_metadata();
  metadata["code"] = std::string(error_code);
  metadata["service"] = context.service;
  metadata["version"] = context.version;
  metadata["action"] = context.action;
  if (!context.region.empty()) metadata["region"] = context.region;
  status.add_details()->PackFrom(info);

  google::rpc::RequestInfo request_info;
  request_info.set_request_id(std::string(request_id));
  status.add_details()->PackFrom(request_info);

  google::rpc::LocalizedMessage localized;
  localized.set_locale(context.language.empty() ? std::string(kDefaultLocale)
                                                : context.language);
  localized.set_message(std::string(message));
  status.add_details()->PackFrom(localized);

  AddFamilyDetail(status, error_code, message, context);
  return status;
}

}  // namespace envelope
