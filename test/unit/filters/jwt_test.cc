// The jwt plugin alone: its configuration (Kong's defaults, every validation error with its
// position) and on_request against a hand-built consumer directory with HS256 tokens signed here.
#include "filters/jwt/jwt_filter.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/io_context.hpp>

#include "auth/jwk.h"
#include "auth_test_support.h"
#include "observability/worker_stats.h"
#include "test_support.h"

namespace portico::filters {
namespace {

using testing::fill_request;
using testing::header;
using testing::load_plugin;
using testing::reply_header;
using testing::run_request;

constexpr std::string_view kSecret = "unit-test-secret-0123456789";

std::string b64url(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string hs256(std::string_view header_json, std::string_view claims_json, std::string_view secret = kSecret) {
  const std::string input = b64url(header_json) + "." + b64url(claims_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64url(std::string_view(reinterpret_cast<const char*>(mac), len));
}

// alice (consumer 0) owns jwt_secret "alice-jwt" (HS256, id j1); bob (1) owns "bob-384" (HS384).
std::shared_ptr<const filter::ConsumerDirectory> make_jwt_directory() {
  auto d = std::const_pointer_cast<filter::ConsumerDirectory>(testing::make_directory());
  filter::JwtCredentialEntry e;
  e.consumer = 0;
  e.id = "j1";
  e.algorithm = auth::JwsAlg::kHS256;
  e.key = auth::load_hmac_secret(kSecret, false, "alice-jwt", auth::JwsAlg::kHS256).key;
  d->add_jwt("alice-jwt", e);
  filter::JwtCredentialEntry b;
  b.consumer = 1;
  b.algorithm = auth::JwsAlg::kHS384;
  b.key = auth::load_hmac_secret(kSecret, false, "bob-384", auth::JwsAlg::kHS384).key;
  d->add_jwt("bob-384", b);
  return d;
}

struct JwtFilterTest : ::testing::Test {
  boost::asio::io_context io;
  filter::Exchange x{io.get_executor()};
  std::shared_ptr<const filter::ConsumerDirectory> dir = make_jwt_directory();
  observability::WorkerStats stats;
  void SetUp() override {
    x.consumers = dir.get();
    fill_request(x);
    observability::WorkerStats::set_current(&stats);
  }
  void TearDown() override { observability::WorkerStats::set_current(nullptr); }
  std::shared_ptr<const filter::Filter> plugin(const std::string& config = "") {
    auto loaded = load_plugin("plugins:\n- name: jwt\n" + config);
    EXPECT_TRUE(loaded.filter) << loaded.error_text();
    return loaded.filter;
  }
  uint64_t count(observability::AuthReason reason) {
    return stats.auth_rejected[static_cast<size_t>(observability::AuthPlugin::kJwt)][static_cast<size_t>(reason)]
        .value();
  }
};

TEST(JwtConfig, DefaultsAreKongs) {
  auto loaded = load_plugin("plugins:\n- name: jwt\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 1450);
  const auto& c = static_cast<const JwtFilter&>(*loaded.filter).config();
  EXPECT_EQ(c.uri_param_names, std::vector<std::string>{"jwt"});
  EXPECT_TRUE(c.cookie_names.empty());
  EXPECT_EQ(c.header_names, std::vector<std::string>{"authorization"});
  EXPECT_EQ(c.key_claim_name, "iss");
  EXPECT_FALSE(c.secret_is_base64);
  EXPECT_FALSE(c.verify.claims.require_exp);
  EXPECT_FALSE(c.verify.claims.require_nbf);
  EXPECT_EQ(c.verify.claims.maximum_expiration.count(), 0);
  EXPECT_TRUE(c.run_on_preflight);
  EXPECT_TRUE(c.anonymous.empty());
  EXPECT_TRUE(c.verify.allowed_algs.empty());
  EXPECT_FALSE(c.jwks.has_value());
}

TEST(JwtConfig, DeckDumpWithNullsLoads) {
  auto loaded = load_plugin(R"(plugins:
- name: jwt
  config:
    anonymous: null
    claims_to_verify: [exp, nbf]
    cookie_names: []
    header_names: [authorization]
    key_claim_name: kid
    maximum_expiration: 3600
    realm: null
    run_on_preflight: true
    secret_is_base64: false
    uri_param_names: [jwt]
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& c = static_cast<const JwtFilter&>(*loaded.filter).config();
  EXPECT_TRUE(c.verify.claims.require_exp);
  EXPECT_TRUE(c.verify.claims.require_nbf);
  EXPECT_EQ(c.verify.claims.maximum_expiration.count(), 3600);
  EXPECT_EQ(c.key_claim_name, "kid");
}

TEST(JwtConfig, Errors) {
  auto loaded = load_plugin(R"(plugins:
- name: jwt
  config:
    claims_to_verify: [exp, iat]
    maximum_expiration: 31536001
    key_claim_name: ""
    realm: 'a"b'
    algorithms: [RS256, none]
    consumer_claim: client
    jwks_timeout: 100
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:6:21: plugins[0].config.key_claim_name: key_claim_name must not be empty\n"
            "kong.yaml:4:29: plugins[0].config.claims_to_verify[1]: expected one of: exp, nbf\n"
            "kong.yaml:5:25: plugins[0].config.maximum_expiration: value 31536001 is out of range "
            "(0..31536000)\n"
            "kong.yaml:7:12: plugins[0].config.realm: realm must not contain '\"'\n"
            "kong.yaml:8:25: plugins[0].config.algorithms[1]: unknown algorithm \"none\" (expected one of: "
            "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)\n"
            "kong.yaml:10:19: plugins[0].config.jwks_timeout: jwks_timeout needs jwks_uri\n"
            "kong.yaml:9:21: plugins[0].config.consumer_claim: consumer_claim needs jwks_uri (with "
            "jwt_secrets the secret names the consumer)");
}

TEST(JwtConfig, JwksErrors) {
  auto loaded = load_plugin(R"(plugins:
- name: jwt
  config:
    jwks_uri: ftp://idp.example/keys
    algorithms: [HS256]
    jwks_min_refresh_interval: 100
    jwks_max_refresh_interval: 10
    jwks_tls_verify: false
    jwks_ca_certificates: ["-----BEGIN CERTIFICATE-----"]
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:15: plugins[0].config.jwks_uri: jwks_uri must start with http:// or https://\n"
            "kong.yaml:6:32: plugins[0].config.jwks_min_refresh_interval: jwks_min_refresh_interval must "
            "not exceed jwks_max_refresh_interval\n"
            "kong.yaml:9:27: plugins[0].config.jwks_ca_certificates: jwks_ca_certificates has no effect "
            "with jwks_tls_verify: false\n"
            "kong.yaml:5:17: plugins[0].config.algorithms: HS* algorithms need a shared secret and cannot "
            "be used with jwks_uri");
  auto ok = load_plugin(R"(plugins:
- name: jwt
  config:
    jwks_uri: https://idp.example/.well-known/jwks.json
    issuer: https://idp.example
    audiences: [api]
    audience: [api.example.com]
    scopes: [read]
    required_claims: [sub]
    leeway: 30
)");
  ASSERT_TRUE(ok.filter) << ok.error_text();
  const auto& c = static_cast<const JwtFilter&>(*ok.filter).config();
  ASSERT_TRUE(c.jwks.has_value());
  EXPECT_EQ(c.jwks->uri, "https://idp.example/.well-known/jwks.json");
  EXPECT_EQ(c.verify.allowed_algs.size(), 9u) << "every asymmetric algorithm";
  EXPECT_EQ(c.verify.claims.issuers, std::vector<std::string>{"https://idp.example"});
  EXPECT_EQ(c.verify.claims.leeway.count(), 30);
  EXPECT_EQ(c.verify.claims.audiences, (std::vector<std::string>{"api", "api.example.com"}));
}

TEST_F(JwtFilterTest, GoodTokenAuthenticatesAsTheSecretsConsumer) {
  auto f = plugin();
  x.request.headers.add("Authorization", x.request.headers.own("Bearer " + hs256(R"({"alg":"HS256"})", R"({"iss":"alice-jwt"})")));
  EXPECT_EQ(run_request(*f, x).kind, filter::Verdict::Kind::kContinue);
  EXPECT_EQ(x.consumer_index, 0);
  EXPECT_EQ(header(x, "X-Consumer-Username"), "alice");
  EXPECT_EQ(header(x, "X-Credential-Identifier"), "j1");
}

TEST_F(JwtFilterTest, RefusalsCarryKongsMessagesAndCount) {
  auto f = plugin("  config: {realm: api}\n");
  EXPECT_EQ(run_request(*f, x).kind, filter::Verdict::Kind::kRespond);
  EXPECT_EQ(x.reply.status, 401);
  EXPECT_EQ(x.reply.body, R"({"message":"Unauthorized"})");
  EXPECT_EQ(reply_header(x, "WWW-Authenticate"), "Bearer realm=\"api\"");
  EXPECT_EQ(count(observability::AuthReason::kMissing), 1u);

  struct Case {
    std::string token;
    std::string body;
    observability::AuthReason reason;
  };
  const std::vector<Case> cases = {
      {hs256(R"({"alg":"HS256"})", R"({"sub":"x"})"), R"({"message":"No mandatory 'iss' in claims"})",
       observability::AuthReason::kJwtNoKeyClaim},
      {hs256(R"({"alg":"HS256"})", R"({"iss":"nobody"})"), R"({"message":"No credentials found for given 'iss'"})",
       observability::AuthReason::kJwtUnknownKey},
      {hs256(R"({"alg":"HS256"})", R"({"iss":"bob-384"})"), R"({"message":"Invalid algorithm"})",
       observability::AuthReason::kJwtAlgMismatch},
      {hs256(R"({"alg":"HS256"})", R"({"iss":"alice-jwt"})", "other"), R"({"message":"Invalid signature"})",
       observability::AuthReason::kJwtBadSignature},
      {hs256(R"({"alg":"HS256"})", R"({"iss":"alice-jwt","exp":1})"), R"({"message":"token has expired"})",
       observability::AuthReason::kJwtExpired},
      {"a.b", R"({"message":"Bad token; token is malformed"})", observability::AuthReason::kJwtMalformed},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    x.reply.clear();
    x.request.headers.set("Authorization", x.request.headers.own("Bearer " + c.token));
    EXPECT_EQ(run_request(*f, x).kind, filter::Verdict::Kind::kRespond);
    EXPECT_EQ(x.reply.status, 401);
    EXPECT_EQ(x.reply.body, c.body);
    EXPECT_EQ(reply_header(x, "WWW-Authenticate"), "Bearer realm=\"api\", error=\"invalid_token\"");
    EXPECT_EQ(count(c.reason), 1u);
    EXPECT_EQ(x.consumer_index, -1);
  }
}

TEST_F(JwtFilterTest, TokenSources) {
  auto f = plugin("  config: {header_names: [x-jwt], uri_param_names: [t], cookie_names: [c]}\n");
  const std::string token = hs256(R"({"alg":"HS256"})", R"({"iss":"alice-jwt"})");
  x.request.headers.add("X-Jwt", "Bearer");  // a scheme without a token is no token
  EXPECT_EQ(run_request(*f, x).kind, filter::Verdict::Kind::kRespond);
  EXPECT_EQ(x.reply.body, R"({"message":"Unauthorized"})");

  filter::Exchange q{io.get_executor()};
  const std::string query = "a=1&t=" + token;
  fill_request(q, "/p", query);
  q.consumers = dir.get();
  EXPECT_EQ(run_request(*f, q).kind, filter::Verdict::Kind::kContinue);
  EXPECT_EQ(q.consumer_index, 0);

  filter::Exchange c{io.get_executor()};
  fill_request(c);
  c.consumers = dir.get();
  c.request.headers.add("Cookie", c.request.headers.own("x=1; c=" + token));
  EXPECT_EQ(run_request(*f, c).kind, filter::Verdict::Kind::kContinue);
  EXPECT_EQ(c.consumer_index, 0);
}

TEST_F(JwtFilterTest, AnonymousAndPreflight) {
  auto f = plugin("  config: {anonymous: anon, run_on_preflight: false}\n");
  x.request.headers.add("Authorization", "Bearer not-a-token");
  EXPECT_EQ(run_request(*f, x).kind, filter::Verdict::Kind::kContinue);
  EXPECT_EQ(x.consumer_index, 2);
  EXPECT_TRUE(x.anonymous_consumer);

  filter::Exchange pre{io.get_executor()};
  fill_request(pre);
  pre.consumers = dir.get();
  pre.request.method = "OPTIONS";
  EXPECT_EQ(run_request(*f, pre).kind, filter::Verdict::Kind::kContinue);
  EXPECT_EQ(pre.consumer_index, -1);
}

}  // namespace
}  // namespace portico::filters
