#include "filters/basic_auth/basic_auth_filter.h"

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

struct BasicAuthTest : ::testing::Test {
  boost::asio::io_context io;
  std::shared_ptr<const filter::ConsumerDirectory> dir = make_directory();
  // Runs the plugin on a request with `authorization` (none when empty); returns the exchange.
  std::unique_ptr<filter::Exchange> request(const filter::Filter& f, std::string_view authorization) {
    auto x = std::make_unique<filter::Exchange>(io.get_executor());
    x->consumers = dir.get();
    fill_request(*x);
    if (!authorization.empty()) x->request.headers.add("Authorization", authorization);
    run_request(f, *x);
    return x;
  }
};

TEST(BasicAuthConfig, DefaultsAndErrors) {
  auto loaded = load_plugin("plugins:\n- name: basic-auth\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 1100);
  auto bad = load_plugin(R"(plugins:
- name: basic-auth
  config:
    realm: ""
    hide_credentials: yes
)");
  EXPECT_FALSE(bad.filter);
  EXPECT_EQ(bad.error_text(),
            "kong.yaml:5:23: plugins[0].config.hide_credentials: expected a boolean (true or "
            "false), got a string (\"yes\"); YAML 1.1 words such as yes/no/on/off are not "
            "accepted\n"
            "kong.yaml:4:12: plugins[0].config.realm: realm must not be empty");
}

TEST(BasicAuthBase64, StrictDecoding) {
  char out[32];
  EXPECT_EQ(decode_base64("YWxpY2U6cHc=", out, sizeof out), 8);
  EXPECT_EQ(std::string_view(out, 8), "alice:pw");
  EXPECT_EQ(decode_base64("YWxpY2U6cHc", out, sizeof out), 8);
  EXPECT_EQ(decode_base64("YW*p", out, sizeof out), -1);
  EXPECT_EQ(decode_base64("Y", out, sizeof out), -1);
  EXPECT_EQ(decode_base64("YWxpY2U6cHc=", out, 4), -1);
}

TEST_F(BasicAuthTest, GoodPassword) {
  auto f = load_plugin("plugins:\n- name: basic-auth\n  config: {hide_credentials: true}\n").filter;
  // alice:open-sesame
  auto x = request(*f, "Basic YWxpY2U6b3Blbi1zZXNhbWU=");
  EXPECT_FALSE(x->reply.active());
  EXPECT_EQ(x->consumer_index, 0);
  EXPECT_EQ(header(*x, "X-Credential-Identifier"), "alice");
  EXPECT_EQ(header(*x, "X-Consumer-Username"), "alice");
  EXPECT_EQ(header(*x, "Authorization"), "<none>");
}

TEST_F(BasicAuthTest, RefusalsAndMalformedHeaders) {
  auto f = load_plugin("plugins:\n- name: basic-auth\n").filter;
  auto none = request(*f, "");
  EXPECT_EQ(none->reply.status, 401);
  EXPECT_EQ(none->reply.body, R"({"message":"Unauthorized"})");
  EXPECT_EQ(reply_header(*none, "WWW-Authenticate"), "Basic realm=\"service\"");
  for (std::string_view bad : {
           "Basic YWxpY2U6d3Jvbmc=",  // alice:wrong
           "Basic Ym9iOnB3",          // bob:pw (no basic credential)
           "Basic !!!notbase64",      // bad base64
           "Basic YWxpY2U=",          // "alice": no colon
           "Basic ",                  // empty
           "Basic Om9wZW4tc2VzYW1l",  // ":open-sesame": empty username
           "Bearer YWxpY2U6b3Blbi1zZXNhbWU=",
       }) {
    auto x = request(*f, bad);
    EXPECT_EQ(x->reply.status, 401) << bad;
    EXPECT_EQ(x->reply.body, R"({"message":"Invalid authentication credentials"})") << bad;
    EXPECT_EQ(reply_header(*x, "WWW-Authenticate"), "Basic realm=\"service\"") << bad;
    EXPECT_EQ(x->consumer_index, -1) << bad;
  }
}

TEST_F(BasicAuthTest, AnonymousAndLogicalOr) {
  auto f = load_plugin("plugins:\n- name: basic-auth\n  config: {anonymous: an0}\n").filter;
  auto x = request(*f, "Basic YWxpY2U6d3Jvbmc=");
  EXPECT_FALSE(x->reply.active());
  EXPECT_EQ(x->consumer_index, 2);
  EXPECT_EQ(header(*x, "X-Anonymous-Consumer"), "true");
  // Already authenticated by another plugin: nothing to do.
  filter::Exchange y{io.get_executor()};
  y.consumers = dir.get();
  fill_request(y);
  filter::authenticate(y, *dir, 1, "", false);
  EXPECT_TRUE(run_request(*f, y).proceeds());
  EXPECT_EQ(y.consumer_index, 1);
}

}  // namespace
}  // namespace portico::filters
