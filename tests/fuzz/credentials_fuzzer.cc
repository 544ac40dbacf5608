// The credential answers (gateway/credentials/json_fields.h): the CVM
// metadata service's role credentials and STS AssumeRoleWithWebIdentity's
// envelope, as the credential chain reads them off the network.
//
// Input: one selector byte, then the body. 'r' or 'R': the metadata
// service's answer (ParseRoleCredentialsAnswer). Any other byte: STS's
// (ParseStsAnswer), its low four bits picking the HTTP status as in
// envelope_fuzzer ('0'..'7' 200, '8' 400, ..., '?' 504).
//
// Properties:
//   - credentials taken have all three parts, each printable ASCII without
//     blanks: they go into the Authorization and X-TC-Token headers;
//   - a refusal is UNAVAILABLE, printable ASCII and bounded: it is logged
//     and shown on /readyz's reasons; STS's never holds the web identity
//     token sent (json_fields.h: redacted).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/credentials/json_fields.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr char kHarness[] = "credentials_fuzzer";

// What the TKE OIDC source sends to STS; json.dict holds it too, so the
// fuzzer can put it anywhere in an answer.
constexpr char kWebIdentityToken[] = "eyJfuzzWebIdentityToken0123456789";

bool IsHeaderSafe(absl::string_view value) {
  for (char c : value) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool role = data[0] == 'r' || data[0] == 'R';
  const absl::StatusOr<envelope::Credentials> credentials =
      role
          ? envelope::credentials_internal::ParseRoleCredentialsAnswer(body)
          : envelope::credentials_internal::ParseStsAnswer(
                envelope::fuzz::HttpStatusOf(data[0]), body, kWebIdentityToken);
  if (credentials.ok()) {
    for (const auto& [name, value] :
         {std::pair{"secret id", &credentials->secret_id},
          std::pair{"secret key", &credentials->secret_key},
          std::pair{"session token", &credentials->session_token}}) {
      FUZZ_CHECK(kHarness, !value->empty(),
                 absl::StrCat("credentials without ", name));
      FUZZ_CHECK(kHarness, IsHeaderSafe(*value),
                 absl::StrCat("a ", name, " no HTTP header can carry: ",
                              absl::CEscape(*value)));
    }
    return 0;
  }
  const absl::string_view message = credentials.status().message();
  FUZZ_CHECK(
      kHarness, credentials.status().code() == absl::StatusCode::kUnavailable,
      "a refusal that is not UNAVAILABLE: " + credentials.status().ToString());
  // Only STS is sent the token; the metadata service's answer cannot know
  // it, so the fuzzer's copies there are no leak.
  FUZZ_CHECK(kHarness, role || !absl::StrContains(message, kWebIdentityToken),
             "the web identity token in an error: " + absl::CEscape(message));
  // Three quoted pieces of at most 256 bytes, each escaped (4 bytes a byte
  // at most), and the sentence around them.
  FUZZ_CHECK(kHarness, message.size() <= 4096,
             absl::StrCat("an error of ", message.size(), " bytes"));
  FUZZ_CHECK(kHarness, envelope::fuzz::IsPrintableAscii(message),
             "an error that is not printable text: " + absl::CEscape(message));
  return 0;
}
