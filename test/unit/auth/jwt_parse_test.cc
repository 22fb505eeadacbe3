#include <gtest/gtest.h>

#include <set>
#include <string>

#include "auth/base64url.h"
#include "auth/jwt.h"
#include "jwt_test_support.h"

namespace portico::auth {
namespace {

using test::header_for;
using test::make_token;

constexpr std::string_view kSecret = "a-test-secret-of-32-bytes-length";
constexpr std::string_view kClaims = R"({"sub":"alice","exp":4102444800})";

// A token with arbitrary header and claims text, signed HS256 with kSecret.
std::string hs256(std::string_view header, std::string_view claims = kClaims) {
  return make_token(header, claims, JwsAlg::kHS256, nullptr, kSecret);
}

// Segments joined by '.', each given already encoded.
std::string raw(std::string_view h, std::string_view p, std::string_view s) {
  return std::string(h) + "." + std::string(p) + "." + std::string(s);
}

JwtError parse(std::string_view token, ParseLimits limits = {}) {
  Jwt jwt;
  return parse_jwt(token, jwt, limits);
}

TEST(JwtParse, ParsesAValidToken) {
  const std::string token = hs256(R"({"alg":"HS256","typ":"JWT","kid":"k1"})");
  Jwt jwt;
  ASSERT_EQ(parse_jwt(token, jwt), JwtError::kOk);
  EXPECT_EQ(jwt.alg, JwsAlg::kHS256);
  ASSERT_TRUE(jwt.kid);
  EXPECT_EQ(*jwt.kid, "k1");
  EXPECT_EQ(jwt.claims.at("sub").as_string(), "alice");
  EXPECT_EQ(jwt.signature.size(), 32u);
  EXPECT_EQ(jwt.signing_input, std::string_view(token).substr(0, token.rfind('.')));
}

TEST(JwtParse, EveryAlgorithmNameIsKnown) {
  for (size_t i = 0; i < kJwsAlgCount; ++i) {
    const auto alg = static_cast<JwsAlg>(i);
    EXPECT_EQ(parse_alg(to_string(alg)), alg);
  }
  EXPECT_FALSE(parse_alg("hs256"));
  EXPECT_FALSE(parse_alg("ES512"));
  EXPECT_FALSE(parse_alg("none"));
}

TEST(JwtParse, RejectsAlgNoneInAnyCase) {
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    const std::string header = std::string(R"({"alg":")") + none + "\"}";
    EXPECT_EQ(parse(hs256(header)), JwtError::kAlgNone) << none;
    // The classic form: no signature at all.
    EXPECT_EQ(parse(raw(base64url_encode(header), base64url_encode(kClaims), "")), JwtError::kMalformed);
  }
}

TEST(JwtParse, RejectsMissingOrUnknownAlg) {
  EXPECT_EQ(parse(hs256(R"({"typ":"JWT"})")), JwtError::kAlgMissing);
  EXPECT_EQ(parse(hs256(R"({"alg":256})")), JwtError::kAlgMissing);
  EXPECT_EQ(parse(hs256(R"({"alg":null})")), JwtError::kAlgMissing);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS257"})")), JwtError::kAlgUnknown);
  EXPECT_EQ(parse(hs256(R"({"alg":"hs256"})")), JwtError::kAlgUnknown);
  EXPECT_EQ(parse(hs256(R"({"alg":"RSA-OAEP","enc":"A256GCM"})")), JwtError::kAlgUnknown);
}

TEST(JwtParse, RejectsCrit) {
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","crit":["exp"],"exp":1})")), JwtError::kUnsupportedCrit);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","crit":[]})")), JwtError::kUnsupportedCrit);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","crit":"b64"})")), JwtError::kUnsupportedCrit);
}

TEST(JwtParse, KidIsOpaqueButBounded) {
  Jwt jwt;
  ASSERT_EQ(parse_jwt(hs256(R"({"alg":"HS256","kid":"../../etc/passwd"})"), jwt), JwtError::kOk);
  EXPECT_EQ(*jwt.kid, "../../etc/passwd");  // kept verbatim; only ever compared, never opened
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","kid":"a\u0000b"})")), JwtError::kBadKid);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","kid":"a\nb"})")), JwtError::kBadKid);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","kid":"\u007f"})")), JwtError::kBadKid);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","kid":7})")), JwtError::kBadKid);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","kid":["a"]})")), JwtError::kBadKid);
  const std::string at_limit(256, 'k');
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","kid":")" + at_limit + "\"}")), JwtError::kOk);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","kid":")" + at_limit + "k\"}")), JwtError::kBadKid);
  Jwt no_kid;
  ASSERT_EQ(parse_jwt(hs256(R"({"alg":"HS256"})"), no_kid), JwtError::kOk);
  EXPECT_FALSE(no_kid.kid);
}

TEST(JwtParse, RejectsDuplicateMembers) {
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","alg":"none"})")), JwtError::kDuplicateKey);
  EXPECT_EQ(parse(hs256(R"({"alg":"none","alg":"HS256"})")), JwtError::kDuplicateKey);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256","kid":"a","kid":"b"})")), JwtError::kDuplicateKey);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", R"({"sub":"a","sub":"admin"})")), JwtError::kDuplicateKey);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", R"({"exp":1,"x":{"a":1,"a":2}})")), JwtError::kDuplicateKey);
  // An escape spelling the same name is the same name.
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", R"({"sub":"a","s\u0075b":"b"})")), JwtError::kDuplicateKey);
  // Same name in sibling objects is fine.
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", R"({"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]})")),
            JwtError::kOk);
}

