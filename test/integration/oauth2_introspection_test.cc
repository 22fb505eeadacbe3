// oauth2-introspection through the real gateway, with a fake RFC 7662 authorization server (a
// harness upstream answering POST /introspect from a token table): active tokens reach the
// upstream with X-Credential-* headers and the mapped consumer, inactive and missing tokens are
// 401s, results are cached (positively within ttl and exp, negatively for a short time), an
// endpoint that is down or answers garbage is a 5xx and never a 401, the client credentials and
// custom headers reach the endpoint, forged X-Credential-* headers never reach the upstream,
// hide_credentials, and config errors with file:line:column.

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kClientCredentials = "Basic Z2F0ZXdheTpzM2NyZXQ=";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The form field `name` of an application/x-www-form-urlencoded body, percent-decoded.
std::string form_field(const std::string& body, const std::string& name) {
  size_t at = 0;
  while (at <= body.size()) {
    size_t amp = body.find('&', at);
    if (amp == std::string::npos) amp = body.size();
    std::string pair = body.substr(at, amp - at);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      std::string raw = eq == std::string::npos ? "" : pair.substr(eq + 1);
      std::string out;
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '%' && i + 2 < raw.size()) {
          out.push_back(static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16)));
          i += 2;
        } else if (raw[i] == '+') {
          out.push_back(' ');
        } else {
          out.push_back(raw[i]);
        }
      }
      return out;
    }
    at = amp + 1;
  }
  return "<absent>";
}

// A fake authorization server: answers each introspection from a token → JSON table (unknown
// tokens are inactive) and remembers the decoded tokens it was asked about.
class FakeIdp {
 public:
  FakeIdp() {
    up_.set_handler([this](const RecordedRequest& req) {
      UpstreamResponse r;
      r.headers = {{"Content-Type", "application/json"}};
      const std::string token = form_field(req.body.data, "token");
      std::lock_guard lock(mu_);
      tokens_.push_back(token);
      if (!raw_.empty()) {
        r.status = raw_status_;
        r.body = raw_;
        return r;
      }
      auto it = answers_.find(token);
      r.body = it == answers_.end() ? R"({"active":false})" : it->second;
      r.delay = delay_;
      return r;
    });
  }
  void answer(const std::string& token, const std::string& json) {
    std::lock_guard lock(mu_);
    answers_[token] = json;
  }
  void answer_everything_with(int status, const std::string& body) {
    std::lock_guard lock(mu_);
    raw_status_ = status;
    raw_ = body;
  }
  void set_delay(Millis d) {
    std::lock_guard lock(mu_);
    delay_ = d;
  }
  size_t calls_for(const std::string& token) const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& t : tokens_) n += t == token;
    return n;
  }
  Upstream& upstream() { return up_; }
  std::uint16_t port() const { return up_.port(); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> answers_;
  std::vector<std::string> tokens_;
  std::string raw_;
  int raw_status_ = 200;
  Millis delay_{0};
  Upstream up_;
};

constexpr std::string_view kConfig = R"(
consumers:
  - username: alice
    id: 44444444-4444-4444-8444-444444444444
    custom_id: alice-custom
  - username: service-account
    custom_id: client-42
  - username: guest
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: api
        paths: ["/api"]
        plugins:
          - name: oauth2-introspection
            config:
              introspection_url: http://127.0.0.1:{{IDP}}/oauth2/introspect
              authorization_value: "{{CREDS}}"
              token_type_hint: access_token
              custom_claims_forward: [tenant]
              custom_introspection_headers: {X-Idp-Tenant: acme}
              ttl: {{TTL}}
      - name: by-client
        paths: ["/by-client"]
        plugins:
          - name: oauth2-introspection
            config:
              introspection_url: http://127.0.0.1:{{IDP}}/oauth2/introspect
              authorization_value: "{{CREDS}}"
              consumer_by: client_id
      - name: hidden
        paths: ["/hidden"]
        plugins:
          - name: oauth2-introspection
            config:
              introspection_url: http://127.0.0.1:{{IDP}}/oauth2/introspect
              authorization_value: "{{CREDS}}"
              hide_credentials: true
      - name: open
        paths: ["/open"]
        plugins:
          - name: oauth2-introspection
            config:
              introspection_url: http://127.0.0.1:{{IDP}}/oauth2/introspect
              authorization_value: "{{CREDS}}"
              anonymous: guest
      - name: impatient
        paths: ["/impatient"]
        plugins:
          - name: oauth2-introspection
            config:
              introspection_url: http://127.0.0.1:{{IDP}}/oauth2/introspect
              authorization_value: "{{CREDS}}"
              timeout: 300
      - name: down
        paths: ["/down"]
        plugins:
          - name: oauth2-introspection
            config:
              introspection_url: http://127.0.0.1:{{DOWN}}/introspect
              authorization_value: "{{CREDS}}"
              timeout: 2000
)";

