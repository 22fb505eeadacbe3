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

// Points an example's first URL with `address` (its documented upstream, e.g. "127.0.0.1:9000")
// at a test server; false when the example has no such URL.
bool point_at(std::string& yaml, std::string_view address, uint16_t port) {
  const size_t at = yaml.find("http://" + std::string(address));
  if (at == std::string::npos) return false;
  yaml.replace(at + 7, address.size(), "127.0.0.1:" + std::to_string(port));
  return true;
}

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
  ASSERT_TRUE(point_at(yaml, "127.0.0.1:9000", up.port()));
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
  ASSERT_TRUE(point_at(yaml, "127.0.0.1:9000", up.port()));
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

TEST(ExamplesTest, JwtExampleAuthenticatesWithTheTokenItDocuments) {
  Upstream up;
  std::string yaml = read_example("jwt.yaml");
  ASSERT_TRUE(point_at(yaml, "127.0.0.1:9000", up.port()));
  // The token the file's comment gives (HS256 with the example secret, kid in the header).
  auto token_at = yaml.find("TOKEN=");
  ASSERT_NE(token_at, std::string::npos);
  const std::string token = yaml.substr(token_at + 6, yaml.find('\n', token_at) - token_at - 6);
  Gateway gw(yaml, ephemeral_ports());
  Response none = fetch(gw.port(), http_request("GET", "/api/orders"));
  EXPECT_EQ(none.status, 401) << none.describe();
  EXPECT_EQ(json_message(none.text()), "Unauthorized");
  Response ok = fetch(gw.port(), http_request("GET", "/api/orders", {{"Authorization", "Bearer " + token}}));
  EXPECT_EQ(ok.status, 200) << ok.describe();
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_EQ(up.requests()[0].header("X-Consumer-Username").value_or(""), "mobile-app");
  EXPECT_EQ(up.requests()[0].header("X-Credential-Identifier").value_or(""), "8e2b6f41-0c9d-4a57-b3e8-61d7f2a9c5e4");
  std::string forged = token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/api/orders", {{"Authorization", "Bearer " + forged}})).status, 401);
}

TEST(ExamplesTest, OAuth2IntrospectionExampleAsksTheAuthorizationServer) {
  Upstream up;
  Upstream idp;
  idp.set_handler([](const RecordedRequest& req) {
    UpstreamResponse r;
    r.headers = {{"Content-Type", "application/json"}};
    const bool good = req.body.data.find("token=good-token") != std::string::npos &&
                      req.header("Authorization").value_or("") == "Basic Z2F0ZXdheTpzM2NyZXQ=";
    r.body = good ? R"({"active":true,"client_id":"billing-client","sub":"svc-7","tenant":"t1"})"
                  : R"({"active":false})";
    return r;
  });
  std::string yaml = read_example("oauth2-introspection.yaml");
  ASSERT_TRUE(point_at(yaml, "127.0.0.1:9000", up.port()));
  ASSERT_TRUE(point_at(yaml, "127.0.0.1:9001", idp.port()));
  Gateway gw(yaml, ephemeral_ports());
  Response none = fetch(gw.port(), http_request("GET", "/invoices"));
  EXPECT_EQ(none.status, 401) << none.describe();
  EXPECT_EQ(json_message(none.text()), "The access token is missing");
  Response bad = fetch(gw.port(), http_request("GET", "/invoices", {{"Authorization", "Bearer bad-token"}}));
  EXPECT_EQ(bad.status, 401) << bad.describe();
  Response good = fetch(gw.port(), http_request("GET", "/invoices", {{"Authorization", "Bearer good-token"}}));
  EXPECT_EQ(good.status, 200) << good.describe();
  ASSERT_EQ(up.request_count(), 1u);
  auto seen = up.requests()[0];
  EXPECT_EQ(seen.header("X-Consumer-Username").value_or(""), "billing-service");
  EXPECT_EQ(seen.header("X-Credential-Sub").value_or(""), "svc-7");
  EXPECT_EQ(seen.header("X-Credential-tenant").value_or(""), "t1");
  EXPECT_FALSE(seen.header("Authorization").has_value());
}

TEST(ExamplesTest, RateLimitingExampleLimitsPerClientAndThrottlesOrders) {
  Upstream up;
  std::string yaml = read_example("rate-limiting.yaml");
  ASSERT_TRUE(point_at(yaml, "127.0.0.1:9000", up.port()));
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
