#include "auth/jwk.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/base64url.h"
#include "auth/jwt_verify.h"
#include "jwt_test_support.h"

namespace portico::auth {
namespace {

using test::public_jwk;

constexpr int64_t kNow = 1'800'000'000;
const std::string kClaims = R"({"sub":"alice","exp":1800003600})";

std::string jwks(std::initializer_list<std::string> keys) {
  std::string out = R"({"keys":[)";
  bool first = true;
  for (const std::string& k : keys) {
    if (!first) out += ",";
    out += k;
    first = false;
  }
  return out + "]}";
}

VerifyPolicy allow_all() {
  VerifyPolicy p;
  for (size_t i = 0; i < kJwsAlgCount; ++i) p.allowed_algs.push_back(static_cast<JwsAlg>(i));
  return p;
}

JwtError verify(const std::string& token, const KeySet& keys) {
  Jwt jwt;
  return authenticate(token, keys, allow_all(), {}, kNow, jwt);
}

// Replaces the first occurrence of `from` in `s`.
std::string replace(std::string s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// ---- PEM and secrets ---------------------------------------------------------------------

TEST(PemKeys, LoadsEachSupportedType) {
  struct Case {
    EVP_PKEY* key;
    KeyType type;
  };
  for (const Case& c : {Case{test::rsa2048(), KeyType::kRsa}, Case{test::ec_p256(), KeyType::kEcP256},
                        Case{test::ec_p384(), KeyType::kEcP384}, Case{test::ed25519(), KeyType::kEd25519}}) {
    const KeyResult r = load_pem_public_key(test::public_pem(c.key), "k");
    ASSERT_TRUE(r.key) << r.error;
    EXPECT_EQ(r.key->type(), c.type);
    EXPECT_EQ(r.key->kid(), "k");
    EXPECT_TRUE(r.key->secret().empty());
  }
}

TEST(PemKeys, RejectsWhatIsNotASupportedPublicKey) {
  EXPECT_FALSE(load_pem_public_key("", "k").key);
  EXPECT_FALSE(load_pem_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "k").key);
  const KeyResult priv = load_pem_public_key(test::private_pem(test::ec_p256()), "k");
  EXPECT_FALSE(priv.key);
  EXPECT_EQ(priv.error.find("BEGIN"), std::string::npos);  // never echoes the input
  const KeyResult small = load_pem_public_key(test::public_pem(test::generate_rsa(1024).get()), "k");
  EXPECT_FALSE(small.key);
  EXPECT_NE(small.error.find("2048"), std::string::npos);
  const KeyResult p521 = load_pem_public_key(test::public_pem(test::generate_ec("P-521").get()), "k");
  EXPECT_FALSE(p521.key);
  const KeyResult secp256k1 = load_pem_public_key(test::public_pem(test::generate_ec("secp256k1").get()), "k");
  EXPECT_FALSE(secp256k1.key);
}

TEST(HmacSecrets, PlainAndBase64) {
  const KeyResult plain = load_hmac_secret("c2VjcmV0", false, "k");
  ASSERT_TRUE(plain.key);
  EXPECT_EQ(plain.key->secret(), "c2VjcmV0");
  EXPECT_EQ(plain.key->type(), KeyType::kOct);
  const KeyResult b64 = load_hmac_secret("c2VjcmV0", true, "k");
  ASSERT_TRUE(b64.key);
  EXPECT_EQ(b64.key->secret(), "secret");
  EXPECT_FALSE(load_hmac_secret("c2VjcmV0!", true, "k").key);
  EXPECT_FALSE(load_hmac_secret("", false, "k").key);
  EXPECT_FALSE(load_hmac_secret("", true, "k").key);
  EXPECT_FALSE(load_hmac_secret("secret", false, "k", JwsAlg::kRS256).key);
  // Base64 decoding reaches verification: a token signed with the decoded bytes verifies.
  const KeySet keys({b64.key});
  const std::string token =
      test::make_token(test::header_for(JwsAlg::kHS256, "k"), kClaims, JwsAlg::kHS256, nullptr, "secret");
  EXPECT_EQ(verify(token, keys), JwtError::kOk);
}

// ---- JWKS --------------------------------------------------------------------------------

TEST(Jwks, EachKeyTypeVerifiesItsTokens) {
  const std::string oct = R"({"kty":"oct","kid":"o","k":")" + base64url_encode("jwks-hmac-secret") + R"("})";
  const JwksResult r = parse_jwks(jwks({public_jwk(test::rsa2048(), "r", "RS256"), public_jwk(test::ec_p256(), "e2"),
                                        public_jwk(test::ec_p384(), "e3"), public_jwk(test::ed25519(), "ed"), oct}));
  ASSERT_TRUE(r.keys) << r.error;
  EXPECT_TRUE(r.skipped.empty());
  ASSERT_EQ(r.keys->size(), 5u);
  EXPECT_EQ(r.keys->find("r", JwsAlg::kRS256)->type(), KeyType::kRsa);
  EXPECT_EQ(r.keys->find("r", JwsAlg::kPS256), nullptr);  // "alg":"RS256" restricts it
  EXPECT_EQ(verify(test::make_token(test::header_for(JwsAlg::kRS256, "r"), kClaims, JwsAlg::kRS256, test::rsa2048()),
                   *r.keys),
            JwtError::kOk);
  EXPECT_EQ(verify(test::make_token(test::header_for(JwsAlg::kES256, "e2"), kClaims, JwsAlg::kES256, test::ec_p256()),
                   *r.keys),
            JwtError::kOk);
  EXPECT_EQ(verify(test::make_token(test::header_for(JwsAlg::kES384, "e3"), kClaims, JwsAlg::kES384, test::ec_p384()),
                   *r.keys),
            JwtError::kOk);
  EXPECT_EQ(verify(test::make_token(test::header_for(JwsAlg::kEdDSA, "ed"), kClaims, JwsAlg::kEdDSA, test::ed25519()),
                   *r.keys),
            JwtError::kOk);
  EXPECT_EQ(verify(test::make_token(test::header_for(JwsAlg::kHS256, "o"), kClaims, JwsAlg::kHS256, nullptr,
                                    "jwks-hmac-secret"),
                   *r.keys),
            JwtError::kOk);
}

TEST(Jwks, SkipsKeysPorticoCannotUse) {
  const std::string rsa = public_jwk(test::rsa2048(), "r");
  const JwksResult r = parse_jwks(jwks({
      R"({"kty":"XYZ","kid":"a"})",
      public_jwk(test::generate_ec("P-521").get(), "b"),
      R"({"kty":"OKP","crv":"X25519","kid":"c","x":"AAAA"})",
      R"({"kty":"OKP","crv":"Ed448","kid":"c2","x":"AAAA"})",
      replace(rsa, "\"kid\":\"r\"", "\"kid\":\"d\",\"use\":\"enc\""),
      replace(rsa, "\"kid\":\"r\"", "\"kid\":\"e\",\"alg\":\"RSA-OAEP-256\""),
      replace(rsa, "\"kid\":\"r\"", "\"kid\":\"f\",\"key_ops\":[\"encrypt\"]"),
      replace(rsa, "\"kid\":\"r\"", "\"kid\":\"g\",\"alg\":\"ES512\""),
      replace(rsa, "\"kid\":\"r\"", "\"kid\":\"ok\",\"use\":\"sig\",\"key_ops\":[\"verify\"]"),
  }));
  ASSERT_TRUE(r.keys) << r.error;
  EXPECT_EQ(r.keys->size(), 1u);
  ASSERT_EQ(r.skipped.size(), 8u);
  EXPECT_EQ(r.skipped[0].kid, "a");
  EXPECT_EQ(r.skipped[0].reason, "unsupported kty");
  EXPECT_EQ(r.skipped[1].reason, "unsupported EC curve");
  EXPECT_EQ(r.skipped[4].index, 4u);
  EXPECT_EQ(r.skipped[4].reason, "use is not sig");
  EXPECT_NE(r.keys->find("ok", JwsAlg::kRS256), nullptr);
}

TEST(Jwks, RejectsMalformedKeys) {
  const std::string rsa = public_jwk(test::rsa2048(), "r");
  const std::string ec = public_jwk(test::ec_p256(), "e");
  const std::string ed = public_jwk(test::ed25519(), "d");
  const std::string cases[] = {
      replace(rsa, "\"n\":\"", "\"n\":\"+"),                       // bad base64url
      replace(rsa, "\"e\":\"AQAB\"", "\"e\":\"AQAB=\""),          // padding
      replace(rsa, "\"e\":\"AQAB\"", "\"e\":\"AQAA\""),           // even exponent
      replace(rsa, "\"e\":\"AQAB\"", "\"e\":\"AQ\""),             // e = 1
      replace(rsa, "\"e\":\"AQAB\"", "\"x\":\"AQAB\""),           // missing e
      replace(rsa, "\"e\":\"AQAB\"", "\"e\":65537"),              // not a string
      replace(rsa, "\"kty\":\"RSA\"", "\"kty\":\"RSA\",\"d\":\"AQAB\""),  // private
      replace(rsa, "\"kid\":\"r\"", "\"kid\":\"r\",\"alg\":\"HS256\""),   // alg contradicts kty
      public_jwk(test::generate_rsa(1024).get(), "small"),
      R"({"kty":"RSA","e":"AQAB","n":")" + base64url_encode(std::string(1100, '\xff')) + R"("})",  // > 8192 bits
      R"({"kty":"RSA","e":"AQAB","n":")" + base64url_encode(std::string(1025, '\xff')) + R"("})",  // 8200 bits
      replace(ec, "\"x\":\"", "\"x\":\"AAAA"),                    // coordinate too long
      replace(ec, "\"crv\":\"P-256\"", "\"crv\":\"P-384\""),      // coordinates of the wrong size
      replace(ec, "\"kty\":\"EC\"", "\"kty\":\"EC\",\"d\":\"AAAA\""),
      replace(ec, "\"crv\":\"P-256\",", ""),
      replace(ed, "\"x\":\"", "\"x\":\"AAAA"),
      R"({"kty":"EC","crv":"P-256","x":")" + base64url_encode(std::string(32, '\x01')) + R"(","y":")" +
          base64url_encode(std::string(32, '\x02')) + R"("})",  // not on the curve
      R"({"kty":"oct","k":""})",
      R"({"kty":"oct"})",
      R"({"kty":"oct","k":"c2VjcmV0","kid":7})",
      R"({"kty":"oct","k":"c2VjcmV0","kid":"a\u0001"})",
      R"({"kty":"oct","k":"c2VjcmV0","use":1})",
      R"({"kty":"oct","k":"c2VjcmV0","key_ops":"verify"})",
      R"({"kid":"no kty","k":"c2VjcmV0"})",
      R"("not an object")",
  };
  for (const std::string& key : cases) {
    const JwksResult r = parse_jwks(jwks({public_jwk(test::ec_p384(), "fine"), key}));
    EXPECT_FALSE(r.keys) << key;
    EXPECT_EQ(r.error.rfind("keys[1]: ", 0), 0u) << r.error;
  }
}

