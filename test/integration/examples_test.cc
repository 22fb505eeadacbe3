// The README's examples run as documented: the quick-start config answers with no other service,
// and examples/proxy.yaml proxies to an origin on 127.0.0.1:9000.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

GatewayOptions ephemeral_ports() {
  GatewayOptions o;
  o.extra_args = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "2"};
  return o;
}

TEST(ExamplesTest, QuickstartAnswersWithoutAnyUpstream) {
  Gateway gw(read_example("quickstart.yaml"), ephemeral_ports());
  Response hello = fetch(gw.port(), http_request("GET", "/hello?name=portico"));
  ASSERT_TRUE(hello.ok()) << hello.error;
  EXPECT_EQ(hello.status, 200) << hello.describe();
  EXPECT_EQ(hello.header("X-Portico-Example").value_or(""), "quickstart");
  auto doc = parse_json(hello.text());
  ASSERT_TRUE(doc && doc->is_object()) << hello.text();
  const auto& req = doc->as_object().at("request").as_object();
  EXPECT_EQ(req.at("path").as_string(), "/hello");
  EXPECT_EQ(req.at("query").as_object().at("name").as_string(), "portico");

  Response page = fetch(gw.port(), http_request("GET", "/status-page"));
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(json_message(page.text()), "Portico is up");

  Response none = fetch(gw.port(), http_request("GET", "/nothing-here"));
  EXPECT_EQ(none.status, 404);

  Response status = fetch(gw.admin_port(), http_request("GET", "/status"));
  EXPECT_EQ(status.status, 200);
  // access_log: stdout — one JSON line per request.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (gw.access_log().find("/nothing-here") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(gw.access_log().find("\"path\":\"/nothing-here\""), std::string::npos) << gw.access_log();
}

TEST(ExamplesTest, ProxyExampleStripsThePrefixAndAddsHeaders) {
  Upstream up;
  std::string yaml = read_example("proxy.yaml");
  auto at = yaml.find("url: http://127.0.0.1:9000");
  if (at != std::string::npos) at += 12;
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 14, "127.0.0.1:" + std::to_string(up.port()));
  Gateway gw(yaml, ephemeral_ports());
  Response r = fetch(gw.port(), http_request("GET", "/api/orders/7"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_FALSE(r.header("Server").has_value()) << "response-transformer removes Server";
  ASSERT_EQ(up.request_count(), 1u);
  auto seen = up.requests()[0];
  EXPECT_EQ(seen.target, "/orders/7");
  EXPECT_EQ(seen.header("X-Gateway").value_or(""), "portico");
  EXPECT_EQ(fetch(gw.port(), http_request("DELETE", "/api/orders/7")).status, 404) << "methods: GET, POST only";
}

TEST(ExamplesTest, KeyAuthExampleAuthenticatesAndChecksGroups) {
  Upstream up;
  std::string yaml = read_example("key-auth.yaml");
  auto at = yaml.find("url: http://127.0.0.1:9000");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at + 12, 14, "127.0.0.1:" + std::to_string(up.port()));
  Gateway gw(yaml, ephemeral_ports());
  Response none = fetch(gw.port(), http_request("GET", "/api/orders"));
  EXPECT_EQ(none.status, 401) << none.describe();
  EXPECT_EQ(json_message(none.text()), "No API key found in request");
  Response partner = fetch(gw.port(), http_request("GET", "/api/orders", {{"apikey", "partner-key-7c1e"}}));
  EXPECT_EQ(partner.status, 200) << partner.describe();
  EXPECT_EQ(partner.header("X-Plan").value_or(""), "partner");
  ASSERT_EQ(up.request_count(), 1u);
  auto seen = up.requests()[0];
  EXPECT_EQ(seen.header("X-Consumer-Username").value_or(""), "partner");
  EXPECT_FALSE(seen.header("apikey").has_value());
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/api/reports?apikey=partner-key-7c1e")).status, 403);
  Response staff = fetch(gw.port(), http_request("GET", "/api/reports", {{"apikey", "staff-key-52ab"}}));
  EXPECT_EQ(staff.status, 200) << staff.describe();
  EXPECT_FALSE(staff.has_header("X-Plan"));
}

TEST(ExamplesTest, RateLimitingExampleLimitsPerClientAndThrottlesOrders) {
  Upstream up;
  std::string yaml = read_example("rate-limiting.yaml");
  auto at = yaml.find("url: http://127.0.0.1:9000");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at + 12, 14, "127.0.0.1:" + std::to_string(up.port()));
  Gateway gw(yaml, ephemeral_ports());
  int ok = 0, limited = 0;
  for (int i = 0; i < 12; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/api/items"));
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      EXPECT_EQ(json_message(r.text()), "API rate limit exceeded");
      EXPECT_TRUE(r.has_header("Retry-After"));
    }
  }
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(limited, 2);
  Response order = fetch(gw.port(), http_request("POST", "/orders", {}, "{}"));
  EXPECT_EQ(order.status, 200) << order.describe();
  EXPECT_EQ(order.header("RateLimit-Limit").value_or(""), "100");
  EXPECT_EQ(order.header("RateLimit-Remaining").value_or(""), "99");
}

}  // namespace
}  // namespace portico::integration
