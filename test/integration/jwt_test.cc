// The `jwt` plugin through the real gateway: Kong's jwt_secrets (HS256 with a plain and a base64
// secret, RS256, PS256, ES256, ES384, EdDSA), key_claim_name iss and kid, header / query / cookie
// names, claims_to_verify and maximum_expiration, anonymous, consumer headers upstream (forged
// ones dropped) and the consumer seen by acl; the attacks a JWT validator must survive, each
// refused with a JSON body and counted in /status; Portico's issuer/audience and JWKS extension
// (503 before the first good fetch, then keys from a real JWKS server); and config errors with
// file:line:column. Keys and tokens are made here with OpenSSL; nothing is committed.

#include <openssl/evp.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include "auth/base64url.h"
#include "auth/jwt_test_support.h"
#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

// ---- JOSE producer: the auth unit tests' independent OpenSSL signer ---------------------------

using auth::base64url_encode;
using auth::test::ec_p256;
using auth::test::ec_p384;
using auth::test::ed25519;
using auth::test::public_jwk;
using auth::test::public_pem;
using auth::test::rsa2048;
using auth::test::rsa2048_other;

// Standard-alphabet base64 with padding (how Kong's secret_is_base64 secrets are written).
std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

auth::JwsAlg alg_named(std::string_view name) { return auth::parse_alg(name).value(); }

// base64url(header).base64url(claims).base64url(signature) with `alg` as the signing algorithm.
std::string make_token(std::string_view header_json, std::string_view claims_json, std::string_view alg,
                       EVP_PKEY* key, std::string_view secret = {}) {
  return auth::test::make_token(header_json, claims_json, alg_named(alg), key, secret);
}

std::string header_for(std::string_view alg, std::string_view kid = {}) {
  return auth::test::header_for(alg_named(alg), kid);
}

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

// A PEM as a YAML double-quoted scalar.
std::string yaml_quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out + "\"";
}

// ---- fixture -----------------------------------------------------------------------------------

constexpr std::string_view kHsSecret = "example-hs256-secret-for-tests-only";
constexpr std::string_view kBinarySecret = "example\x01\x02 binary secret";

constexpr std::string_view kConfig = R"(
consumers:
  - username: alice
    id: 11111111-1111-4111-8111-111111111111
    custom_id: A-1
    acls:
      - group: admins
    jwt_secrets:
      - key: alice-hs
        id: 22222222-2222-4222-8222-222222222222
        secret: {{HS}}
      - key: alice-b64
        secret: {{B64}}
      - key: alice-rs
        algorithm: RS256
        rsa_public_key: {{RSA}}
      - key: alice-ps
        algorithm: PS256
        rsa_public_key: {{RSA}}
      - key: alice-es256
        algorithm: ES256
        rsa_public_key: {{P256}}
      - key: alice-es384
        algorithm: ES384
        rsa_public_key: {{P384}}
      - key: alice-ed
        algorithm: EdDSA
        rsa_public_key: {{ED}}
  - username: bob
    custom_id: B-2
    acls:
      - group: users
  - username: guest
    id: 33333333-3333-4333-8333-333333333333
