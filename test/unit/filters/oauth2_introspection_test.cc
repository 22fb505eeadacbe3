// oauth2-introspection: config (defaults, each validation error at file:line:column), the form it
// posts, the shared token cache, the synchronous paths of on_request, and the gateway-owned
// X-Credential-* fields. The calls to the endpoint run in test/integration.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "filter/consumer_directory.h"
#include "filters/oauth2_introspection/introspection_cache.h"
#include "filters/oauth2_introspection/oauth2_introspection_filter.h"
#include "observability/worker_stats.h"
#include "test_support.h"

namespace portico::filters {
namespace {

using testing::load_plugin;
using Clock = IntrospectionCache::Clock;

const OAuth2IntrospectionFilter* as_filter(const testing::Loaded& l) {
  return dynamic_cast<const OAuth2IntrospectionFilter*>(l.filter.get());
}

TEST(OAuth2IntrospectionConfig, DefaultsFollowKong) {
  auto loaded = load_plugin(R"(plugins:
- name: oauth2-introspection
  config:
    introspection_url: http://127.0.0.1:9001/introspect
    authorization_value: Basic YTpi
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 1700);
  const auto& c = as_filter(loaded)->config();
  EXPECT_EQ(c.ttl, 30);
  EXPECT_FALSE(c.hide_credentials);
  EXPECT_TRUE(c.run_on_preflight);
  EXPECT_FALSE(c.consumer_by_client_id);
  EXPECT_EQ(c.timeout, std::chrono::milliseconds(10000));
  EXPECT_TRUE(c.token_type_hint.empty());
  EXPECT_TRUE(c.anonymous.empty());
}

TEST(OAuth2IntrospectionConfig, EveryFieldIsRead) {
  auto loaded = load_plugin(R"(plugins:
- name: oauth2-introspection
  config:
    introspection_url: https://idp.example.com/oauth2/introspect
    authorization_value: Basic YTpi
    token_type_hint: access_token
    ttl: 2.5
    hide_credentials: true
    run_on_preflight: false
    anonymous: null
    consumer_by: client_id
    introspect_request: false
    custom_introspection_headers: {X-Tenant: acme, Accept: application/token-introspection+json}
    custom_claims_forward: [tenant, roles]
    timeout: 1500
    keepalive: 60000
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& c = as_filter(loaded)->config();
  EXPECT_EQ(c.ttl, 2.5);
  EXPECT_TRUE(c.hide_credentials);
  EXPECT_FALSE(c.run_on_preflight);
  EXPECT_TRUE(c.consumer_by_client_id);
  ASSERT_EQ(c.custom_introspection_headers.size(), 2u);
  EXPECT_EQ(c.custom_introspection_headers[0].first, "X-Tenant");
  EXPECT_EQ(c.custom_claims_forward, (std::vector<std::string>{"tenant", "roles"}));
  EXPECT_EQ(c.timeout, std::chrono::milliseconds(1500));
}

TEST(OAuth2IntrospectionConfig, ErrorsNameTheirPlace) {
  auto loaded = load_plugin(R"(plugins:
- name: oauth2-introspection
  config:
    introspection_url: http://user:pw@idp/x
    ttl: -1
    consumer_by: email
    introspect_request: true
    custom_introspection_headers: {Content-Length: "5", X-Ok: "a"}
    custom_claims_forward: ["a b"]
    timeout: 0
    keepalive: "long"
    realm: x
)");
  EXPECT_FALSE(loaded.filter);
  const std::string text = loaded.error_text();
  for (const char* expected : {
           "kong.yaml:4:24: plugins[0].config.introspection_url: introspection_url: URL must not contain user "
           "information",
           "kong.yaml:4:5: plugins[0].config: missing required field 'authorization_value'",
           "kong.yaml:5:10: plugins[0].config.ttl:",
           "kong.yaml:6:18: plugins[0].config.consumer_by: \"email\" is not one of: username, client_id",
           "kong.yaml:8:36: plugins[0].config.custom_introspection_headers.Content-Length: 'Content-Length' is set "
           "by the introspection request itself",
           "kong.yaml:9:29: plugins[0].config.custom_claims_forward[0]: claim 'a b' cannot be forwarded",
           "kong.yaml:10:14: plugins[0].config.timeout: value 0 is out of range (1..2147483646)",
           "kong.yaml:11:16: plugins[0].config.keepalive:",
           "kong.yaml:7:25: plugins[0].config.introspect_request: introspect_request: true is not supported",
           "kong.yaml:12:5: plugins[0].config.realm: unknown field 'realm'",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << text;
  }
}

TEST(OAuth2IntrospectionConfig, CredentialsAreNeverEchoed) {
  auto loaded = load_plugin(
      "plugins:\n- name: oauth2-introspection\n  config:\n    introspection_url: http://idp/x\n"
      "    authorization_value: \"Basic s3cr3t\\u0001\"\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_NE(loaded.error_text().find("authorization_value must not contain control characters"), std::string::npos)
      << loaded.error_text();
  EXPECT_EQ(loaded.error_text().find("s3cr3t"), std::string::npos) << loaded.error_text();
}

TEST(OAuth2IntrospectionConfig, MissingConfigIsAnError) {
  auto loaded = load_plugin("plugins:\n- name: oauth2-introspection\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_NE(loaded.error_text().find("introspection_url"), std::string::npos) << loaded.error_text();
}

TEST(OAuth2IntrospectionForm, PercentEncodesTokenAndHint) {
  EXPECT_EQ(OAuth2IntrospectionFilter::form_body("abc.DEF-123_~", ""), "token=abc.DEF-123_~");
  EXPECT_EQ(OAuth2IntrospectionFilter::form_body("a+b/c=d&e f", "access_token"),
            "token=a%2Bb%2Fc%3Dd%26e%20f&token_type_hint=access_token");
  EXPECT_EQ(OAuth2IntrospectionFilter::form_body("\xc3\xa9", "x y"), "token=%C3%A9&token_type_hint=x%20y");
}

TEST(IntrospectionCacheTest, KeysAreDigestsAndEntriesExpire) {
  const std::string d = token_digest("secret-token");
  EXPECT_EQ(d.size(), 32u);
  EXPECT_EQ(d.find("secret-token"), std::string::npos);
  EXPECT_NE(d, token_digest("secret-tokeN"));

  IntrospectionCache cache(100);
  const auto now = Clock::now();
  auto value = std::make_shared<Introspection>();
  value->active = true;
  cache.insert(d, value, now + std::chrono::seconds(10), now);
  EXPECT_EQ(cache.find(d, now), value);
  EXPECT_EQ(cache.find(d, now + std::chrono::seconds(9)), value);
  EXPECT_EQ(cache.find(d, now + std::chrono::seconds(10)), nullptr);
  EXPECT_EQ(cache.size(), 0u);  // the expired entry went on lookup

  // Already expired: not stored. Replacing: the newer answer wins.
  cache.insert(d, value, now, now);
  EXPECT_EQ(cache.size(), 0u);
  auto inactive = std::make_shared<Introspection>();
  cache.insert(d, value, now + std::chrono::seconds(10), now);
  cache.insert(d, inactive, now + std::chrono::seconds(5), now);
  EXPECT_EQ(cache.find(d, now), inactive);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(IntrospectionCacheTest, StaysWithinItsBoundEvictingTheSoonestToExpire) {
  IntrospectionCache cache(IntrospectionCache::kStripes);  // one entry per stripe
  const auto now = Clock::now();
  auto v = std::make_shared<Introspection>();
  for (int i = 0; i < 1000; ++i) {
    cache.insert(token_digest("t" + std::to_string(i)), v, now + std::chrono::seconds(100 + i), now);
  }
  EXPECT_LE(cache.size(), IntrospectionCache::kStripes);
  // The most recent token, the latest to expire, is still there.
  EXPECT_NE(cache.find(token_digest("t999"), now), nullptr);
}

TEST(IntrospectionCacheTest, SharedByThreads) {
  IntrospectionCache cache(10000);
  const auto now = Clock::now();
  auto v = std::make_shared<Introspection>();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string d = token_digest(std::to_string(t) + ":" + std::to_string(i));
        cache.insert(d, v, now + std::chrono::seconds(60), now);
        EXPECT_EQ(cache.find(d, now), v);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(cache.size(), 2000u);
}

class OAuth2IntrospectionRequest : public ::testing::Test {
 protected:
  void SetUp() override { observability::WorkerStats::set_current(&stats_); }
  void TearDown() override { observability::WorkerStats::set_current(nullptr); }
  uint64_t rejected(observability::AuthReason r) {
    return stats_.auth_rejected[static_cast<size_t>(observability::AuthPlugin::kOAuth2Introspection)]
                               [static_cast<size_t>(r)]
                                   .value();
  }
  testing::Loaded load(std::string_view extra = {}) {
    return load_plugin(std::string("plugins:\n- name: oauth2-introspection\n  config:\n"
                                   "    introspection_url: http://127.0.0.1:9/introspect\n"
                                   "    authorization_value: Basic YTpi\n") +
                       std::string(extra));
  }

  boost::asio::io_context io_;
  observability::WorkerStats stats_;
};

TEST_F(OAuth2IntrospectionRequest, MissingTokenIsA401WithoutWaiting) {
  auto loaded = load();
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  for (const char* authorization : {"", "Basic YTpi", "Bearer ", "Bearer"}) {
    filter::Exchange x(io_.get_executor());
    testing::fill_request(x);
    if (*authorization) x.request.headers.add("Authorization", authorization);
    filter::Step step = loaded.filter->on_request(x);
    ASSERT_TRUE(step.ready()) << authorization;
    EXPECT_EQ(step.verdict().kind, filter::Verdict::Kind::kRespond);
    EXPECT_EQ(x.reply.status, 401);
    EXPECT_EQ(x.reply.body, R"({"message":"The access token is missing"})");
    EXPECT_EQ(x.reply.headers.get("WWW-Authenticate").value_or(""), "Bearer realm=\"service\"");
  }
  EXPECT_EQ(rejected(observability::AuthReason::kMissing), 4u);
}

TEST_F(OAuth2IntrospectionRequest, TokenWaitsForTheEndpointAndPreflightMayPass) {
  auto loaded = load("    run_on_preflight: false\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  filter::Exchange x(io_.get_executor());
  testing::fill_request(x);
  x.request.headers.add("Authorization", "bearer opaque-token");
  filter::Step step = loaded.filter->on_request(x);
  EXPECT_FALSE(step.ready());  // a Task: the core awaits it (and records the wait)

  filter::Exchange pre(io_.get_executor());
  testing::fill_request(pre);
  pre.request.method = "OPTIONS";
  filter::Step passed = loaded.filter->on_request(pre);
  ASSERT_TRUE(passed.ready());
  EXPECT_TRUE(passed.verdict().proceeds());
}

TEST(GatewayOwnedFields, CredentialClaimsAreTheGatewaysToSet) {
  for (const char* name : {"X-Credential-Sub", "x-credential-scope", "X-CREDENTIAL-TENANT", "X-Credential-Identifier",
                           "X-Consumer-ID", "X-Forwarded-Client-Cert"}) {
    EXPECT_TRUE(filter::is_gateway_owned_field(name)) << name;
  }
  for (const char* name : {"X-Credential-", "X-Credentials", "X-Credentialz-Sub", "Authorization", "X-Cred"}) {
    EXPECT_FALSE(filter::is_gateway_owned_field(name)) << name;
  }
}

}  // namespace
}  // namespace portico::filters
