#include "gateway/upstream/tc3_signer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace envelope {
namespace {

constexpr absl::string_view kAlgorithm = "TC3-HMAC-SHA256";
constexpr absl::string_view kSignedHeaders = "content-type;host";

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &out_len);
  return std::string(reinterpret_cast<char*>(out), out_len);
}

std::string UtcDate(int64_t timestamp) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(timestamp),
                          absl::UTCTimeZone());
}

}  // namespace

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
}

Tc3Signature SignTc3(const Credentials& credentials, const Tc3Input& input) {
  Tc3Signature sig;
  const std::string date = UtcDate(input.timestamp);
  sig.canonical_request = absl::StrCat(
      "POST\n/\n\n", "content-type:", absl::AsciiStrToLower(input.content_type),
      "\nhost:", absl::AsciiStrToLower(input.host), "\n\n", kSignedHeaders,
      "\n", Sha256Hex(input.body));
  sig.credential_scope = absl::StrCat(date, "/", input.service, "/tc3_request");
  sig.string_to_sign = absl::StrCat(kAlgorithm, "\n", input.timestamp, "\n",
                                    sig.credential_scope, "\n",
                                    Sha256Hex(sig.canonical_request));
  std::string key =
      HmacSha256(absl::StrCat("TC3", credentials.secret_key), date);
  key = HmacSha256(key, input.service);
  key = HmacSha256(key, "tc3_request");
  sig.signature = absl::BytesToHexString(HmacSha256(key, sig.string_to_sign));
  sig.authorization =
      absl::StrCat(kAlgorithm, " Credential=", credentials.secret_id, "/",
                   sig.credential_scope, ", SignedHeaders=", kSignedHeaders,
                   ", Signature=", sig.signature);
  return sig;
}

}  // namespace envelope
