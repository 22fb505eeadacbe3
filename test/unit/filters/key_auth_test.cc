#include "filters/key_auth/key_auth_filter.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "auth_test_support.h"
#include "test_support.h"

namespace portico::filters {
namespace {

using testing::fill_request;
using testing::header;
using testing::load_plugin;
using testing::make_directory;
using testing::reply_header;
using testing::run_request;

struct KeyAuthTest : ::testing::Test {
  boost::asio::io_context io;
  filter::Exchange x{io.get_executor()};
  std::shared_ptr<const filter::ConsumerDirectory> dir = make_directory();
  void SetUp() override { x.consumers = dir.get(); }
  std::shared_ptr<const filter::Filter> plugin(const std::string& config = "") {
    auto loaded = load_plugin("plugins:\n- name: key-auth\n" + config);
    EXPECT_TRUE(loaded.filter) << loaded.error_text();
    return loaded.filter;
  }
};

TEST(KeyAuthConfig, DefaultsAreKongs) {
  auto loaded = load_plugin("plugins:\n- name: key-auth\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 1250);
  const auto& c = static_cast<const KeyAuthFilter&>(*loaded.filter).config();
  EXPECT_EQ(c.key_names, std::vector<std::string>{"apikey"});
  EXPECT_FALSE(c.hide_credentials);
  EXPECT_TRUE(c.key_in_header);
  EXPECT_TRUE(c.key_in_query);
  EXPECT_FALSE(c.key_in_body);
  EXPECT_TRUE(c.run_on_preflight);
  EXPECT_TRUE(c.anonymous.empty());
}

TEST(KeyAuthConfig, DeckDumpWithNullsLoads) {
  auto loaded = load_plugin(R"(plugins:
- name: key-auth
  config:
    anonymous: null
    hide_credentials: false
    key_in_body: false
    key_in_header: true
    key_in_query: true
    key_names: [apikey]
    realm: null
    run_on_preflight: true
)");
  EXPECT_TRUE(loaded.filter) << loaded.error_text();
}

TEST(KeyAuthConfig, Errors) {
  auto loaded = load_plugin(R"(plugins:
- name: key-auth
  config:
    key_names: [apikey, "x key"]
    key_in_body: true
    hide_credential: true
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:25: plugins[0].config.key_names[1]: bad header name 'x key', allowed "
            "characters are A-Z, a-z, 0-9, '_', and '-'\n"
            "kong.yaml:5:18: plugins[0].config.key_in_body: key_in_body: true is not supported yet "
            "(Portico streams request bodies); send the key in a header or the query string\n"
            "kong.yaml:6:5: plugins[0].config.hide_credential: unknown field 'hide_credential' "
            "(did you mean 'hide_credentials'?); expected one of: key_names, hide_credentials, "
            "anonymous, key_in_header, key_in_query, key_in_body, run_on_preflight, realm");
  auto empty = load_plugin("plugins:\n- name: key-auth\n  config:\n    key_names: []\n");
  EXPECT_EQ(empty.error_text(), "kong.yaml:4:16: plugins[0].config.key_names: key_names must not be empty");
}

TEST_F(KeyAuthTest, KeyInHeaderAuthenticates) {
  auto f = plugin();
  fill_request(x);
  x.request.headers.add("apikey", "alice-key");
  EXPECT_TRUE(run_request(*f, x).proceeds());
  EXPECT_EQ(x.consumer_index, 0);
  EXPECT_EQ(x.consumer_id, "a1");
  EXPECT_EQ(x.credential_id, "k1");
  EXPECT_FALSE(x.anonymous_consumer);
  EXPECT_EQ(header(x, "X-Consumer-ID"), "a1");
  EXPECT_EQ(header(x, "X-Consumer-Custom-ID"), "A");
  EXPECT_EQ(header(x, "X-Consumer-Username"), "alice");
  EXPECT_EQ(header(x, "X-Credential-Identifier"), "k1");
  EXPECT_EQ(header(x, "X-Anonymous-Consumer"), "<none>");
  EXPECT_EQ(header(x, "apikey"), "alice-key");  // hide_credentials is off by default
}

TEST_F(KeyAuthTest, KeyInQueryDecodedAndHidden) {
  auto f = plugin("  config: {hide_credentials: true, key_names: [X-Key, apikey]}\n");
  fill_request(x, "/echo", "a=1&api%6Bey=bob%2Dkey&b=2");
  EXPECT_TRUE(run_request(*f, x).proceeds());
  EXPECT_EQ(x.consumer_index, 1);
  EXPECT_EQ(header(x, "X-Consumer-ID"), "<none>");  // bob has no id in the file
  EXPECT_EQ(header(x, "X-Consumer-Username"), "bob");
  EXPECT_EQ(x.request.query, "a=1&b=2");
  EXPECT_TRUE(x.request.has_query);
}

TEST_F(KeyAuthTest, HeaderHiddenAndQueryEmptied) {
  auto f = plugin("  config: {hide_credentials: true}\n");
  fill_request(x);
  x.request.headers.add("ApiKey", "alice-key");
  EXPECT_TRUE(run_request(*f, x).proceeds());
  EXPECT_EQ(header(x, "apikey"), "<none>");
  filter::Exchange y{io.get_executor()};
  y.consumers = dir.get();
  fill_request(y, "/echo", "apikey=alice-key");
  EXPECT_TRUE(run_request(*f, y).proceeds());
  EXPECT_EQ(y.request.query, "");
  EXPECT_FALSE(y.request.has_query);
}

TEST_F(KeyAuthTest, MissingAndInvalidKeys) {
  auto f = plugin();
  fill_request(x);
  EXPECT_EQ(run_request(*f, x).kind, filter::Verdict::Kind::kRespond);
  EXPECT_EQ(x.reply.status, 401);
  EXPECT_EQ(x.reply.body, R"({"message":"No API key found in request"})");
  EXPECT_EQ(reply_header(x, "WWW-Authenticate"), "Key");
  EXPECT_EQ(x.consumer_index, -1);

  filter::Exchange y{io.get_executor()};
  y.consumers = dir.get();
  fill_request(y);
  y.request.headers.add("apikey", "nope");
  EXPECT_EQ(run_request(*f, y).kind, filter::Verdict::Kind::kRespond);
  EXPECT_EQ(y.reply.status, 401);
  EXPECT_EQ(y.reply.body, R"({"message":"Invalid authentication credentials"})");

  filter::Exchange z{io.get_executor()};
  z.consumers = dir.get();
  fill_request(z, "/echo", "apikey=alice-key&apikey=bob-key");
  run_request(*f, z);
  EXPECT_EQ(z.reply.status, 401);
  EXPECT_EQ(z.reply.body, R"({"message":"Duplicate API key found"})");
}

TEST_F(KeyAuthTest, RealmAndDisabledSources) {
  auto f = plugin("  config: {realm: api, key_in_query: false}\n");
  fill_request(x, "/echo", "apikey=alice-key");
  run_request(*f, x);
  EXPECT_EQ(x.reply.status, 401);
  EXPECT_EQ(reply_header(x, "WWW-Authenticate"), "Key realm=\"api\"");
}

TEST_F(KeyAuthTest, AnonymousConsumer) {
  auto f = plugin("  config: {anonymous: anon}\n");
  fill_request(x);
  x.request.headers.add("apikey", "wrong");
  EXPECT_TRUE(run_request(*f, x).proceeds());
  EXPECT_EQ(x.consumer_index, 2);
  EXPECT_TRUE(x.anonymous_consumer);
  EXPECT_EQ(x.credential_id, "");
  EXPECT_EQ(header(x, "X-Anonymous-Consumer"), "true");
  EXPECT_EQ(header(x, "X-Consumer-ID"), "an0");
  EXPECT_EQ(header(x, "X-Credential-Identifier"), "<none>");
}

TEST_F(KeyAuthTest, PreflightSkippedWhenConfigured) {
  auto f = plugin("  config: {run_on_preflight: false}\n");
  fill_request(x);
  x.request.method = "OPTIONS";
  EXPECT_TRUE(run_request(*f, x).proceeds());
  EXPECT_EQ(x.consumer_index, -1);
}

TEST(ConsumerHeaders, OnlyTheGatewaySetsThem) {
  for (std::string_view h : {"X-Consumer-ID", "x-consumer-custom-id", "X-CONSUMER-USERNAME",
                             "X-Credential-Identifier", "X-Anonymous-Consumer", "X-Consumer-Groups"}) {
    EXPECT_TRUE(filter::is_consumer_header(h)) << h;
  }
  for (std::string_view h : {"X-Consumer", "X-Consumer-IDs", "apikey", "Y-Consumer-ID", "",
                             "X-Request-Id", "X-Credential-Identifiers"}) {
    EXPECT_FALSE(filter::is_consumer_header(h)) << h;
  }
}

}  // namespace
}  // namespace portico::filters
