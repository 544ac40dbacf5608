#include "gateway/upstream/tc3_signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace envelope {
namespace {

constexpr absl::string_view kAlgorithm = "TC3-HMAC-SHA256";
constexpr absl::string_view kSignedHeaders = "content-type;host";
constexpr size_t kDigestBytes = 32;  // SHA-256
constexpr size_t kBlockBytes = 64;   // SHA-256's block: HMAC pads keys to it

using Digest = std::array<unsigned char, kDigestBytes>;

absl::string_view View(const Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

// OpenSSL fails here only without memory or without its default provider:
// a signature computed from a half-done hash would be refused anyway, and
// the process cannot sign anything, so it stops saying why.
void Require(int ok) {
  if (ok != 1) {
    std::fputs("tc3_signer: OpenSSL's SHA-256 failed\n", stderr);
    std::abort();
  }
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

MdCtx NewCtx() {
  MdCtx ctx(EVP_MD_CTX_new());
  Require(ctx != nullptr);
  return ctx;
}

// SHA-256, fetched from the provider once. OpenSSL 3 looks the algorithm up
// again on every one-shot call (HMAC(), SHA256()) and on every init with
// EVP_sha256(); with a fetched EVP_MD it does not.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

// The calling thread's working context, made once per thread and then only
// re-initialised or overwritten by a copy.
EVP_MD_CTX* ScratchCtx() {
  thread_local const MdCtx ctx = NewCtx();
  return ctx.get();
}

void Sha256(absl::string_view data, unsigned char* out) {
  EVP_MD_CTX* ctx = ScratchCtx();
  Require(EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr));
  Require(EVP_DigestUpdate(ctx, data.data(), data.size()));
  Require(EVP_DigestFinal_ex(ctx, out, nullptr));
}

// HMAC-SHA256 under one key (RFC 2104: H((K^opad) || H((K^ipad) || data))).
// The hash states after each padded key are computed once; every MAC starts
// from copies of them, so a MAC costs the data's blocks plus two, and no
// setup.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(absl::string_view key)
      : inner_(NewCtx()), outer_(NewCtx()) {
    unsigned char block[kBlockBytes] = {0};
    if (key.size() > kBlockBytes) {
      Sha256(key, block);
    } else {
      std::memcpy(block, key.data(), key.size());
    }
    unsigned char pad[kBlockBytes];
    for (size_t i = 0; i < kBlockBytes; ++i) pad[i] = block[i] ^ 0x36;
    Start(*inner_, pad);
    for (size_t i = 0; i < kBlockBytes; ++i) pad[i] = block[i] ^ 0x5c;
    Start(*outer_, pad);
    // From here on the key lives only in the two hash states.
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
  }

  // Safe from any number of threads at once: the states are only read.
  void Mac(absl::string_view data, unsigned char* out) const {
    EVP_MD_CTX* ctx = ScratchCtx();
    unsigned char inner[kDigestBytes];
    Require(EVP_MD_CTX_copy_ex(ctx, inner_.get()));
    Require(EVP_DigestUpdate(ctx, data.data(), data.size()));
    Require(EVP_DigestFinal_ex(ctx, inner, nullptr));
    Require(EVP_MD_CTX_copy_ex(ctx, outer_.get()));
    Require(EVP_DigestUpdate(ctx, inner, sizeof inner));
    Require(EVP_DigestFinal_ex(ctx, out, nullptr));
  }

 private:
  static void Start(EVP_MD_CTX& ctx, const unsigned char* pad) {
    Require(EVP_DigestInit_ex2(&ctx, Sha256Md(), nullptr));
    Require(EVP_DigestUpdate(&ctx, pad, kBlockBytes));
  }

  const MdCtx inner_;
  const MdCtx outer_;
};

// TC3's signing key for one secret, UTC day and service, ready to MAC with.
// It is all a signature needs from the secret, and is good for that day and
// service only. The secret itself is not kept: entries are recognised by
// its SHA-256.
struct SigningKey {
  SigningKey(const Digest& fingerprint, absl::string_view date,
             absl::string_view service, const Digest& key)
      : fingerprint(fingerprint),
        date(date),
        service(service),
        hmac(View(key)) {}

