// The seed's AWS HTTP API JWT authorizer through the real gateway: examples/jwt-authorizer.yaml
// (issuer https://auth.example.com, audience api.example.com, jwks_uri from PORTICO_JWKS_URI)
// against a local JWKS server serving keys generated here. A valid token is proxied; a wrong
// issuer, audience or signature is 401; the JWKS server going down after the first fetch never
// turns valid tokens into 401s; a new kid is picked up at once and a flood of made-up kids costs
// no extra fetch; before the first good fetch the answer is 503 with Retry-After; /status lists
// the source; a reload keeps the key set (a new uri gets its own); shutdown does not wait for a
// download in flight; `portico check` never downloads.

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/jwt_test_support.h"
#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/jwks_server.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;
using auth::JwsAlg;

std::string jwks_of(const std::vector<std::string>& jwks) {
  std::string out = "{\"keys\":[";
  for (size_t i = 0; i < jwks.size(); ++i) out += (i ? "," : "") + jwks[i];
  return out + "]}";
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string claims(const std::string& iss = "https://auth.example.com", const std::string& aud = "api.example.com",
                   const std::string& sub = "user-42") {
  return "{\"iss\":\"" + iss + "\",\"aud\":\"" + aud + "\",\"sub\":\"" + sub +
         "\",\"iat\":" + std::to_string(unix_now()) + ",\"exp\":" + std::to_string(unix_now() + 600) + "}";
}

std::string ec_token(const std::string& kid, const std::string& body, EVP_PKEY* key = auth::test::ec_p256()) {
  return auth::test::make_token(auth::test::header_for(JwsAlg::kES256, kid), body, JwsAlg::kES256, key);
}

class JwtAuthorizerTest : public ::testing::Test {
 protected:
  // examples/jwt-authorizer.yaml, proxying to `origin_`, with `extra` config lines for the jwt
  // plugin (indented like its fields) and PORTICO_JWKS_URI pointing at `jwks_`.
  std::unique_ptr<Gateway> start(const std::string& extra = {}) {
    std::string yaml = read_example("jwt-authorizer.yaml");
    EXPECT_FALSE(yaml.empty()) << "examples/jwt-authorizer.yaml is missing";
    auto at = yaml.find("url: http://127.0.0.1:9000");
    EXPECT_NE(at, std::string::npos);
    if (at == std::string::npos) return nullptr;
    yaml.replace(at + 12, 14, "127.0.0.1:" + std::to_string(origin_.port()));
    if (!extra.empty()) {
      auto line = yaml.find("      jwks_uri: ");
      EXPECT_NE(line, std::string::npos);
      yaml.insert(line, extra);
    }
    ::setenv("PORTICO_JWKS_URI", jwks_.uri().c_str(), 1);
    yaml_ = yaml;
    GatewayOptions o;
    o.extra_args = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "2"};
    return std::make_unique<Gateway>(yaml, o);
  }

  Response get(const Gateway& gw, const std::string& token) {
    Headers h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    return fetch(gw.port(), http_request("GET", "/orders/1", h));
  }

  // The jwks entry of GET /status for `uri` (null when absent).
  std::optional<boost::json::object> jwks_status(const Gateway& gw) { return jwks_status(gw, jwks_.uri()); }
  std::optional<boost::json::object> jwks_status(const Gateway& gw, const std::string& uri) {
    Response r = fetch(gw.admin_port(), http_request("GET", "/status"));
    auto doc = parse_json(r.text());
    if (!doc || !doc->is_object()) return std::nullopt;
    const auto* list = doc->as_object().if_contains("jwks");
    if (!list || !list->is_array()) return std::nullopt;
    for (const auto& e : list->as_array()) {
      if (e.is_object() && e.as_object().at("uri").as_string() == uri) return e.as_object();
    }
    return std::nullopt;
  }
  int64_t jwks_field(const Gateway& gw, const char* name) {
    auto s = jwks_status(gw);
    return s ? s->at(name).to_number<int64_t>() : -1;
  }

  // 200 for a valid token, polled: the gateway is ready before the first fetch has completed.
  bool wait_for_keys(const Gateway& gw, const std::string& token) {
    return eventually([&] { return get(gw, token).status == 200; }, 5000ms);
  }

  // Rewrites the gateway's file and sends SIGHUP; true once the reload is counted.
  bool reload(Gateway& gw, const std::string& yaml) {
    const auto before = status_counter(gw, "config_reloads");
    {
      std::ofstream f(gw.config_path(), std::ios::trunc);
      f << yaml;
    }
    if (::kill(gw.pid(), SIGHUP) != 0) return false;
    return eventually([&] { return status_counter(gw, "config_reloads") > before; }, 5000ms);
  }

  Upstream origin_;
  JwksServer jwks_;
  std::string yaml_;  // the configuration the gateway was started with
};