TEST(JwtParse, RejectsNonObjectsAndBadJson) {
  EXPECT_EQ(parse(hs256(R"(["alg","HS256"])")), JwtError::kMalformed);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", R"("just a string")")), JwtError::kMalformed);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", "42")), JwtError::kMalformed);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256",})")), JwtError::kBadJson);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"} )" "x")), JwtError::kBadJson);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", R"({"a":1}{"b":2})")), JwtError::kBadJson);
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", "{\"a\":\"\xff\"}")), JwtError::kBadJson);  // invalid UTF-8
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"} // c)")), JwtError::kBadJson);
  std::string deep(100, '[');
  deep = R"({"a":)" + deep + std::string(100, ']') + "}";
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", deep)), JwtError::kBadJson);
}

TEST(JwtParse, RejectsBadBase64) {
  const std::string good = hs256(R"({"alg":"HS256"})");
  const size_t d1 = good.find('.');
  const size_t d2 = good.rfind('.');
  const std::string h = good.substr(0, d1), p = good.substr(d1 + 1, d2 - d1 - 1), s = good.substr(d2 + 1);
  EXPECT_EQ(parse(raw(h + "=", p, s)), JwtError::kBadBase64);
  EXPECT_EQ(parse(raw(h, p, s + "=")), JwtError::kBadBase64);
  EXPECT_EQ(parse(raw(h, p + "==", s)), JwtError::kBadBase64);
  std::string plus = s;
  plus[3] = '+';
  EXPECT_EQ(parse(raw(h, p, plus)), JwtError::kBadBase64);
  std::string slash = p;
  slash[2] = '/';
  EXPECT_EQ(parse(raw(h, slash, s)), JwtError::kBadBase64);
  EXPECT_EQ(parse(raw(h, p, s.substr(0, 2) + " " + s.substr(2))), JwtError::kBadBase64);
  // 32-byte HMAC: 43 characters, the last carrying 2 unused bits that must be zero.
  ASSERT_EQ(s.size(), 43u);
  std::string trailing = s;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  trailing.back() = alphabet[alphabet.find(s.back()) ^ 1];
  EXPECT_EQ(parse(raw(h, p, trailing)), JwtError::kBadBase64);
}

TEST(JwtParse, RejectsWrongSegmentCounts) {
  const std::string good = hs256(R"({"alg":"HS256"})");
  EXPECT_EQ(parse(""), JwtError::kMalformed);
  EXPECT_EQ(parse("."), JwtError::kMalformed);
  EXPECT_EQ(parse(".."), JwtError::kMalformed);
  EXPECT_EQ(parse(good.substr(0, good.find('.'))), JwtError::kMalformed);
  EXPECT_EQ(parse(good.substr(0, good.rfind('.'))), JwtError::kMalformed);
  EXPECT_EQ(parse(good.substr(0, good.rfind('.') + 1)), JwtError::kMalformed);
  EXPECT_EQ(parse(good + "."), JwtError::kMalformed);
  EXPECT_EQ(parse(good + ".AAAA"), JwtError::kMalformed);
  EXPECT_EQ(parse(good + ".AAAA.AAAA"), JwtError::kMalformed);  // JWE shape
  std::string no_header = good;
  no_header.erase(0, good.find('.'));  // ".payload.signature"
  EXPECT_EQ(parse(no_header), JwtError::kMalformed);
}

TEST(JwtParse, TruncationAtEveryLengthNeverParses) {
  const std::string good = hs256(R"({"alg":"HS256","kid":"k"})");
  for (size_t n = 0; n < good.size(); ++n) {
    Jwt jwt;
    const JwtError e = parse_jwt(std::string_view(good).substr(0, n), jwt);
    // Cutting only the signature may still parse (the signature check rejects it), but the
    // signature must then be shorter than the original.
    if (e == JwtError::kOk) {
      EXPECT_LT(jwt.signature.size(), 32u) << n;
    }
  }
}

TEST(JwtParse, SizeLimitIsCheckedBeforeDecoding) {
  const std::string good = hs256(R"({"alg":"HS256"})");
  ParseLimits limits;
  limits.max_token_bytes = good.size();
  EXPECT_EQ(parse(good, limits), JwtError::kOk);
  limits.max_token_bytes = good.size() - 1;
  EXPECT_EQ(parse(good, limits), JwtError::kTooLarge);
  // Default 8 KiB: an oversized token of garbage is "too large", not "bad base64".
  EXPECT_EQ(parse(std::string(8 * 1024 + 1, '!')), JwtError::kTooLarge);
  const std::string big_claims = R"({"pad":")" + std::string(7000, 'x') + "\"}";
  EXPECT_EQ(parse(hs256(R"({"alg":"HS256"})", big_claims)), JwtError::kTooLarge);
}

TEST(JwtParse, ErrorLabelsAndMessagesAreDistinctAndSafe) {
  std::set<std::string_view> labels, messages;
  for (size_t i = 0; i < kJwtErrorCount; ++i) {
    const auto e = static_cast<JwtError>(i);
    EXPECT_TRUE(labels.insert(to_string(e)).second) << to_string(e);
    EXPECT_TRUE(messages.insert(message(e)).second) << message(e);
    for (char c : to_string(e)) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    for (char c : message(e)) EXPECT_NE(c, '"');  // embeddable in a JSON body as is
  }
  EXPECT_EQ(to_string(JwtError::kBadSignature), "bad_signature");
}

}  // namespace
}  // namespace portico::auth