  bool Matches(const Digest& other_fingerprint, absl::string_view other_date,
               absl::string_view other_service) const {
    return date == other_date && service == other_service &&
           fingerprint == other_fingerprint;
  }

  const Digest fingerprint;
  const std::string date;
  const std::string service;
  const HmacSha256Key hmac;
};

std::atomic<int64_t> derivations{0};

std::shared_ptr<const SigningKey> DeriveSigningKey(absl::string_view secret_key,
                                                   const Digest& fingerprint,
                                                   absl::string_view date,
                                                   absl::string_view service) {
  derivations.fetch_add(1, std::memory_order_relaxed);
  std::string tc3_key = absl::StrCat("TC3", secret_key);
  Digest k_date, k_service, k_signing;
  HmacSha256Key(tc3_key).Mac(date, k_date.data());
  OPENSSL_cleanse(tc3_key.data(), tc3_key.size());
  HmacSha256Key(View(k_date)).Mac(service, k_service.data());
  HmacSha256Key(View(k_service)).Mac("tc3_request", k_signing.data());
  auto key =
      std::make_shared<SigningKey>(fingerprint, date, service, k_signing);
  OPENSSL_cleanse(k_date.data(), k_date.size());
  OPENSSL_cleanse(k_service.data(), k_service.size());
  OPENSSL_cleanse(k_signing.data(), k_signing.size());
  return key;
}

// The signing keys in use, shared by every thread. Small on purpose: one
// entry per (secret, day, service) that is being signed with, and a gateway
// calls a handful of services with one secret at a time. The least recently
// used entry makes room, so yesterday's keys and a rotated-out secret's keys
// leave as soon as new ones need the space; a new secret simply misses.
class SigningKeyCache {
 public:
  std::shared_ptr<const SigningKey> Get(absl::string_view secret_key,
                                        absl::string_view date,
                                        absl::string_view service) {
    Digest fingerprint;
    Sha256(secret_key, fingerprint.data());
    {
      absl::MutexLock lock(&mu_);
      if (auto key = FindLocked(fingerprint, date, service)) return key;
    }
    // Derived outside the lock: a miss costs four HMAC set-ups, which other
    // threads' hits need not wait for. Two threads missing at once both
    // derive; the second finds the first's entry and keeps that one.
    std::shared_ptr<const SigningKey> derived =
        DeriveSigningKey(secret_key, fingerprint, date, service);
    absl::MutexLock lock(&mu_);
    if (auto key = FindLocked(fingerprint, date, service)) return key;
    Slot* victim = &slots_[0];
    for (Slot& slot : slots_) {
      if (slot.last_used < victim->last_used) victim = &slot;
    }
    *victim = {++clock_, derived};
    return derived;
  }

 private:
  static constexpr size_t kSlots = 16;

  struct Slot {
    uint64_t last_used = 0;  // 0: never used
    std::shared_ptr<const SigningKey> key;
  };

  // A scan: a few entries of a few short fields each.
  std::shared_ptr<const SigningKey> FindLocked(const Digest& fingerprint,
                                               absl::string_view date,
                                               absl::string_view service)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (Slot& slot : slots_) {
      if (slot.key != nullptr &&
          slot.key->Matches(fingerprint, date, service)) {
        slot.last_used = ++clock_;
        return slot.key;
      }
    }
    return nullptr;
  }

  absl::Mutex mu_;
  std::array<Slot, kSlots> slots_ ABSL_GUARDED_BY(mu_);
  uint64_t clock_ ABSL_GUARDED_BY(mu_) = 0;
};

SigningKeyCache& Cache() {
  static SigningKeyCache* const cache = new SigningKeyCache;
  return *cache;
}

void AppendHex(const unsigned char* bytes, size_t size, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < size; ++i) {
    out->push_back(kDigits[bytes[i] >> 4]);
    out->push_back(kDigits[bytes[i] & 0xf]);
  }
}

void AppendLower(absl::string_view text, std::string* out) {
  for (char c : text) out->push_back(absl::ascii_tolower(c));
}