jwt_secrets:
  - key: bob-hs
    algorithm: HS384
    secret: example-bob-secret-for-tests-only
    consumer: bob
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: jwt
        paths: ["/jwt"]
        plugins:
          - name: jwt
      - name: kid
        paths: ["/kid"]
        plugins:
          - name: jwt
            config: { key_claim_name: kid }
      - name: b64
        paths: ["/b64"]
        plugins:
          - name: jwt
            config: { secret_is_base64: true }
      - name: names
        paths: ["/names"]
        plugins:
          - name: jwt
            config: { header_names: [x-token], uri_param_names: [token], cookie_names: [session], realm: portico }
      - name: claims
        paths: ["/claims"]
        plugins:
          - name: jwt
            config: { claims_to_verify: [exp, nbf], maximum_expiration: 3600 }
      - name: anon
        paths: ["/anon"]
        plugins:
          - name: jwt
            config: { anonymous: guest }
      - name: acl
        paths: ["/acl"]
        plugins:
          - name: jwt
          - name: acl
            config: { allow: [admins] }
      - name: idp
        paths: ["/idp"]
        plugins:
          - name: jwt
            config: { issuers: ["https://idp.example"], key_claim_name: kid, audiences: [portico-api], leeway: 5 }
)";

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string hs(kHsSecret);
    yaml_ = config_prelude() + render(kConfig, {{"UP", std::to_string(up_.port())},
                                                 {"HS", hs},
                                                 {"B64", base64(kBinarySecret)},
                                                 {"RSA", yaml_quoted(public_pem(rsa2048()))},
                                                 {"P256", yaml_quoted(public_pem(ec_p256()))},
                                                 {"P384", yaml_quoted(public_pem(ec_p384()))},
                                                 {"ED", yaml_quoted(public_pem(ed25519()))}});
    gw_ = std::make_unique<Gateway>(yaml_);
  }
  Response get(std::string_view target, Headers headers = {}) {
    return fetch(gw_->port(), http_request("GET", target, headers));
  }
  Response bearer(std::string_view target, const std::string& token) {
    return get(target, {{"Authorization", "Bearer " + token}});
  }
  // A 401 with a JSON {"message": ...} body; returns the message.
  std::string refused(const Response& r, int status = 401) {
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, status) << r.describe();
    auto m = json_message(r.text());
    EXPECT_TRUE(m.has_value()) << "not a JSON message body: " << r.text();
    return m.value_or("");
  }
  std::uint64_t rejected(std::string_view reason) {
    return status_counter(*gw_, "auth_rejected.jwt." + std::string(reason));
  }
  std::string hs_token(std::string_view claims) {
    return make_token(header_for("HS256"), claims, "HS256", nullptr, kHsSecret);
  }

  Upstream up_;
  std::unique_ptr<Gateway> gw_;
  std::string yaml_;
};

// ---- Kong behaviour ----------------------------------------------------------------------------

TEST_F(JwtTest, VerifiedTokensAreCachedUntilTheyExpireAndNotAcrossReloads) {
  const long now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  // Four seconds of validity (three at least, as `now` is truncated): room for the requests below
  // on a loaded machine before the token expires.
  const std::string token = hs_token(R"({"iss":"alice-hs","exp":)" + std::to_string(now + 4) + "}");
  for (int i = 0; i < 3; ++i) {  // the first verifies, the others come from the cache: same answer
    Response r = bearer("/jwt", token);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(up_.requests().back().header("X-Consumer-Username"), "alice");
    EXPECT_EQ(up_.requests().back().header("X-Credential-Identifier"), "22222222-2222-4222-8222-222222222222");
  }
  // A forged signature on the same claims is not the cached token. The signature's first
  // character is changed: all its bits are signature bits (the last one's low bits are not, and
  // changing those would make the token bad base64url rather than a forgery).
  std::string forged = token;
  char& first = forged[forged.rfind('.') + 1];
  first = first == 'A' ? 'B' : 'A';
  EXPECT_EQ(refused(bearer("/jwt", forged)), "Invalid signature");
  // Expiry is checked on every hit.
  std::this_thread::sleep_until(std::chrono::system_clock::from_time_t(now + 4) + std::chrono::milliseconds(100));
  EXPECT_EQ(refused(bearer("/jwt", token)), "token has expired");
  EXPECT_EQ(rejected("expired"), 1u);

  // A reload that changes alice's secret: the token verified before must be checked again.
  const std::string fresh = hs_token(R"({"iss":"alice-hs"})");
  ASSERT_EQ(bearer("/jwt", fresh).status, 200);
  std::string changed = yaml_;
  const std::string old_secret(kHsSecret);
  changed.replace(changed.find(old_secret), old_secret.size(), "another-secret-after-the-reload");
  Response reload = fetch(gw_->admin_port(), http_request("POST", "/config", {{"Content-Type", "text/yaml"}}, changed));
  ASSERT_EQ(reload.status, 201) << reload.describe();
  EXPECT_TRUE(eventually([&] { return bearer("/jwt", fresh).status == 401; }));
}


