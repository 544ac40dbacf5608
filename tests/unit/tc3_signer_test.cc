#include "gateway/upstream/tc3_signer.h"

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

}  // namespace
}  // namespace envelope