TEST(Jwks, DuplicateKids) {
  const std::string a = public_jwk(test::rsa2048(), "same");
  const std::string b = public_jwk(test::rsa2048_other(), "same");
  const JwksResult dup = parse_jwks(jwks({a, b}));
  EXPECT_FALSE(dup.keys);
  EXPECT_NE(dup.error.find("kid"), std::string::npos);
  // Same kid, different key types: allowed (RFC 7517 §4.5); lookup goes by algorithm.
  const JwksResult mixed = parse_jwks(jwks({a, public_jwk(test::ec_p256(), "same")}));
  ASSERT_TRUE(mixed.keys) << mixed.error;
  EXPECT_EQ(mixed.keys->find("same", JwsAlg::kES256)->type(), KeyType::kEcP256);
  EXPECT_EQ(mixed.keys->find("same", JwsAlg::kRS256)->type(), KeyType::kRsa);
  // Keys without kid never collide.
  EXPECT_TRUE(parse_jwks(jwks({public_jwk(test::rsa2048(), ""), public_jwk(test::rsa2048_other(), "")})).keys);
}

TEST(Jwks, RejectsMalformedDocuments) {
  EXPECT_FALSE(parse_jwks("").keys);
  EXPECT_FALSE(parse_jwks("[]").keys);
  EXPECT_FALSE(parse_jwks("{}").keys);
  EXPECT_FALSE(parse_jwks(R"({"keys":{}})").keys);
  EXPECT_FALSE(parse_jwks(R"({"keys":[],"keys":[]})").keys);
  EXPECT_FALSE(parse_jwks(R"({"keys":[{"kty":"oct","k":"c2VjcmV0","k":"b3RoZXI"}]})").keys);
  EXPECT_FALSE(parse_jwks(R"({"keys":[]}x)").keys);
  JwksLimits limits;
  limits.max_keys = 1;
  EXPECT_FALSE(parse_jwks(R"({"keys":[{"kty":"X"},{"kty":"X"}]})", limits).keys);
  limits.max_document_bytes = 10;
  EXPECT_FALSE(parse_jwks(R"({"keys":[]})", limits).keys);
  const JwksResult empty = parse_jwks(R"({"keys":[],"other":1})");
  ASSERT_TRUE(empty.keys);
  EXPECT_TRUE(empty.keys->empty());
}

}  // namespace
}  // namespace portico::auth