TEST_F(JwtTest, Hs256TokenAuthenticatesAndForwardsConsumerHeadersOnly) {
  const std::string token = hs_token(R"({"iss":"alice-hs","sub":"alice"})");
  Response r = get("/jwt", {{"Authorization", "Bearer " + token},
                            {"X-Consumer-Username", "root"},
                            {"X-Anonymous-Consumer", "true"},
                            {"X-Credential-Identifier", "forged"}});
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.status, 200) << r.describe();
  const RecordedRequest req = up_.requests().back();
  EXPECT_EQ(req.header("X-Consumer-ID"), "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(req.header("X-Consumer-Custom-ID"), "A-1");
  EXPECT_EQ(req.header("X-Consumer-Username"), "alice");
  EXPECT_EQ(req.header_count("X-Consumer-Username"), 1u);
  EXPECT_EQ(req.header("X-Credential-Identifier"), "22222222-2222-4222-8222-222222222222");
  EXPECT_FALSE(req.header("X-Anonymous-Consumer").has_value());

  // "Bearer " is optional.
  EXPECT_EQ(get("/jwt", {{"Authorization", token}}).status, 200);
  // A secret of another consumer (HS384, top-level jwt_secrets with consumer:).
  const std::string bob = make_token(header_for("HS384"), R"({"iss":"bob-hs"})", "HS384", nullptr,
                                     "example-bob-secret-for-tests-only");
  ASSERT_EQ(bearer("/jwt", bob).status, 200);
  EXPECT_EQ(up_.requests().back().header("X-Consumer-Username"), "bob");
}