// "YYYY-MM-DD", the UTC day of `timestamp`.
void AppendUtcDate(int64_t timestamp, std::string* out) {
  int64_t days = timestamp / 86400;
  if (timestamp % 86400 < 0) --days;  // floor, before 1970 too
  const absl::CivilDay day = absl::CivilDay(1970, 1, 1) + days;
  if (day.year() < 0 || day.year() > 9999) {  // as absl's %Y writes them
    absl::StrAppend(out, absl::FormatCivilTime(day));
    return;
  }
  char text[] = "0000-00-00";
  const int64_t year = day.year();
  text[0] = static_cast<char>('0' + year / 1000);
  text[1] = static_cast<char>('0' + year / 100 % 10);
  text[2] = static_cast<char>('0' + year / 10 % 10);
  text[3] = static_cast<char>('0' + year % 10);
  text[5] = static_cast<char>('0' + day.month() / 10);
  text[6] = static_cast<char>('0' + day.month() % 10);
  text[8] = static_cast<char>('0' + day.day() / 10);
  text[9] = static_cast<char>('0' + day.day() % 10);
  out->append(text, 10);
}

// One signature's steps, in buffers each thread reuses (no allocation once
// they have grown to a request's size).
struct Steps {
  std::string date;
  std::string canonical_request;
  std::string string_to_sign;
  absl::string_view credential_scope;  // inside string_to_sign
  std::string signature;               // hex
};

const Steps& Compute(const Credentials& credentials, const Tc3Input& input) {
  thread_local Steps steps;
  steps.date.clear();
  AppendUtcDate(input.timestamp, &steps.date);

  Digest digest;
  std::string& canonical = steps.canonical_request;
  canonical.assign("POST\n/\n\ncontent-type:");
  AppendLower(input.content_type, &canonical);
  canonical.append("\nhost:");
  AppendLower(input.host, &canonical);
  absl::StrAppend(&canonical, "\n\n", kSignedHeaders, "\n");
  Sha256(input.body, digest.data());
  AppendHex(digest.data(), digest.size(), &canonical);

  std::string& to_sign = steps.string_to_sign;
  to_sign.clear();
  absl::StrAppend(&to_sign, kAlgorithm, "\n", input.timestamp, "\n");
  const size_t scope_begin = to_sign.size();
  absl::StrAppend(&to_sign, steps.date, "/", input.service, "/tc3_request");
  const size_t scope_size = to_sign.size() - scope_begin;
  to_sign.push_back('\n');
  Sha256(canonical, digest.data());
  AppendHex(digest.data(), digest.size(), &to_sign);
  steps.credential_scope =
      absl::string_view(to_sign).substr(scope_begin, scope_size);

  std::shared_ptr<const SigningKey> key =
      Cache().Get(credentials.secret_key, steps.date, input.service);
  key->hmac.Mac(to_sign, digest.data());
  steps.signature.clear();
  AppendHex(digest.data(), digest.size(), &steps.signature);
  return steps;
}

std::string Authorization(const Credentials& credentials, const Steps& steps) {
  return absl::StrCat(kAlgorithm, " Credential=", credentials.secret_id, "/",
                      steps.credential_scope,
                      ", SignedHeaders=", kSignedHeaders,
                      ", Signature=", steps.signature);
}

}  // namespace

std::string Sha256Hex(absl::string_view data) {
  Digest digest;
  Sha256(data, digest.data());
  std::string hex;
  hex.reserve(2 * kDigestBytes);
  AppendHex(digest.data(), digest.size(), &hex);
  return hex;
}

Tc3Signature SignTc3(const Credentials& credentials, const Tc3Input& input) {
  const Steps& steps = Compute(credentials, input);
  Tc3Signature sig;
  sig.canonical_request = steps.canonical_request;
  sig.credential_scope = std::string(steps.credential_scope);
  sig.string_to_sign = steps.string_to_sign;
  sig.signature = steps.signature;
  sig.authorization = Authorization(credentials, steps);
  return sig;
}

std::string Tc3Authorization(const Credentials& credentials,
                             const Tc3Input& input) {
  return Authorization(credentials, Compute(credentials, input));
}

namespace tc3_internal {

int64_t SigningKeyDerivations() {
  return derivations.load(std::memory_order_relaxed);
}

}  // namespace tc3_internal

}  // namespace envelope
