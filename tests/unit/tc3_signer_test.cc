#include "gateway/upstream/tc3_signer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace envelope {
namespace {

// ../shared/testdata/tc3-vector.md: Tencent Cloud's published example.
TEST(Tc3SignerTest, MatchesThePublishedVector) {
  Credentials credentials{"AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                          "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", ""};
  const std::string body =
      R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]})";
  Tc3Signature sig =
      SignTc3(credentials, {.service = "cvm",
                            .host = "cvm.tencentcloudapi.com",
                            .content_type = "application/json; charset=utf-8",
                            .body = body,
                            .timestamp = 1551113065});
  EXPECT_EQ(Sha256Hex(body),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  EXPECT_EQ(Sha256Hex(sig.canonical_request),
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  EXPECT_EQ(sig.credential_scope, "2019-02-25/cvm/tc3_request");
  EXPECT_EQ(sig.signature,
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
  EXPECT_EQ(
      sig.authorization,
      "TC3-HMAC-SHA256 "
      "Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
      "tc3_request, SignedHeaders=content-type;host, "
      "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a9"
      "6525168");
}

TEST(Tc3SignerTest, EveryInputChangesTheSignature) {
  Credentials credentials{"id", "key", ""};
  Tc3Input base{.service = "cvm",
                .host = "cvm.tencentcloudapi.com",
                .content_type = "application/json; charset=utf-8",
                .body = "{}",
                .timestamp = 1700000000};
  std::string reference = SignTc3(credentials, base).signature;
  Tc3Input changed = base;
  changed.body = "{ }";
  EXPECT_NE(SignTc3(credentials, changed).signature, reference);
  changed = base;
  changed.host = "cvm.example.com";
  EXPECT_NE(SignTc3(credentials, changed).signature, reference);
  changed = base;
  changed.service = "vpc";
  EXPECT_NE(SignTc3(credentials, changed).signature, reference);
  changed = base;
  changed.timestamp += 86400;  // another day: another derived key
  EXPECT_NE(SignTc3(credentials, changed).signature, reference);
  Credentials other{"id", "key2", ""};
  EXPECT_NE(SignTc3(other, base).signature, reference);
}

TEST(Tc3SignerTest, ScopeDateIsUtc) {
  Credentials credentials{"id", "key", ""};
  // 2019-02-25T23:59:59Z and 2019-02-26T00:00:00Z.
  EXPECT_EQ(SignTc3(credentials, {.service = "cvm", .timestamp = 1551139199})
                .credential_scope,
            "2019-02-25/cvm/tc3_request");
  EXPECT_EQ(SignTc3(credentials, {.service = "cvm", .timestamp = 1551139200})
                .credential_scope,
            "2019-02-26/cvm/tc3_request");
}

// The signature computed the plain way, every step with OpenSSL's one-shot
// functions and nothing kept between calls: what the signer computed before
// it cached keys and hash states, and what its fast path must still give.
std::string OneShotHmac(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &size);
  return std::string(reinterpret_cast<char*>(out), size);
}

std::string OneShotSha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

struct Reference {
  std::string credential_scope;
  std::string signature;
};

Reference OneShotSignature(absl::string_view secret_key,
                           const Tc3Input& input) {
  const std::string date = absl::FormatTime(
      "%Y-%m-%d", absl::FromUnixSeconds(input.timestamp), absl::UTCTimeZone());
  const std::string canonical = absl::StrCat(
      "POST\n/\n\ncontent-type:", absl::AsciiStrToLower(input.content_type),
      "\nhost:", absl::AsciiStrToLower(input.host), "\n\ncontent-type;host\n",
      OneShotSha256Hex(input.body));
  Reference out;
  out.credential_scope = absl::StrCat(date, "/", input.service, "/tc3_request");
  const std::string to_sign =
      absl::StrCat("TC3-HMAC-SHA256\n", input.timestamp, "\n",
                   out.credential_scope, "\n", OneShotSha256Hex(canonical));
  std::string key = OneShotHmac(absl::StrCat("TC3", secret_key), date);
  key = OneShotHmac(key, input.service);
  key = OneShotHmac(key, "tc3_request");
  out.signature = absl::BytesToHexString(OneShotHmac(key, to_sign));
  return out;
}

std::string RandomText(std::mt19937& random, size_t size) {
  std::uniform_int_distribution<int> byte(0x20, 0x7e);
  std::string text(size, ' ');
  for (char& c : text) c = static_cast<char>(byte(random));
  return text;
}

// Every (secret, day, service) several times over, in an order that mixes
// cache hits, misses, day changes, key changes (one secret longer than
// HMAC's 64-byte block, which HMAC hashes first) and evictions (more
// combinations than the cache holds).
TEST(Tc3SignerTest, CachedPathMatchesOneShotHmacComputation) {
  std::mt19937 random(20240611);
  const std::vector<std::string> secrets = {
      "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "rotated-secret-key-000000000001",
      std::string(70, 'k'), RandomText(random, 40)};
  const std::vector<int64_t> timestamps = {
      1551139199,  // 2019-02-25T23:59:59Z
      1551139200,  // 2019-02-26T00:00:00Z: the next day
      1700000000, 1700000000 + 86400 * 30, 4102444800 /* 2100-01-01 */,
      0,   // the epoch
      -1,  // 1969-12-31
  };
  const std::vector<std::string> services = {"cvm", "vpc", "cam", "sts", "kms"};
  const std::vector<std::string> bodies = {
      "", "{}", RandomText(random, 1000), RandomText(random, 100 << 10),
      R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"]}]})"};
  struct Case {
    size_t secret, timestamp, service, body;
  };
  std::vector<Case> cases;
  for (size_t k = 0; k < secrets.size(); ++k) {
    for (size_t t = 0; t < timestamps.size(); ++t) {
      for (size_t s = 0; s < services.size(); ++s) {
        cases.push_back({k, t, s, (k + t + s) % bodies.size()});
      }
    }
  }
  const size_t combinations = cases.size();
  ASSERT_GT(combinations, 16u);  // more than the cache holds
  // Again in a random order, then again with other bodies.
  for (size_t i = 0; i < combinations; ++i) cases.push_back(cases[i]);
  std::shuffle(cases.begin() + combinations, cases.end(), random);
  for (size_t i = 0; i < combinations; ++i) {
    Case c = cases[i];
    c.body = (c.body + 1 + i) % bodies.size();
    cases.push_back(c);
  }

  int checked = 0;
  for (const Case& c : cases) {
    const Credentials credentials{"AKIDTEST", secrets[c.secret], ""};
    const Tc3Input input{.service = services[c.service],
                         .host = "Cvm.TencentCloudAPI.com",
                         .content_type = "Application/JSON; charset=utf-8",
                         .body = bodies[c.body],
                         .timestamp = timestamps[c.timestamp]};
    const Reference expected = OneShotSignature(secrets[c.secret], input);
    const Tc3Signature sig = SignTc3(credentials, input);
    const std::string where = absl::StrCat(
        "secret ", c.secret, ", timestamp ", timestamps[c.timestamp],
        ", service ", services[c.service], ", body ", c.body);
    ASSERT_EQ(sig.signature, expected.signature) << where;
    ASSERT_EQ(sig.credential_scope, expected.credential_scope) << where;
    ASSERT_EQ(Tc3Authorization(credentials, input), sig.authorization) << where;
    ++checked;
  }
  EXPECT_EQ(checked, 3 * combinations);
}

TEST(Tc3SignerTest, SigningKeyIsDerivedOncePerSecretDayAndService) {
  const Credentials credentials{"id", "derived-once-secret", ""};
  Tc3Input input{.service = "cvm",
                 .host = "cvm.tencentcloudapi.com",
                 .content_type = "application/json",
                 .body = "{}",
                 .timestamp = 1700000000};
  const int64_t before = tc3_internal::SigningKeyDerivations();
  for (int i = 0; i < 100; ++i) {
    input.timestamp = 1700000000 + i;  // the same day
    SignTc3(credentials, input);
  }
  EXPECT_EQ(tc3_internal::SigningKeyDerivations() - before, 1);
  input.timestamp += 86400;  // a new day: a new key, once
  SignTc3(credentials, input);
  SignTc3(credentials, input);
  EXPECT_EQ(tc3_internal::SigningKeyDerivations() - before, 2);
  // A rotated secret misses, and its signature is its own.
  const Credentials rotated{"id", "derived-once-secret-2", ""};
  EXPECT_EQ(SignTc3(rotated, input).signature,
            OneShotSignature(rotated.secret_key, input).signature);
  EXPECT_EQ(tc3_internal::SigningKeyDerivations() - before, 3);
}

// Threads sign at once with keys that come and go (more than the cache
// holds): each signature is still the one-shot one.
TEST(Tc3SignerTest, ConcurrentSignersGetTheirOwnSignatures) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<int> mismatches(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &mismatches] {
      for (int i = 0; i < 200; ++i) {
        const std::string secret = absl::StrCat("thread-secret-", i % 20);
        const std::string service = i % 3 == 0 ? "cvm" : "vpc";
        const std::string body = absl::StrCat("{\"N\":", t * 1000 + i, "}");
        const Tc3Input input{.service = service,
                             .host = "api.example.com",
                             .content_type = "application/json",
                             .body = body,
                             .timestamp = 1700000000 + 86400 * (i % 2)};
        if (Tc3Authorization({"id", secret, ""}, input) !=
                SignTc3({"id", secret, ""}, input).authorization ||
            SignTc3({"id", secret, ""}, input).signature !=
                OneShotSignature(secret, input).signature) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << t;
}

TEST(Tc3SignerTest, ScopeDateOutsideFourDigitYears) {
  Credentials credentials{"id", "key", ""};
  // 10000-01-01T00:00:00Z: written as absl's %Y writes it.
  EXPECT_EQ(SignTc3(credentials, {.service = "cvm", .timestamp = 253402300800})
                .credential_scope,
            "10000-01-01/cvm/tc3_request");
}

TEST(Tc3SignerTest, Sha256HexMatchesOneShot) {
  for (const std::string& data :
       {std::string(), std::string("abc"), std::string(64, 'x'),
        std::string(100000, 'y')}) {
    EXPECT_EQ(Sha256Hex(data), OneShotSha256Hex(data)) << data.size();
  }
}

}  // namespace
}  // namespace envelope