TEST_F(JwtTest, EveryAsymmetricAlgorithmThroughRsaPublicKey) {
  struct Case {
    const char* alg;
    const char* key_name;
    EVP_PKEY* key;
  };
  for (const Case& c : {Case{"RS256", "alice-rs", rsa2048()}, Case{"PS256", "alice-ps", rsa2048()},
                        Case{"ES256", "alice-es256", ec_p256()}, Case{"ES384", "alice-es384", ec_p384()},
                        Case{"EdDSA", "alice-ed", ed25519()}}) {
    SCOPED_TRACE(c.alg);
    const std::string claims = std::string(R"({"iss":")") + c.key_name + R"("})";
    Response ok = bearer("/jwt", make_token(header_for(c.alg), claims, c.alg, c.key));
    EXPECT_EQ(ok.status, 200) << ok.describe();
    EXPECT_EQ(up_.requests().back().header("X-Consumer-Username"), "alice");
    // The same claims signed by another key of the right type.
    if (std::string_view(c.alg).starts_with("RS") || std::string_view(c.alg).starts_with("PS")) {
      EXPECT_EQ(refused(bearer("/jwt", make_token(header_for(c.alg), claims, c.alg, rsa2048_other()))),
                "Invalid signature");
    }
  }
}

TEST_F(JwtTest, SecretIsBase64DecodesTheSecret) {
  const std::string token =
      make_token(header_for("HS256"), R"({"iss":"alice-b64"})", "HS256", nullptr, kBinarySecret);
  EXPECT_EQ(bearer("/b64", token).status, 200);
  // Without secret_is_base64 the secret is the base64 text itself.
  EXPECT_EQ(refused(bearer("/jwt", token)), "Invalid signature");
  const std::string text_signed =
      make_token(header_for("HS256"), R"({"iss":"alice-b64"})", "HS256", nullptr, base64(kBinarySecret));
  EXPECT_EQ(bearer("/jwt", text_signed).status, 200);
  EXPECT_EQ(refused(bearer("/b64", text_signed)), "Invalid signature");
}

TEST_F(JwtTest, KeyClaimNameKidReadsTheJwtHeader) {
  const std::string token =
      make_token(header_for("RS256", "alice-rs"), R"({"sub":"alice"})", "RS256", rsa2048());
  EXPECT_EQ(bearer("/kid", token).status, 200);
  // With the default `iss` the same token names no secret.
  EXPECT_EQ(refused(bearer("/jwt", token)), "No mandatory 'iss' in claims");
  EXPECT_EQ(refused(bearer("/kid", hs_token(R"({"iss":"alice-hs"})"))), "No mandatory 'kid' in claims");
  EXPECT_EQ(refused(bearer("/jwt", hs_token(R"({"iss":""})"))), "Invalid 'iss' in claims");
}

TEST_F(JwtTest, HeaderQueryAndCookieNames) {
  const std::string token = hs_token(R"({"iss":"alice-hs"})");
  Response h = get("/names", {{"X-Token", "Bearer " + token}});
  EXPECT_EQ(h.status, 200) << h.describe();
  EXPECT_EQ(get("/names?token=" + token).status, 200);
  EXPECT_EQ(get("/names", {{"Cookie", "theme=dark; session=" + token + "; x=1"}}).status, 200);
  // The default names are not looked at on this route.
  Response none = get("/names?jwt=" + token, {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(refused(none), "Unauthorized");
  EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer realm=\"portico\"");
  // The same token twice is one token; two different ones are refused.
  EXPECT_EQ(get("/names?token=" + token, {{"X-Token", token}}).status, 200);
  const std::string other = hs_token(R"({"iss":"alice-hs","n":1})");
  EXPECT_EQ(refused(get("/names?token=" + other, {{"X-Token", token}})), "Multiple tokens provided");
  EXPECT_EQ(refused(get("/jwt", {{"Authorization", "Bearer " + token}, {"Authorization", "Bearer " + other}})),
            "Multiple tokens provided");
  EXPECT_EQ(rejected("multiple_tokens"), 2u);
  // Default uri_param_names: jwt.
  EXPECT_EQ(get("/jwt?jwt=" + token).status, 200);
}

TEST_F(JwtTest, ClaimsToVerifyAndMaximumExpiration) {
  const int64_t t = now();
  EXPECT_EQ(bearer("/claims", hs_token(R"({"iss":"alice-hs","exp":)" + std::to_string(t + 600) +
                                       R"(,"nbf":)" + std::to_string(t - 10) + "}"))
                .status,
            200);
  // exp and nbf are mandatory here.
  refused(bearer("/claims", hs_token(R"({"iss":"alice-hs","nbf":)" + std::to_string(t - 10) + "}")));
  refused(bearer("/claims", hs_token(R"({"iss":"alice-hs","exp":)" + std::to_string(t + 600) + "}")));
  // exp more than maximum_expiration (3600 s) away.
  EXPECT_EQ(refused(bearer("/claims", hs_token(R"({"iss":"alice-hs","nbf":0,"exp":)" +
                                                std::to_string(t + 7200) + "}"))),
            "token lifetime exceeds the maximum");
  EXPECT_EQ(rejected("too_long_lived"), 1u);
  // Not mandatory on /jwt, yet checked when present.
  EXPECT_EQ(bearer("/jwt", hs_token(R"({"iss":"alice-hs"})")).status, 200);
}

TEST_F(JwtTest, AnonymousAndAclSeeTheConsumer) {
  Response anon = get("/anon");
  ASSERT_EQ(anon.status, 200) << anon.describe();
  EXPECT_EQ(up_.requests().back().header("X-Consumer-Username"), "guest");
  EXPECT_EQ(up_.requests().back().header("X-Anonymous-Consumer"), "true");
  ASSERT_EQ(get("/anon", {{"Authorization", "Bearer garbage"}}).status, 200);
  EXPECT_EQ(up_.requests().back().header("X-Anonymous-Consumer"), "true");
  ASSERT_EQ(bearer("/anon", hs_token(R"({"iss":"alice-hs"})")).status, 200);
  EXPECT_EQ(up_.requests().back().header("X-Consumer-Username"), "alice");
  EXPECT_FALSE(up_.requests().back().header("X-Anonymous-Consumer").has_value());

  // acl after jwt: alice is an admin, bob is not.
  EXPECT_EQ(bearer("/acl", hs_token(R"({"iss":"alice-hs"})")).status, 200);
  const std::string bob = make_token(header_for("HS384"), R"({"iss":"bob-hs"})", "HS384", nullptr,
                                     "example-bob-secret-for-tests-only");
  refused(bearer("/acl", bob), 403);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.acl.forbidden"), 1u);
}

TEST_F(JwtTest, IssuerAndAudienceExtension) {
  auto token = [](std::string_view iss, std::string_view aud) {
    return make_token(header_for("ES256", "alice-es256"),
                      R"({"iss":")" + std::string(iss) + R"(","aud":[")" + std::string(aud) + R"("]})",
                      "ES256", ec_p256());
  };
  EXPECT_EQ(bearer("/idp", token("https://idp.example", "portico-api")).status, 200);
  EXPECT_EQ(refused(bearer("/idp", token("https://evil.example", "portico-api"))), "token issuer is not allowed");
  EXPECT_EQ(refused(bearer("/idp", token("https://idp.example", "other-api"))), "token audience is not allowed");
  EXPECT_EQ(rejected("bad_issuer"), 1u);
  EXPECT_EQ(rejected("bad_audience"), 1u);
}

// ---- attacks -----------------------------------------------------------------------------------

TEST_F(JwtTest, AttacksAreRefusedWithJsonBodiesAndCounted) {
  const int64_t t = now();
  const std::string claims = R"({"iss":"alice-hs"})";
  const std::string payload = base64url_encode(claims);

  // Missing credentials.
  Response none = get("/jwt");
  EXPECT_EQ(refused(none), "Unauthorized");
  EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer");

  // alg: none (any spelling), with and without a signature segment.
  for (const char* alg : {"none", "None", "NONE"}) {
    refused(bearer("/jwt", base64url_encode(R"({"alg":")" + std::string(alg) + R"("})") + "." + payload + ".c2ln"));
  }
  refused(bearer("/jwt", base64url_encode(R"({"alg":"none"})") + "." + payload + "."));

  // Key confusion: HS256 signed with the RSA public key's PEM as the HMAC secret, against the
  // RS256 secret (by iss and by kid).
  const std::string pem = public_pem(rsa2048());
  Response confused = bearer("/jwt", make_token(header_for("HS256"), R"({"iss":"alice-rs"})", "HS256", nullptr, pem));
  EXPECT_EQ(refused(confused), "Invalid algorithm");
  EXPECT_EQ(confused.header("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_EQ(refused(bearer("/kid", make_token(header_for("HS256", "alice-rs"), "{}", "HS256", nullptr, pem))),
            "Invalid algorithm");
  // A valid signature with another algorithm than the secret's.
  EXPECT_EQ(refused(bearer("/jwt", make_token(header_for("HS512"), claims, "HS512", nullptr, kHsSecret))),
            "Invalid algorithm");
  EXPECT_EQ(refused(bearer("/jwt", make_token(header_for("RS512"), R"({"iss":"alice-rs"})", "RS512", rsa2048()))),
            "Invalid algorithm");
  EXPECT_EQ(refused(bearer("/jwt", make_token(header_for("PS256"), R"({"iss":"alice-rs"})", "PS256", rsa2048()))),
            "Invalid algorithm");

  // Unknown kid, and kid tricks.
  auto kid_token = [&](const std::string& kid_json) {
    return make_token(R"({"alg":"HS256","kid":)" + kid_json + "}", "{}", "HS256", nullptr, kHsSecret);
  };
  EXPECT_EQ(refused(bearer("/kid", kid_token(R"("nobody")"))), "No credentials found for given 'kid'");
  EXPECT_EQ(refused(bearer("/kid", kid_token(R"("../../etc/passwd")"))), "No credentials found for given 'kid'");
  refused(bearer("/kid", kid_token(R"("alice-hs\u0000")")));
  refused(bearer("/kid", kid_token("\"" + std::string(300, 'k') + "\"")));
  refused(bearer("/kid", kid_token("42")));  // not a string
  // No claim naming a secret at all.
  EXPECT_EQ(refused(bearer("/jwt", hs_token(R"({"sub":"alice"})"))), "No mandatory 'iss' in claims");

  // Time.
  refused(bearer("/jwt", hs_token(R"({"iss":"alice-hs","exp":)" + std::to_string(t - 60) + "}")));
  refused(bearer("/jwt", hs_token(R"({"iss":"alice-hs","nbf":)" + std::to_string(t + 600) + "}")));

  // Non-canonical base64url: padding, '+', '/'.
  const std::string good = hs_token(claims);
  refused(bearer("/jwt", good + "="));
  std::string plus = good;
  plus[plus.rfind('.') + 1] = '+';
  refused(bearer("/jwt", plus));
  std::string slash = good;
  slash[slash.rfind('.') + 1] = '/';
  refused(bearer("/jwt", slash));

  // Oversized: more than 8 KiB.
  const std::string big = hs_token(R"({"iss":"alice-hs","pad":")" + std::string(9000, 'a') + R"("})");
  EXPECT_EQ(refused(bearer("/jwt", big)), "Bad token; token is too large");

  // Duplicate members in the header and in the claims, each validly signed.
  refused(bearer("/jwt", make_token(R"({"alg":"HS256","alg":"HS256"})", claims, "HS256", nullptr, kHsSecret)));
  refused(bearer("/jwt", make_token(header_for("HS256"), R"({"iss":"alice-hs","iss":"bob-hs"})", "HS256", nullptr,
                                    kHsSecret)));

  // Forged signature, unknown key.
  refused(bearer("/jwt", make_token(header_for("HS256"), claims, "HS256", nullptr, "wrong-secret")));
  refused(bearer("/jwt", hs_token(R"({"iss":"mallory"})")));

  EXPECT_EQ(up_.request_count(), 0u) << "nothing reached the upstream";
  EXPECT_EQ(rejected("missing"), 1u);
  EXPECT_EQ(rejected("alg_none"), 3u);
  EXPECT_EQ(rejected("malformed"), 1u);
  EXPECT_EQ(rejected("alg_mismatch"), 5u);
  EXPECT_EQ(rejected("unknown_key"), 3u);
  EXPECT_EQ(rejected("bad_kid"), 3u);
  EXPECT_EQ(rejected("no_key_claim"), 1u);
  EXPECT_EQ(rejected("expired"), 1u);
  EXPECT_EQ(rejected("not_yet_valid"), 1u);
  EXPECT_EQ(rejected("bad_base64"), 3u);
  EXPECT_EQ(rejected("too_large"), 1u);
  EXPECT_EQ(rejected("duplicate_key"), 2u);
  EXPECT_EQ(rejected("bad_signature"), 1u);

  // Nothing else broke: a good token still works.
  Response ok = bearer("/jwt", good);
  EXPECT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(up_.request_count(), 1u);
}

// ---- JWKS extension ----------------------------------------------------------------------------

TEST(JwtJwksTest, UnavailableKeysAnswer503ThenKeysFromTheJwksServer) {
  Upstream up;
  Upstream idp;
  std::atomic<bool> serving{false};
  const std::string jwks = "{\"keys\":[" + public_jwk(rsa2048(), "idp-1", "RS256") + "]}";
  idp.set_handler([&](const RecordedRequest&) {
    UpstreamResponse r;
    if (!serving) {
      r.status = 500;
      r.body = "down";
      return r;
    }
    r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "max-age=300"}};
    r.body = jwks;
    return r;
  });
  const std::string yaml = config_prelude() + render(R"(
consumers:
  - username: carol
    custom_id: C-3
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: idp
        paths: ["/idp"]
        plugins:
          - name: jwt
            config:
              jwks_uri: http://127.0.0.1:{{IDP}}/.well-known/jwks.json
              jwks_min_refresh_interval: 1
              jwks_timeout: 2000
              issuer: https://idp.example
              audiences: [portico-api]
      - name: mapped
        paths: ["/mapped"]
        plugins:
          - name: jwt
            config:
              jwks_uri: http://127.0.0.1:{{IDP}}/.well-known/jwks.json
              jwks_min_refresh_interval: 1
              jwks_timeout: 2000
              consumer_claim: client
)", {{"UP", std::to_string(up.port())}, {"IDP", std::to_string(idp.port())}});
  Gateway gw(yaml);
  const std::string token =
      make_token(header_for("RS256", "idp-1"),
                 R"({"iss":"https://idp.example","aud":"portico-api","sub":"user-7","client":"C-3","exp":)" +
                     std::to_string(now() + 600) + "}",
                 "RS256", rsa2048());
  Response down = fetch(gw.port(), http_request("GET", "/idp", {{"Authorization", "Bearer " + token}}));
  EXPECT_EQ(down.status, 503) << down.describe();
  EXPECT_TRUE(down.header("Retry-After").has_value());
  EXPECT_TRUE(json_message(down.text()).has_value()) << down.text();
  EXPECT_GE(status_counter(gw, "auth_rejected.jwt.jwks_unavailable"), 1u);

  serving = true;
  ASSERT_TRUE(eventually(
      [&] { return fetch(gw.port(), http_request("GET", "/idp", {{"Authorization", "Bearer " + token}})).status == 200; },
      Millis{15000}))
      << gw.logs();
  RecordedRequest seen = up.requests().back();
  EXPECT_EQ(seen.header("X-Credential-Identifier"), "user-7");
  EXPECT_FALSE(seen.header("X-Consumer-Username").has_value());

  // consumer_claim maps the token to a consumer (custom_id here).
  Response mapped = fetch(gw.port(), http_request("GET", "/mapped", {{"Authorization", "Bearer " + token}}));
  EXPECT_EQ(mapped.status, 200) << mapped.describe();
  EXPECT_EQ(up.requests().back().header("X-Consumer-Username"), "carol");

  // A kid the set lacks: 401, never 503, and the gateway keeps working.
  const std::string stranger = make_token(header_for("RS256", "idp-2"), R"({"iss":"https://idp.example","aud":"portico-api"})",
                                          "RS256", rsa2048_other());
  Response unknown = fetch(gw.port(), http_request("GET", "/idp", {{"Authorization", "Bearer " + stranger}}));
  EXPECT_EQ(unknown.status, 401) << unknown.describe();
  EXPECT_GE(status_counter(gw, "auth_rejected.jwt.unknown_kid"), 1u);
  // HS256 signed with the public key material is not among the allowed algorithms.
  const std::string confused = make_token(header_for("HS256", "idp-1"), R"({"iss":"https://idp.example"})", "HS256",
                                          nullptr, public_pem(rsa2048()));
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/idp", {{"Authorization", "Bearer " + confused}})).status, 401);
  EXPECT_EQ(status_counter(gw, "auth_rejected.jwt.alg_not_allowed"), 1u);
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/idp", {{"Authorization", "Bearer " + token}})).status, 200);
}

// ---- config errors -----------------------------------------------------------------------------

std::string check_errors(const std::string& body) {
  CheckResult r = Gateway::check("_format_version: \"3.0\"\n" + body, "jwt.yaml");
  EXPECT_NE(r.exit_code, 0) << r.out;
  return r.err + r.out;
}

TEST(JwtConfigTest, ErrorsNameFileLineAndColumn) {
  EXPECT_NE(check_errors(R"(consumers:
  - username: a
    jwt_secrets:
      - key: k
        algorithm: HS999
        secret: example-secret
)").find("jwt.yaml:6:20: consumers[0].jwt_secrets[0].algorithm: unknown algorithm \"HS999\""),
            std::string::npos);

  const std::string bad_pem = check_errors(R"(consumers:
  - username: a
    jwt_secrets:
      - key: k
        algorithm: RS256
        rsa_public_key: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
)");
  EXPECT_NE(bad_pem.find("jwt.yaml:7:25: consumers[0].jwt_secrets[0].rsa_public_key: bad rsa_public_key"),
            std::string::npos)
      << bad_pem;
  EXPECT_EQ(bad_pem.find("AAAA"), std::string::npos) << "key material is never echoed";

  // An EC key where RS256 is configured.
  const std::string wrong_type = check_errors("consumers:\n  - username: a\n    jwt_secrets:\n      - key: k\n"
                                              "        algorithm: RS256\n        rsa_public_key: " +
                                              yaml_quoted(public_pem(ec_p256())) + "\n");
  EXPECT_NE(wrong_type.find("jwt.yaml:7:25: consumers[0].jwt_secrets[0].rsa_public_key"), std::string::npos)
      << wrong_type;

  const std::string orphan = check_errors(R"(jwt_secrets:
  - key: k
    secret: example-secret
)");
  EXPECT_NE(orphan.find("jwt.yaml:3:5: jwt_secrets[0]: missing required field 'consumer'"), std::string::npos)
      << orphan;

  const std::string dup = check_errors(R"(consumers:
  - username: a
    jwt_secrets:
      - key: same
        secret: example-secret-1
  - username: b
jwt_secrets:
  - key: same
    secret: example-secret-2
    consumer: b
)");
  EXPECT_NE(dup.find("jwt.yaml:9:10: jwt_secrets[0].key: duplicate jwt_secret key (first defined at line 5)"),
            std::string::npos)
      << dup;
  EXPECT_EQ(dup.find("example-secret"), std::string::npos) << "secrets are never echoed";

  const std::string range = check_errors(R"(services:
  - name: s
    url: http://127.0.0.1:9
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: jwt
            config: { maximum_expiration: 31536001, algorithms: [HS256, none] }
)");
  EXPECT_NE(range.find("jwt.yaml:10:43: services[0].routes[0].plugins[0].config.maximum_expiration: value "
                       "31536001 is out of range (0..31536000)"),
            std::string::npos)
      << range;
  EXPECT_NE(range.find("config.algorithms[1]: unknown algorithm \"none\""), std::string::npos) << range;
}

}  // namespace
}  // namespace portico::integration