class OAuth2IntrospectionTest : public ::testing::Test {
 protected:
  void start(int ttl = 30) {
    yaml_ = config_prelude() + render(kConfig, {{"UP", std::to_string(up_.port())},
                                                {"IDP", std::to_string(idp_.port())},
                                                {"DOWN", std::to_string(closed_port())},
                                                {"CREDS", std::string(kClientCredentials)},
                                                {"TTL", std::to_string(ttl)}});
    gw_ = std::make_unique<Gateway>(yaml_);
  }
  Response get(std::string_view target, Headers headers = {}) {
    return fetch(gw_->port(), http_request("GET", target, headers));
  }
  Response bearer(std::string_view target, const std::string& token, Headers more = {}) {
    more.emplace_back("Authorization", "Bearer " + token);
    return get(target, more);
  }
  RecordedRequest last_upstream() {
    auto reqs = up_.requests();
    return reqs.empty() ? RecordedRequest{} : reqs.back();
  }

  FakeIdp idp_;
  Upstream up_;
  std::unique_ptr<Gateway> gw_;
  std::string yaml_;
};

TEST_F(OAuth2IntrospectionTest, ActiveTokenReachesTheUpstreamWithClaimsAndConsumer) {
  start();
  const int64_t exp = unix_now() + 3600;
  idp_.answer("tok/alice+1", R"({"active":true,"sub":"u-1","client_id":"web-app","username":"alice",)"
                             R"("scope":"read write","token_type":"Bearer","exp":)" +
                                 std::to_string(exp) +
                                 R"(,"iat":1700000000,"aud":["api","billing"],"iss":"https://idp.test",)"
                                 R"("jti":"j-9","tenant":"acme-corp"})");
  Response r = bearer("/api/items", "tok/alice+1",
                      {{"X-Credential-Sub", "forged-admin"}, {"x-credential-scope", "admin"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200) << r.describe();
  ASSERT_EQ(up_.request_count(), 1u);
  const RecordedRequest req = last_upstream();
  EXPECT_EQ(req.header("X-Credential-Sub"), "u-1");
  EXPECT_EQ(req.header_count("X-Credential-Sub"), 1u);
  EXPECT_EQ(req.header("X-Credential-Client-Id"), "web-app");
  EXPECT_EQ(req.header("X-Credential-Username"), "alice");
  EXPECT_EQ(req.header("X-Credential-Scope"), "read write");
  EXPECT_EQ(req.header_count("X-Credential-Scope"), 1u);
  EXPECT_EQ(req.header("X-Credential-Token-Type"), "Bearer");
  EXPECT_EQ(req.header("X-Credential-Exp"), std::to_string(exp));
  EXPECT_EQ(req.header("X-Credential-Iat"), "1700000000");
  EXPECT_FALSE(req.header("X-Credential-Nbf").has_value());
  EXPECT_EQ(req.header("X-Credential-Aud"), "api, billing");
  EXPECT_EQ(req.header("X-Credential-Iss"), "https://idp.test");
  EXPECT_EQ(req.header("X-Credential-Jti"), "j-9");
  EXPECT_EQ(req.header("X-Credential-tenant"), "acme-corp");
  // consumer_by: username (default) maps the username claim to the consumer.
  EXPECT_EQ(req.header("X-Consumer-Username"), "alice");
  EXPECT_EQ(req.header("X-Consumer-ID"), "44444444-4444-4444-8444-444444444444");
  EXPECT_EQ(req.header("X-Consumer-Custom-ID"), "alice-custom");
  EXPECT_EQ(req.header("Authorization"), "Bearer tok/alice+1");  // hide_credentials off

  // What the authorization server got: the client credentials, the form, the custom header.
  ASSERT_EQ(idp_.upstream().request_count(), 1u);
  const RecordedRequest call = idp_.upstream().requests().at(0);
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.target, "/oauth2/introspect");
  EXPECT_EQ(call.header("Authorization"), std::string(kClientCredentials));
  EXPECT_EQ(call.header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(call.header("X-Idp-Tenant"), "acme");
  EXPECT_EQ(call.body.data, "token=tok%2Falice%2B1&token_type_hint=access_token");

  // The credentials never show up in the gateway's output.
  EXPECT_EQ(gw_->logs().find("Z2F0ZXdheTpzM2NyZXQ"), std::string::npos) << gw_->logs();
  EXPECT_EQ(gw_->access_log().find("Z2F0ZXdheTpzM2NyZXQ"), std::string::npos);
}

TEST_F(OAuth2IntrospectionTest, ConsumerByClientIdMatchesCustomId) {
  start();
  idp_.answer("svc-token", R"({"active":true,"client_id":"client-42","username":"alice"})");
  Response r = bearer("/by-client", "svc-token");
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(last_upstream().header("X-Consumer-Username"), "service-account");
  EXPECT_EQ(last_upstream().header("X-Credential-Client-Id"), "client-42");

  // A valid token whose client maps to no consumer is allowed without one.
  idp_.answer("other-token", R"({"active":true,"client_id":"nobody"})");
  Response o = bearer("/by-client", "other-token");
  EXPECT_EQ(o.status, 200) << o.describe();
  EXPECT_FALSE(last_upstream().header("X-Consumer-Username").has_value());
  EXPECT_EQ(last_upstream().header("X-Credential-Client-Id"), "nobody");
}

TEST_F(OAuth2IntrospectionTest, InactiveAndMissingTokensAre401sAndCounted) {
  start();
  Client c(gw_->port());
  Response inactive = c.request(http_request("GET", "/api", {{"Authorization", "Bearer revoked"}}));
  EXPECT_EQ(inactive.status, 401);
  EXPECT_EQ(inactive.text(), R"({"message":"The access token is invalid or has expired"})");
  EXPECT_EQ(inactive.header("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_EQ(inactive.header("Content-Type"), "application/json; charset=utf-8");

  Response missing = c.request(http_request("GET", "/api"));
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.text(), R"({"message":"The access token is missing"})");
  EXPECT_EQ(missing.header("WWW-Authenticate"), "Bearer realm=\"service\"");
  Response basic = c.request(http_request("GET", "/api", {{"Authorization", "Basic YTpi"}}));
  EXPECT_EQ(basic.status, 401);

  // Expired by its own exp, although the server says active.
  idp_.answer("stale", R"({"active":true,"exp":)" + std::to_string(unix_now() - 10) + "}");
  Response stale = c.request(http_request("GET", "/api", {{"Authorization", "Bearer stale"}}));
  EXPECT_EQ(stale.status, 401);
  // Not valid before a future nbf.
  idp_.answer("early", R"({"active":true,"nbf":)" + std::to_string(unix_now() + 3600) + "}");
  Response early = c.request(http_request("GET", "/api", {{"Authorization", "Bearer early"}}));
  EXPECT_EQ(early.status, 401);

  EXPECT_EQ(up_.request_count(), 0u);
  EXPECT_EQ(idp_.calls_for(""), 0u);  // a missing token costs no introspection
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.oauth2-introspection.missing"), 2u);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.oauth2-introspection.invalid"), 3u);
}

TEST_F(OAuth2IntrospectionTest, AccessTokenQueryArgumentAndAnonymous) {
  start();
  idp_.answer("q token", R"({"active":true,"sub":"q"})");
  Response r = get("/api?x=1&access_token=q%20token");
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(last_upstream().header("X-Credential-Sub"), "q");
  EXPECT_EQ(last_upstream().target, "/?x=1&access_token=q%20token");  // strip_path

  Response anon = get("/open");
  EXPECT_EQ(anon.status, 200) << anon.describe();
  EXPECT_EQ(last_upstream().header("X-Consumer-Username"), "guest");
  EXPECT_EQ(last_upstream().header("X-Anonymous-Consumer"), "true");
  Response anon_bad = bearer("/open", "nope");
  EXPECT_EQ(anon_bad.status, 200) << anon_bad.describe();
  EXPECT_EQ(last_upstream().header("X-Anonymous-Consumer"), "true");
}

TEST_F(OAuth2IntrospectionTest, HideCredentialsRemovesTheToken) {
  start();
  idp_.answer("hidden-tok", R"({"active":true,"sub":"h"})");
  Response r = bearer("/hidden", "hidden-tok");
  EXPECT_EQ(r.status, 200) << r.describe();
  RecordedRequest req = last_upstream();
  EXPECT_FALSE(req.header("Authorization").has_value());
  EXPECT_EQ(req.raw_head.find("hidden-tok"), std::string::npos) << req.raw_head;
  EXPECT_EQ(req.header("X-Credential-Sub"), "h");

  Response q = get("/hidden/x?a=1&access_token=hidden-tok&b=2");
  EXPECT_EQ(q.status, 200) << q.describe();
  req = last_upstream();
  EXPECT_EQ(req.target, "/x?a=1&b=2");  // strip_path
}

TEST_F(OAuth2IntrospectionTest, ActiveResultsAreCachedUntilTtl) {
  start(/*ttl=*/1);
  idp_.answer("cached", R"({"active":true,"sub":"c"})");
  const auto first = std::chrono::steady_clock::now();
  EXPECT_EQ(bearer("/api", "cached").status, 200);
  EXPECT_EQ(bearer("/api", "cached").status, 200);
  EXPECT_EQ(bearer("/api", "cached").status, 200);
  // Both workers share the cache: one call for every request made within the ttl.
  if (std::chrono::steady_clock::now() - first < 900ms) {
    EXPECT_EQ(idp_.calls_for("cached"), 1u);
  }
  // After the ttl the server is asked again (and now says the token was revoked).
  idp_.answer("cached", R"({"active":false})");
  int last_status = 0;
  ASSERT_TRUE(eventually([&] {
    last_status = bearer("/api", "cached").status;
    return last_status == 401;
  }, 5000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - first, 900ms);
  EXPECT_EQ(idp_.calls_for("cached"), 2u);
}

TEST_F(OAuth2IntrospectionTest, CacheNeverOutlivesTheTokensExp) {
  start(/*ttl=*/300);
  const int64_t exp = unix_now() + 2;
  idp_.answer("short-lived", R"({"active":true,"exp":)" + std::to_string(exp) + "}");
  EXPECT_EQ(bearer("/api", "short-lived").status, 200);
  EXPECT_EQ(bearer("/api", "short-lived").status, 200);
  EXPECT_EQ(idp_.calls_for("short-lived"), 1u);
  // Once exp has passed the cached answer is gone: the next request asks again and the server's
  // (still "active") answer is refused by its exp.
  ASSERT_TRUE(eventually([&] { return bearer("/api", "short-lived").status == 401; }, 6000ms));
  EXPECT_GE(unix_now(), exp);
  EXPECT_EQ(idp_.calls_for("short-lived"), 2u);
}

TEST_F(OAuth2IntrospectionTest, InactiveResultsAreCachedBriefly) {
  start();
  EXPECT_EQ(bearer("/api", "bad-token").status, 401);
  EXPECT_EQ(bearer("/api", "bad-token").status, 401);
  EXPECT_EQ(bearer("/api", "bad-token").status, 401);
  EXPECT_EQ(idp_.calls_for("bad-token"), 1u);
  // The negative entry lasts about 5 s: then the token is asked about again.
  idp_.answer("bad-token", R"({"active":true})");
  ASSERT_TRUE(eventually([&] { return bearer("/api", "bad-token").status == 200; }, 9000ms));
  EXPECT_EQ(idp_.calls_for("bad-token"), 2u);
}

TEST_F(OAuth2IntrospectionTest, ConcurrentRequestsShareOneIntrospection) {
  start();
  idp_.answer("slow", R"({"active":true,"sub":"s"})");
  idp_.set_delay(400ms);
  std::vector<Client> clients;
  for (int i = 0; i < 6; ++i) clients.emplace_back(gw_->port());
  for (auto& c : clients) ASSERT_TRUE(c.send(http_request("GET", "/api", {{"Authorization", "Bearer slow"}})));
  for (auto& c : clients) EXPECT_EQ(c.read_response().status, 200);
  // At most one call per worker (the prelude runs two).
  EXPECT_LE(idp_.calls_for("slow"), 2u);
}

TEST_F(OAuth2IntrospectionTest, EndpointDownIsA503FastAndNeverA401) {
  start();
  const auto t0 = std::chrono::steady_clock::now();
  Response r = bearer("/down", "whatever");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(r.text(), R"({"message":"The token introspection endpoint is unavailable"})");
  EXPECT_EQ(r.header("Retry-After"), "1");
  EXPECT_EQ(up_.request_count(), 0u);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.oauth2-introspection.introspection_unavailable"), 1u);
  // Not cached: the next request tries again (and is counted again).
  EXPECT_EQ(bearer("/down", "whatever").status, 503);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.oauth2-introspection.introspection_unavailable"), 2u);
}

TEST_F(OAuth2IntrospectionTest, SlowEndpointTimesOutAsA503) {
  start();
  idp_.answer("slow-idp", R"({"active":true})");
  idp_.set_delay(3000ms);
  const auto t0 = std::chrono::steady_clock::now();
  Response r = bearer("/impatient", "slow-idp");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2000ms);
  EXPECT_EQ(up_.request_count(), 0u);
  EXPECT_NE(gw_->logs().find("timed out after 300 ms"), std::string::npos) << gw_->logs();
}

TEST_F(OAuth2IntrospectionTest, ForgedCredentialTrailersAreDropped) {
  start();
  idp_.answer("trailer-tok", R"({"active":true,"sub":"real"})");
  const Headers head = {{"Transfer-Encoding", "chunked"}, {"Authorization", "Bearer trailer-tok"}};
  Response t = fetch(gw_->port(), http_request("POST", "/api", head) +
                                      chunked("body", 2, {{"X-Credential-Sub", "root"}, {"X-Checksum", "abc"}}));
  EXPECT_EQ(t.status, 200) << t.describe();
  const RecordedRequest last = last_upstream();
  EXPECT_EQ(last.header("X-Credential-Sub"), "real");
  EXPECT_FALSE(find_header(last.body.trailers, "X-Credential-Sub").has_value());
  EXPECT_EQ(find_header(last.body.trailers, "X-Checksum").value_or(""), "abc");
}

TEST_F(OAuth2IntrospectionTest, BadAnswersAre502s) {
  start();
  idp_.answer_everything_with(500, R"({"error":"server_error"})");
  Response r = bearer("/api", "t1");
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.text(), R"({"message":"The token introspection endpoint gave an invalid answer"})");
  idp_.answer_everything_with(200, "<html>not json</html>");
  EXPECT_EQ(bearer("/api", "t2").status, 502);
  idp_.answer_everything_with(200, R"({"sub":"no active member"})");
  EXPECT_EQ(bearer("/api", "t3").status, 502);
  EXPECT_EQ(up_.request_count(), 0u);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.oauth2-introspection.introspection_bad_answer"), 3u);
  // The server recovers: bad answers were not cached.
  idp_.answer_everything_with(200, "");
  idp_.answer("t1", R"({"active":true})");
  EXPECT_EQ(bearer("/api", "t1").status, 200);
}

