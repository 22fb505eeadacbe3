#include "auth/jwt_verify.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "auth/base64url.h"
#include "auth/jwk.h"
#include "jwt_test_support.h"

namespace portico::auth {
namespace {

using namespace std::chrono_literals;
using test::header_for;
using test::make_token;

constexpr std::string_view kSecret = "a-test-secret-of-32-bytes-length";
constexpr std::string_view kSecret64 = "another-secret-long-enough-for-HS512-which-wants-64-bytes-of-key!";
constexpr int64_t kNow = 1'800'000'000;

std::vector<JwsAlg> all_algs() {
  std::vector<JwsAlg> v;
  for (size_t i = 0; i < kJwsAlgCount; ++i) v.push_back(static_cast<JwsAlg>(i));
  return v;
}

std::shared_ptr<const Key> pem_key(EVP_PKEY* k, std::string kid, std::optional<JwsAlg> alg = std::nullopt) {
  KeyResult r = load_pem_public_key(test::public_pem(k), std::move(kid), alg);
  EXPECT_TRUE(r.key) << r.error;
  return r.key;
}

std::shared_ptr<const Key> hmac_key(std::string_view secret, std::string kid) {
  KeyResult r = load_hmac_secret(secret, false, std::move(kid));
  EXPECT_TRUE(r.key) << r.error;
  return r.key;
}

// One key of every type, each with its own kid.
KeySet all_keys() {
  return KeySet({hmac_key(kSecret, "hs"), hmac_key(kSecret64, "hs512"), pem_key(test::rsa2048(), "rsa"),
                 pem_key(test::ec_p256(), "p256"), pem_key(test::ec_p384(), "p384"),
                 pem_key(test::ed25519(), "ed")});
}

struct Signer {
  EVP_PKEY* key;
  std::string_view secret;
  const char* kid;
};

Signer signer_for(JwsAlg alg) {
  switch (key_type_for(alg)) {
    case KeyType::kOct: return {nullptr, alg == JwsAlg::kHS512 ? kSecret64 : kSecret, alg == JwsAlg::kHS512 ? "hs512" : "hs"};
    case KeyType::kRsa: return {test::rsa2048(), {}, "rsa"};
    case KeyType::kEcP256: return {test::ec_p256(), {}, "p256"};
    case KeyType::kEcP384: return {test::ec_p384(), {}, "p384"};
    case KeyType::kEd25519: return {test::ed25519(), {}, "ed"};
  }
  return {};
}

std::string token_for(JwsAlg alg, std::string_view claims, bool with_kid = true) {
  const Signer s = signer_for(alg);
  return make_token(header_for(alg, with_kid ? s.kid : ""), claims, alg, s.key, s.secret);
}

VerifyPolicy allow_all() {
  VerifyPolicy p;
  p.allowed_algs = all_algs();
  return p;
}

JwtError run(std::string_view token, const KeySet& keys, const VerifyPolicy& policy, int64_t now = kNow) {
  Jwt jwt;
  return authenticate(token, keys, policy, ParseLimits{}, now, jwt);
}

const std::string kClaims = R"({"sub":"alice","iat":1799999000,"exp":1800003600})";

TEST(JwtVerify, EveryAlgorithmRoundTrips) {
  const KeySet keys = all_keys();
  for (JwsAlg alg : all_algs()) {
    const std::string token = token_for(alg, kClaims);
    Jwt jwt;
    const Key* used = nullptr;
    EXPECT_EQ(authenticate(token, keys, allow_all(), {}, kNow, jwt, &used), JwtError::kOk) << to_string(alg);
    ASSERT_NE(used, nullptr);
    EXPECT_EQ(used->kid(), signer_for(alg).kid);
    // Without kid, the key is found among the keys of the algorithm's type.
    EXPECT_EQ(run(token_for(alg, kClaims, false), keys, allow_all()), JwtError::kOk) << to_string(alg);
  }
}

TEST(JwtVerify, TamperedTokensFail) {
  const KeySet keys = all_keys();
  for (JwsAlg alg : all_algs()) {
    const std::string token = token_for(alg, kClaims);
    const size_t d1 = token.find('.');
    const size_t d2 = token.rfind('.');
    // Other claims under the original signature.
    const std::string forged = token.substr(0, d1 + 1) + base64url_encode(R"({"sub":"admin","exp":1800003600})") +
                               token.substr(d2);
    EXPECT_EQ(run(forged, keys, allow_all()), JwtError::kBadSignature) << to_string(alg);
    // One flipped signature bit.
    Jwt jwt;
    ASSERT_EQ(parse_jwt(token, jwt), JwtError::kOk);
    jwt.signature[jwt.signature.size() / 2] ^= 0x01;
    EXPECT_EQ(verify_jwt(jwt, keys, allow_all(), kNow), JwtError::kBadSignature) << to_string(alg);
  }
}

TEST(JwtVerify, SignatureByAnotherKeyFails) {
  const KeySet keys({pem_key(test::rsa2048(), "rsa")});
  const std::string token = make_token(header_for(JwsAlg::kRS256, "rsa"), kClaims, JwsAlg::kRS256,
                                       test::rsa2048_other());
  EXPECT_EQ(run(token, keys, allow_all()), JwtError::kBadSignature);
}

TEST(JwtVerify, AlgorithmMustBeAllowed) {
  const KeySet keys = all_keys();
  VerifyPolicy p;
  p.allowed_algs = {JwsAlg::kRS256};
  EXPECT_EQ(run(token_for(JwsAlg::kRS256, kClaims), keys, p), JwtError::kOk);
  EXPECT_EQ(run(token_for(JwsAlg::kPS256, kClaims), keys, p), JwtError::kAlgNotAllowed);
  EXPECT_EQ(run(token_for(JwsAlg::kHS256, kClaims), keys, p), JwtError::kAlgNotAllowed);
  p.allowed_algs.clear();
  EXPECT_EQ(run(token_for(JwsAlg::kRS256, kClaims), keys, p), JwtError::kAlgNotAllowed);
}

// The classic confusion attack: the verifier has an RSA public key; the attacker signs HS256 with
// the PEM text of that public key as the HMAC secret.
TEST(JwtVerify, KeyConfusionHs256WithRsaPublicKeyFails) {
  const std::string pem = test::public_pem(test::rsa2048());
  const KeySet keys({pem_key(test::rsa2048(), "rsa")});
  VerifyPolicy p;
  p.allowed_algs = {JwsAlg::kRS256, JwsAlg::kHS256};  // even a careless allow-list
  for (const bool with_kid : {true, false}) {
    const std::string forged =
        make_token(header_for(JwsAlg::kHS256, with_kid ? "rsa" : ""), kClaims, JwsAlg::kHS256, nullptr, pem);
    EXPECT_EQ(run(forged, keys, p), JwtError::kUnknownKid);
  }
  // And the RSA key object refuses HS256 outright.
  Jwt jwt;
  ASSERT_EQ(parse_jwt(make_token(header_for(JwsAlg::kHS256), kClaims, JwsAlg::kHS256, nullptr, pem), jwt),
            JwtError::kOk);
  EXPECT_EQ(verify_signature(jwt, *keys.keys()[0]), JwtError::kAlgNotAllowed);
  EXPECT_FALSE(keys.keys()[0]->usable_with(JwsAlg::kHS256));
  EXPECT_TRUE(keys.keys()[0]->secret().empty());
}

TEST(JwtVerify, KeyTypeMustMatchAlgorithm) {
  const KeySet keys = all_keys();
  const auto hs = hmac_key(kSecret, "x");
  const auto rsa = pem_key(test::rsa2048(), "x");
  const auto p256 = pem_key(test::ec_p256(), "x");
  const auto p384 = pem_key(test::ec_p384(), "x");
  const auto ed = pem_key(test::ed25519(), "x");
  for (JwsAlg alg : all_algs()) {
    Jwt jwt;
    ASSERT_EQ(parse_jwt(token_for(alg, kClaims), jwt), JwtError::kOk);
    for (const auto& k : {hs, rsa, p256, p384, ed}) {
      if (k->type() == key_type_for(alg)) continue;
      EXPECT_EQ(verify_signature(jwt, *k), JwtError::kAlgNotAllowed) << to_string(alg) << " " << to_string(k->type());
    }
  }
  // A token naming the RSA key's kid but claiming ES256 finds no ES256 key under that kid.
  const std::string token = make_token(header_for(JwsAlg::kES256, "rsa"), kClaims, JwsAlg::kES256, test::ec_p256());
  EXPECT_EQ(run(token, keys, allow_all()), JwtError::kUnknownKid);
}

TEST(JwtVerify, KeyAlgRestrictionIsHonoured) {
  const KeySet keys({pem_key(test::rsa2048(), "rsa", JwsAlg::kPS256)});
  EXPECT_EQ(run(token_for(JwsAlg::kPS256, kClaims), keys, allow_all()), JwtError::kOk);
  EXPECT_EQ(run(token_for(JwsAlg::kRS256, kClaims), keys, allow_all()), JwtError::kUnknownKid);
  EXPECT_FALSE(load_pem_public_key(test::public_pem(test::rsa2048()), "x", JwsAlg::kES256).key);
}

TEST(JwtVerify, UnknownKidsAndPathTricks) {
  const KeySet keys = all_keys();
  const Signer s = signer_for(JwsAlg::kHS256);
  for (const std::string& kid : std::vector<std::string>{"nope", "../../etc/passwd", "/dev/null", "hs/../hs", "HS", "hs ",
                                                          std::string(256, 'a')}) {
    const std::string token = make_token(header_for(JwsAlg::kHS256, kid), kClaims, JwsAlg::kHS256, nullptr, s.secret);
    EXPECT_EQ(run(token, keys, allow_all()), JwtError::kUnknownKid) << kid;
  }
  const std::string nul = make_token(R"({"alg":"HS256","kid":"hs\u0000"})", kClaims, JwsAlg::kHS256, nullptr, s.secret);
  EXPECT_EQ(run(nul, keys, allow_all()), JwtError::kBadKid);
  const std::string long_kid = make_token(header_for(JwsAlg::kHS256, std::string(5000, 'a')), kClaims, JwsAlg::kHS256,
                                          nullptr, s.secret);
  EXPECT_EQ(run(long_kid, keys, allow_all()), JwtError::kBadKid);
}

TEST(JwtVerify, RequireKid) {
  const KeySet keys = all_keys();
  VerifyPolicy p = allow_all();
  p.require_kid = true;
  EXPECT_EQ(run(token_for(JwsAlg::kES256, kClaims, false), keys, p), JwtError::kUnknownKid);
  EXPECT_EQ(run(token_for(JwsAlg::kES256, kClaims, true), keys, p), JwtError::kOk);
  EXPECT_EQ(run(token_for(JwsAlg::kES256, kClaims, false), KeySet(), allow_all()), JwtError::kUnknownKid);
}

TEST(JwtVerify, WithoutKidEveryCandidateIsTried) {
  const KeySet keys({pem_key(test::rsa2048_other(), "a"), pem_key(test::rsa2048(), "b")});
  const Key* used = nullptr;
  Jwt jwt;
  ASSERT_EQ(authenticate(token_for(JwsAlg::kRS256, kClaims, false), keys, allow_all(), {}, kNow, jwt, &used),
            JwtError::kOk);
  EXPECT_EQ(used->kid(), "b");
  const KeySet wrong({pem_key(test::rsa2048_other(), "a")});
  EXPECT_EQ(run(token_for(JwsAlg::kRS256, kClaims, false), wrong, allow_all()), JwtError::kBadSignature);
}

TEST(JwtVerify, EcdsaSignatureMustBeRawAndExactLength) {
  const KeySet keys = all_keys();
  for (JwsAlg alg : {JwsAlg::kES256, JwsAlg::kES384}) {
    const Signer s = signer_for(alg);
    const std::string input = base64url_encode(header_for(alg, s.kid)) + "." + base64url_encode(kClaims);
    const std::string good = test::sign(alg, s.key, {}, input);
    ASSERT_EQ(good.size(), alg == JwsAlg::kES256 ? 64u : 96u);
    EXPECT_EQ(run(input + "." + base64url_encode(good), keys, allow_all()), JwtError::kOk);
    // DER, as OpenSSL produces it: a valid signature in the wrong encoding.
    const std::string der = test::sign_ecdsa_der(alg, s.key, input);
    EXPECT_EQ(run(input + "." + base64url_encode(der), keys, allow_all()), JwtError::kBadSignature);
    // One byte short, one byte long (a leading zero), empty halves.
    EXPECT_EQ(run(input + "." + base64url_encode(good.substr(1)), keys, allow_all()), JwtError::kBadSignature);
    EXPECT_EQ(run(input + "." + base64url_encode(std::string(1, '\0') + good), keys, allow_all()),
              JwtError::kBadSignature);
    EXPECT_EQ(run(input + "." + base64url_encode(std::string(good.size(), '\0')), keys, allow_all()),
              JwtError::kBadSignature);
    // r and s swapped.
    const size_t n = good.size() / 2;
    EXPECT_EQ(run(input + "." + base64url_encode(good.substr(n) + good.substr(0, n)), keys, allow_all()),
              JwtError::kBadSignature);
  }
}

TEST(JwtVerify, RsaAndEdSignatureLengthIsExact) {
  const KeySet keys = all_keys();
  for (JwsAlg alg : {JwsAlg::kRS256, JwsAlg::kPS256, JwsAlg::kEdDSA}) {
    const Signer s = signer_for(alg);
    const std::string input = base64url_encode(header_for(alg, s.kid)) + "." + base64url_encode(kClaims);
    const std::string good = test::sign(alg, s.key, {}, input);
    EXPECT_EQ(run(input + "." + base64url_encode(std::string(1, '\0') + good), keys, allow_all()),
              JwtError::kBadSignature);
    EXPECT_EQ(run(input + "." + base64url_encode(good.substr(0, good.size() - 1)), keys, allow_all()),
              JwtError::kBadSignature);
  }
  // HS256 truncated to 16 bytes.
  const std::string input = base64url_encode(header_for(JwsAlg::kHS256, "hs")) + "." + base64url_encode(kClaims);
  const std::string mac = test::sign(JwsAlg::kHS256, nullptr, kSecret, input);
  EXPECT_EQ(run(input + "." + base64url_encode(mac.substr(0, 16)), keys, allow_all()), JwtError::kBadSignature);
}

TEST(JwtVerify, EmbeddedKeysAreNeverTrusted) {
  const KeySet keys = all_keys();
  // An attacker's own key, announced in the header with the victim key's kid.
  const test::Pkey attacker = test::generate_ec("P-256");
  const std::string header = R"({"alg":"ES256","kid":"p256","jwk":)" + test::public_jwk(attacker.get(), "p256") +
                             R"(,"jku":"https://evil.example/jwks.json","x5u":"https://evil.example/c.pem"})";
  EXPECT_EQ(run(make_token(header, kClaims, JwsAlg::kES256, attacker.get()), keys, allow_all()),
            JwtError::kBadSignature);
}

TEST(JwtVerify, FailuresLeaveNoOpenSslErrors) {
  const KeySet keys = all_keys();
  for (JwsAlg alg : all_algs()) {
    Jwt jwt;
    ASSERT_EQ(parse_jwt(token_for(alg, kClaims), jwt), JwtError::kOk);
    jwt.signature[0] ^= 0x80;
    EXPECT_EQ(verify_jwt(jwt, keys, allow_all(), kNow), JwtError::kBadSignature);
    EXPECT_EQ(ERR_peek_error(), 0u) << to_string(alg);
  }
  EXPECT_FALSE(load_pem_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "k").key);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// Keys are shared by every worker: concurrent verification with one KeySet must just work.
TEST(JwtVerify, ConcurrentVerificationSharesKeys) {
  const KeySet keys = all_keys();
  std::vector<std::string> tokens;
  for (JwsAlg alg : all_algs()) tokens.push_back(token_for(alg, kClaims));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        for (const std::string& token : tokens) {
          if (run(token, keys, allow_all()) != JwtError::kOk) failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---- claims ------------------------------------------------------------------------------

JwtError claims(std::string_view json, const ClaimPolicy& policy, int64_t now = kNow) {
  Jwt jwt;
  const std::string token = make_token(R"({"alg":"HS256"})", json, JwsAlg::kHS256, nullptr, kSecret);
  EXPECT_EQ(parse_jwt(token, jwt), JwtError::kOk) << json;
  return check_claims(jwt.claims, policy, now);
}

TEST(JwtClaims, ExpiryAndLeewayBoundaries) {
  ClaimPolicy p;
  EXPECT_EQ(claims(R"({"exp":1800000001})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"exp":1800000000})", p), JwtError::kExpired);  // now == exp: expired
  EXPECT_EQ(claims(R"({"exp":1799999999})", p), JwtError::kExpired);
  EXPECT_EQ(claims(R"({"exp":1800000000.5})", p), JwtError::kOk);
  p.leeway = 30s;
  EXPECT_EQ(claims(R"({"exp":1799999971})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"exp":1799999970})", p), JwtError::kExpired);
}

TEST(JwtClaims, NotBeforeAndLeewayBoundaries) {
  ClaimPolicy p;
  EXPECT_EQ(claims(R"({"nbf":1800000000})", p), JwtError::kOk);  // now == nbf: valid
  EXPECT_EQ(claims(R"({"nbf":1800000001})", p), JwtError::kNotYetValid);
  p.leeway = 30s;
  EXPECT_EQ(claims(R"({"nbf":1800000030})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"nbf":1800000031})", p), JwtError::kNotYetValid);
}

TEST(JwtClaims, IssuedAt) {
  ClaimPolicy p;
  EXPECT_EQ(claims(R"({"iat":1800000000})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"iat":1800000001})", p), JwtError::kIssuedInFuture);
  p.leeway = 5s;
  EXPECT_EQ(claims(R"({"iat":1800000005})", p), JwtError::kOk);
  p.reject_future_iat = false;
  EXPECT_EQ(claims(R"({"iat":1900000000})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"iat":"1800000000"})", p), JwtError::kBadClaim);
}

TEST(JwtClaims, DatesMustBeNumbers) {
  ClaimPolicy p;
  for (const char* c : {R"({"exp":"1900000000"})", R"({"exp":true})", R"({"exp":null})", R"({"exp":[1]})",
                        R"({"nbf":"0"})", R"({"nbf":{}})", R"({"exp":1e999})"}) {
    const JwtError e = claims(c, p);
    EXPECT_TRUE(e == JwtError::kBadClaim) << c << " " << to_string(e);
  }
}

TEST(JwtClaims, RequiredDates) {
  ClaimPolicy p;
  p.require_exp = true;
  EXPECT_EQ(claims(R"({"sub":"a"})", p), JwtError::kMissingClaim);
  p.require_exp = false;
  p.require_nbf = true;
  EXPECT_EQ(claims(R"({"exp":1900000000})", p), JwtError::kMissingClaim);
  EXPECT_EQ(claims(R"({"exp":1900000000,"nbf":1})", p), JwtError::kOk);
}

TEST(JwtClaims, MaximumExpiration) {
  ClaimPolicy p;
  p.maximum_expiration = 3600s;
  EXPECT_EQ(claims(R"({"exp":1800003600})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"exp":1800003601})", p), JwtError::kTooLongLived);
  EXPECT_EQ(claims(R"({"sub":"no exp"})", p), JwtError::kMissingClaim);
}

TEST(JwtClaims, Issuer) {
  ClaimPolicy p;
  p.issuers = {"https://idp.example", "https://other.example"};
  EXPECT_EQ(claims(R"({"iss":"https://other.example"})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"iss":"https://idp.example/"})", p), JwtError::kBadIssuer);
  EXPECT_EQ(claims(R"({"iss":"https://evil.example"})", p), JwtError::kBadIssuer);
  EXPECT_EQ(claims(R"({"iss":["https://idp.example"]})", p), JwtError::kBadClaim);
  EXPECT_EQ(claims(R"({"sub":"x"})", p), JwtError::kMissingClaim);
}

TEST(JwtClaims, Audience) {
  ClaimPolicy p;
  p.audiences = {"api", "billing"};
  EXPECT_EQ(claims(R"({"aud":"api"})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"aud":["web","billing"]})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"aud":"web"})", p), JwtError::kBadAudience);
  EXPECT_EQ(claims(R"({"aud":["web","mobile"]})", p), JwtError::kBadAudience);
  EXPECT_EQ(claims(R"({"aud":[]})", p), JwtError::kBadAudience);
  EXPECT_EQ(claims(R"({"aud":["api",7]})", p), JwtError::kBadClaim);
  EXPECT_EQ(claims(R"({"aud":7})", p), JwtError::kBadClaim);
  EXPECT_EQ(claims(R"({"sub":"x"})", p), JwtError::kMissingClaim);
  p.audiences.clear();
  EXPECT_EQ(claims(R"({"aud":7})", p), JwtError::kOk);  // not checked when not configured
}

TEST(JwtClaims, Scopes) {
  ClaimPolicy p;
  p.required_scopes = {"read", "write"};
  EXPECT_EQ(claims(R"({"scope":"read write admin"})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"scope":"read"})", p), JwtError::kMissingScope);
  EXPECT_EQ(claims(R"({"scope":"readwrite"})", p), JwtError::kMissingScope);
  EXPECT_EQ(claims(R"({"scp":["write","read"]})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"scp":"read write"})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"scp":["read"]})", p), JwtError::kMissingScope);
  EXPECT_EQ(claims(R"({"scope":"read","scp":["write"]})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"scp":["read",1]})", p), JwtError::kBadClaim);
  EXPECT_EQ(claims(R"({"scope":["read","write"]})", p), JwtError::kBadClaim);
  EXPECT_EQ(claims(R"({"sub":"x"})", p), JwtError::kMissingScope);
}

TEST(JwtClaims, RequiredClaims) {
  ClaimPolicy p;
  p.required_claims = {"sub", "tenant"};
  EXPECT_EQ(claims(R"({"sub":"a","tenant":"t"})", p), JwtError::kOk);
  EXPECT_EQ(claims(R"({"sub":"a"})", p), JwtError::kMissingClaim);
  EXPECT_EQ(claims(R"({"sub":"a","tenant":null})", p), JwtError::kMissingClaim);
}

TEST(JwtClaims, ClaimsAreCheckedOnlyAfterTheSignature) {
  const KeySet keys = all_keys();
  // Expired and forged: the answer is about the signature, not the expiry.
  const std::string token = make_token(header_for(JwsAlg::kHS256, "hs"), R"({"exp":1})", JwsAlg::kHS256, nullptr,
                                       "wrong-secret");
  EXPECT_EQ(run(token, keys, allow_all()), JwtError::kBadSignature);
  const std::string good = make_token(header_for(JwsAlg::kHS256, "hs"), R"({"exp":1})", JwsAlg::kHS256, nullptr,
                                      kSecret);
  EXPECT_EQ(run(good, keys, allow_all()), JwtError::kExpired);
}

}  // namespace
}  // namespace portico::auth