TEST_F(JwtAuthorizerTest, ValidTokenPassesWrongIssuerOrAudienceIsRefused) {
  jwks_.answer(200, jwks_of({auth::test::public_jwk(auth::test::ec_p256(), "k1", "ES256")}), "max-age=300");
  auto gw = start();
  ASSERT_TRUE(gw);
  const std::string good = ec_token("k1", claims());
  ASSERT_TRUE(wait_for_keys(*gw, good)) << get(*gw, good).describe() << "\n" << gw->logs();

  ASSERT_GE(origin_.request_count(), 1u);
  auto seen = origin_.requests().back();
  EXPECT_EQ(seen.target, "/orders/1");
  EXPECT_EQ(seen.header("X-Credential-Identifier").value_or(""), "user-42");

  Response none = get(*gw, "");
  EXPECT_EQ(none.status, 401) << none.describe();
  Response issuer = get(*gw, ec_token("k1", claims("https://evil.example.com")));
  EXPECT_EQ(issuer.status, 401) << issuer.describe();
  EXPECT_TRUE(json_message(issuer.text()).has_value()) << issuer.text();
  Response audience = get(*gw, ec_token("k1", claims("https://auth.example.com", "other.example.com")));
  EXPECT_EQ(audience.status, 401) << audience.describe();
  // Signed by a key the provider never published, under a published kid.
  auto stranger = auth::test::generate_ec("P-256");
  Response forged = get(*gw, ec_token("k1", claims(), stranger.get()));
  EXPECT_EQ(forged.status, 401) << forged.describe();
  // AWS reads only the Authorization header: a token in the query string is not looked at.
  Response query = fetch(gw->port(), http_request("GET", "/orders/1?jwt=" + good));
  EXPECT_EQ(query.status, 401) << query.describe();

  auto st = jwks_status(*gw);
  ASSERT_TRUE(st.has_value()) << "GET /status has no jwks entry for " << jwks_.uri();
  EXPECT_EQ(st->at("fetches_ok").to_number<int64_t>(), 1);
  EXPECT_EQ(st->at("fetches_failed").to_number<int64_t>(), 0);
  EXPECT_EQ(st->at("keys").to_number<int64_t>(), 1);
  EXPECT_GE(st->at("seconds_since_good_fetch").to_number<int64_t>(), 0);
  EXPECT_EQ(st->at("last_error").as_string(), "");
  EXPECT_EQ(jwks_.server->request_count(), 1u) << "one fetch serves every worker";
}

TEST_F(JwtAuthorizerTest, JwksServerDownAfterFirstFetchKeepsServingValidTokens) {
  jwks_.answer(200, jwks_of({auth::test::public_jwk(auth::test::ec_p256(), "k1", "ES256")}), "max-age=1");
  auto gw = start("      jwks_min_refresh_interval: 1\n      jwks_max_refresh_interval: 2\n");
  ASSERT_TRUE(gw);
  const std::string good = ec_token("k1", claims());
  ASSERT_TRUE(wait_for_keys(*gw, good)) << gw->logs();

  jwks_.answer(500, "{\"message\":\"identity provider down\"}");
  ASSERT_TRUE(eventually([&] { return jwks_field(*gw, "fetches_failed") >= 2; }, 8000ms)) << gw->logs();
  for (int i = 0; i < 5; ++i) {
    Response r = get(*gw, good);
    EXPECT_EQ(r.status, 200) << "a failed refresh must not refuse valid tokens: " << r.describe();
  }
  auto st = jwks_status(*gw);
  ASSERT_TRUE(st.has_value());
  EXPECT_NE(std::string(st->at("last_error").as_string()).find("500"), std::string::npos);
  EXPECT_EQ(st->at("keys").to_number<int64_t>(), 1);

  // Refused connections too: the server gone altogether.
  jwks_.server->stop();
  const auto failed = jwks_field(*gw, "fetches_failed");
  ASSERT_TRUE(eventually([&] { return jwks_field(*gw, "fetches_failed") > failed; }, 8000ms));
  EXPECT_EQ(get(*gw, good).status, 200);
  EXPECT_EQ(get(*gw, ec_token("k1", claims("https://evil.example.com"))).status, 401);
}