// Config errors, each at its file:line:column.
std::string config_with(std::string_view plugin_config) {
  return std::string(R"(_format_version: "3.0"
services:
  - name: svc
    url: http://127.0.0.1:9
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: oauth2-introspection
            config:
)") + std::string(plugin_config);
}

void expect_error_at(std::string_view plugin_config, int line, std::string_view text) {
  CheckResult r = Gateway::check(config_with(plugin_config), "introspection.yaml");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string prefix = r.config_path + ":" + std::to_string(line) + ":";
  const size_t at = r.err.find(prefix);
  ASSERT_NE(at, std::string::npos) << "no error at line " << line << ":\n" << r.err;
  EXPECT_NE(r.err.find(std::string(text), at), std::string::npos) << r.err;
}

TEST(OAuth2IntrospectionConfigTest, ErrorsNameFileLineAndColumn) {
  expect_error_at("              introspection_url: ftp://idp/introspect\n"
                  "              authorization_value: Basic abc\n",
                  11, "scheme must be http or https");
  expect_error_at("              authorization_value: Basic abc\n", 11, "introspection_url");
  expect_error_at("              introspection_url: http://idp/introspect\n", 11, "authorization_value");
  expect_error_at("              introspection_url: http://idp/introspect\n"
                  "              authorization_value: Basic abc\n"
                  "              introspect_request: true\n",
                  13, "not supported");
  expect_error_at("              introspection_url: http://idp/introspect\n"
                  "              authorization_value: Basic abc\n"
                  "              consumer_by: email\n",
                  13, "consumer_by");
  expect_error_at("              introspection_url: http://idp/introspect\n"
                  "              authorization_value: Basic abc\n"
                  "              custom_claims_forward: [\"bad claim\"]\n",
                  13, "bad claim");
  expect_error_at("              introspection_url: http://idp/introspect\n"
                  "              authorization_value: Basic abc\n"
                  "              timeout: 0\n",
                  13, "timeout");
  expect_error_at("              introspection_url: http://idp/introspect\n"
                  "              authorization_value: Basic abc\n"
                  "              bogus: 1\n",
                  13, "bogus");

  // Every Kong field is accepted.
  CheckResult ok = Gateway::check(config_with("              introspection_url: https://idp.example/introspect\n"
                                              "              authorization_value: Basic abc\n"
                                              "              token_type_hint: access_token\n"
                                              "              ttl: 60\n"
                                              "              hide_credentials: true\n"
                                              "              run_on_preflight: false\n"
                                              "              consumer_by: client_id\n"
                                              "              introspect_request: false\n"
                                              "              custom_introspection_headers: {X-A: b}\n"
                                              "              custom_claims_forward: [tenant]\n"
                                              "              timeout: 3000\n"
                                              "              keepalive: 60000\n"),
                                  "introspection-ok.yaml");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace portico::integration