TEST_F(JwtAuthorizerTest, RotationByUnknownKidAndFloodOfMadeUpKids) {
  jwks_.answer(200, jwks_of({auth::test::public_jwk(auth::test::ec_p256(), "k1", "ES256")}), "max-age=3600");
  auto gw = start();
  ASSERT_TRUE(gw);
  ASSERT_TRUE(wait_for_keys(*gw, ec_token("k1", claims()))) << gw->logs();
  ASSERT_EQ(jwks_.server->request_count(), 1u);

  // The provider rotates: a new key k2 (RSA) is published next to k1.
  jwks_.answer(200,
               jwks_of({auth::test::public_jwk(auth::test::ec_p256(), "k1", "ES256"),
                        auth::test::public_jwk(auth::test::rsa2048(), "k2", "RS256")}),
               "max-age=3600");
  const std::string rotated =
      auth::test::make_token(auth::test::header_for(JwsAlg::kRS256, "k2"), claims(), JwsAlg::kRS256,
                             auth::test::rsa2048());
  ASSERT_TRUE(eventually([&] { return get(*gw, rotated).status == 200; }, 3000ms))
      << "the new kid was not picked up: " << get(*gw, rotated).describe() << "\n" << gw->logs();
  EXPECT_EQ(jwks_.server->request_count(), 2u);
  EXPECT_EQ(jwks_field(*gw, "unknown_kid_refreshes"), 1);

  // Made-up kids within the 10 s min_refresh_interval: refused, counted, never fetched.
  for (int i = 0; i < 30; ++i) {
    Response r = get(*gw, ec_token("made-up-" + std::to_string(i), claims()));
    EXPECT_EQ(r.status, 401) << r.describe();
  }
  EXPECT_EQ(jwks_.server->request_count(), 2u) << "a flood of unknown kids must not reach the identity provider";
  EXPECT_EQ(jwks_field(*gw, "unknown_kid_refreshes"), 1);
  EXPECT_GE(jwks_field(*gw, "unknown_kid_suppressed"), 30);
  EXPECT_EQ(get(*gw, ec_token("k1", claims())).status, 200);
}

TEST_F(JwtAuthorizerTest, AKeyTheProviderWithdrawsStopsVerifyingEvenCachedTokens) {
  jwks_.answer(200, jwks_of({auth::test::public_jwk(auth::test::ec_p256(), "k1", "ES256")}), "max-age=1");
  auto gw = start("      jwks_min_refresh_interval: 1\n      jwks_max_refresh_interval: 1\n");
  ASSERT_TRUE(gw);
  const std::string token = ec_token("k1", claims());
  ASSERT_TRUE(wait_for_keys(*gw, token)) << gw->logs();
  EXPECT_EQ(get(*gw, token).status, 200);  // verified once, then served from the cache
  EXPECT_EQ(get(*gw, token).status, 200);
  // k1 is withdrawn (compromised): once the set is refreshed, the cached verdict no longer holds.
  jwks_.answer(200, jwks_of({auth::test::public_jwk(auth::test::rsa2048(), "k2", "RS256")}), "max-age=1");
  EXPECT_TRUE(eventually([&] { return get(*gw, token).status == 401; }, 5000ms)) << gw->logs();
}

TEST_F(JwtAuthorizerTest, BeforeTheFirstGoodFetchAnswers503) {
  jwks_.answer(500, "{\"message\":\"not yet\"}");
  auto gw = start("      jwks_min_refresh_interval: 1\n      jwks_max_refresh_interval: 1\n");
  ASSERT_TRUE(gw);
  const std::string good = ec_token("k1", claims());
  ASSERT_TRUE(eventually([&] { return jwks_field(*gw, "fetches_failed") >= 1; }, 5000ms)) << gw->logs();
  Response r = get(*gw, good);
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_TRUE(r.header("Retry-After").has_value()) << r.describe();
  EXPECT_TRUE(json_message(r.text()).has_value()) << r.text();
  EXPECT_EQ(origin_.request_count(), 0u);

  jwks_.answer(200, jwks_of({auth::test::public_jwk(auth::test::ec_p256(), "k1", "ES256")}));
  ASSERT_TRUE(eventually([&] { return get(*gw, good).status == 200; }, 5000ms)) << gw->logs();
  EXPECT_EQ(jwks_field(*gw, "keys"), 1);
  EXPECT_EQ(jwks_status(*gw)->at("last_error").as_string(), "");
}

TEST_F(JwtAuthorizerTest, ReloadKeepsTheKeySetAndANewUriGetsItsOwn) {
  jwks_.answer(200, jwks_of({auth::test::public_jwk(auth::test::ec_p256(), "k1", "ES256")}), "max-age=3600");
  auto gw = start();
  ASSERT_TRUE(gw);
  const std::string good = ec_token("k1", claims());
  ASSERT_TRUE(wait_for_keys(*gw, good)) << gw->logs();
  ASSERT_EQ(jwks_.server->request_count(), 1u);

  // The same file again: the same source, its keys at once (no 503), no new download.
  ASSERT_TRUE(reload(*gw, yaml_)) << gw->logs();
  EXPECT_EQ(get(*gw, good).status, 200);
  EXPECT_EQ(jwks_.server->request_count(), 1u) << "a reload with the same settings must not refetch";
  EXPECT_EQ(jwks_field(*gw, "fetches_ok"), 1);

  // Another identity provider: its own source, fetched at once; the old one leaves /status.
  JwksServer second;
  second.answer(200, jwks_of({auth::test::public_jwk(auth::test::rsa2048(), "r1", "RS256")}), "max-age=3600");
  std::string moved = yaml_;
  auto at = moved.find("${PORTICO_JWKS_URI}");
  ASSERT_NE(at, std::string::npos);
  moved.replace(at, std::string("${PORTICO_JWKS_URI}").size(), second.uri());
  ASSERT_TRUE(reload(*gw, moved)) << gw->logs();
  const std::string rsa = auth::test::make_token(auth::test::header_for(JwsAlg::kRS256, "r1"), claims(),
                                                 JwsAlg::kRS256, auth::test::rsa2048());
  ASSERT_TRUE(eventually([&] { return get(*gw, rsa).status == 200; }, 5000ms)) << get(*gw, rsa).describe();
  EXPECT_EQ(second.server->request_count(), 1u);
  EXPECT_EQ(get(*gw, good).status, 401) << "k1 belonged to the previous provider";
  EXPECT_TRUE(eventually([&] { return !jwks_status(*gw).has_value(); }, 5000ms))
      << "the previous source is still listed in /status";
  auto st = jwks_status(*gw, second.uri());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->at("keys").to_number<int64_t>(), 1);
}

TEST_F(JwtAuthorizerTest, ShutdownDoesNotWaitForADownloadInFlight) {
  UpstreamResponse slow;
  slow.body = jwks_of({auth::test::public_jwk(auth::test::ec_p256(), "k1", "ES256")});
  slow.delay = Millis{20000};
  {
    std::lock_guard lock(jwks_.mu);
    jwks_.response = slow;
  }
  auto gw = start("      jwks_timeout: 30000\n");
  ASSERT_TRUE(gw);
  ASSERT_TRUE(jwks_.server->wait_for_requests(1, 5000ms));
  EXPECT_EQ(get(*gw, ec_token("k1", claims())).status, 503);
  const auto before = std::chrono::steady_clock::now();
  auto exit = gw->stop(Millis{10000});
  ASSERT_TRUE(exit.has_value()) << "the gateway did not exit within 10 s";
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->describe();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
}

TEST_F(JwtAuthorizerTest, CheckNeverDownloads) {
  jwks_.answer(200, jwks_of({auth::test::public_jwk(auth::test::ec_p256(), "k1", "ES256")}));
  ::setenv("PORTICO_JWKS_URI", jwks_.uri().c_str(), 1);
  CheckResult r = Gateway::check(read_example("jwt-authorizer.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(jwks_.server->request_count(), 0u);
  EXPECT_EQ(jwks_.server->connections_accepted(), 0u);
}

}  // namespace
}  // namespace portico::integration
