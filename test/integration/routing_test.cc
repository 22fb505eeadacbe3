// Routing by request headers (Kong's route `headers`) through the real gateway with two real
// upstreams: the seed's header canary (examples/canary.yaml), case-insensitive values, "~*"
// regex values, and header routes outranking plain routes on the same path.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/temp_dir.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

// Each upstream names itself in the body, so a response shows which service answered.
void answer_as(Upstream& up, std::string name) {
  up.set_handler([name](const RecordedRequest&) {
    UpstreamResponse r;
    r.body = name;
    return r;
  });
}

class CanaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    answer_as(v1_, "v1");
    answer_as(v2_, "v2");
    std::string yaml = read_example("canary.yaml");
    for (auto [from, to] : {std::pair{"url: http://127.0.0.1:9001", v1_.port()},
                            {"url: http://127.0.0.1:9002", v2_.port()}}) {
      auto at = yaml.find(from);
      ASSERT_NE(at, std::string::npos) << "examples/canary.yaml no longer has " << from;
      yaml.replace(at, std::string_view(from).size(),
                   "url: http://127.0.0.1:" + std::to_string(to));
    }
    GatewayOptions o;
    o.extra_args = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "2"};
    gw_ = std::make_unique<Gateway>(yaml, o);
  }

  // The body of the answer to GET /v1/checkout with `headers`, i.e. which upstream served it.
  std::string served_by(Headers headers) {
    Response r = fetch(gw_->port(), http_request("GET", "/v1/checkout", headers));
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.text();
  }

  Upstream v1_;
  Upstream v2_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(CanaryTest, CanaryHeaderSelectsV2) {
  EXPECT_EQ(served_by({{"x-canary", "true"}}), "v2");
  ASSERT_TRUE(v2_.wait_for_requests(1, 2s));
  // The matching header is forwarded like any other.
  EXPECT_EQ(v2_.requests().back().header("x-canary"), "true");
  EXPECT_EQ(v2_.requests().back().target, "/v1/checkout");
}

TEST_F(CanaryTest, NameAndValueAreCaseInsensitive) {
  EXPECT_EQ(served_by({{"X-Canary", "TRUE"}}), "v2");
  EXPECT_EQ(served_by({{"X-CANARY", "True"}}), "v2");
}

TEST_F(CanaryTest, AbsentOrOtherValueGoesToV1) {
  EXPECT_EQ(served_by({}), "v1");
  EXPECT_EQ(served_by({{"x-canary", "false"}}), "v1");
  EXPECT_EQ(served_by({{"x-canary", "truee"}}), "v1");
  EXPECT_EQ(v2_.request_count(), 0u);
}

constexpr std::string_view kRegexAndPriority = R"yaml(
services:
  - name: plain
    url: http://127.0.0.1:{{A}}
    routes:
      - name: plain-route
        paths: ["/app"]
  - name: special
    url: http://127.0.0.1:{{B}}
    routes:
      - name: mobile
        paths: ["/app"]
        headers:
          user-agent: ["~*(android|iphone)"]
      - name: tenant-and-region
        paths: ["/app"]
        headers:
          x-tenant: [acme, globex]
          x-region: [eu]
      - name: headers-only
        headers:
          x-debug-route: ["1"]
)yaml";

class HeaderRoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    answer_as(a_, "plain");
    b_.set_handler([](const RecordedRequest& req) {
      UpstreamResponse r;
      r.body = "special " + req.target;
      return r;
    });
    gw_ = std::make_unique<Gateway>(
        config_prelude() + render(kRegexAndPriority, {{"A", std::to_string(a_.port())},
                                                       {"B", std::to_string(b_.port())}}));
  }

  Response get(std::string_view target, Headers headers) {
    Response r = fetch(gw_->port(), http_request("GET", target, headers));
    EXPECT_TRUE(r.ok()) << r.error;
    return r;
  }

  Upstream a_;
  Upstream b_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(HeaderRoutingTest, RegexValueIsCaseInsensitiveSearch) {
  EXPECT_EQ(get("/app/x", {{"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)"}}).text(),
            "special /x");
  EXPECT_EQ(get("/app/x", {{"user-agent", "Dalvik/2.1.0 (Linux; U; ANDROID 14)"}}).text(),
            "special /x");
  EXPECT_EQ(get("/app/x", {{"user-agent", "curl/8.5.0"}}).text(), "plain");
}

TEST_F(HeaderRoutingTest, HeaderRouteBeatsPlainRouteOnTheSamePath) {
  EXPECT_EQ(get("/app", {{"x-tenant", "Globex"}, {"x-region", "EU"}}).text(), "special /");
  // One condition out of two is not enough.
  EXPECT_EQ(get("/app", {{"x-tenant", "acme"}}).text(), "plain");
  EXPECT_EQ(get("/app", {{"x-tenant", "initech"}, {"x-region", "eu"}}).text(), "plain");
}

TEST_F(HeaderRoutingTest, RouteWithOnlyHeaders) {
  EXPECT_EQ(get("/anything/else", {{"x-debug-route", "1"}}).text(), "special /anything/else");
  Response none = get("/anything/else", {});
  EXPECT_EQ(none.status, 404) << none.describe();
}

TEST(HeaderRoutingConfig, CheckRejectsHostHeaderAndBadRegex) {
  CheckResult host = Gateway::check(config_prelude() + R"yaml(
services:
  - name: s
    url: http://127.0.0.1:9
    routes:
      - name: r
        paths: ["/"]
        headers:
          Host: [example.com]
)yaml");
  EXPECT_NE(host.exit_code, 0);
  EXPECT_NE(host.err.find("routes[0].headers.Host: the 'host' header cannot be matched"),
            std::string::npos)
      << host.err;
  CheckResult regex = Gateway::check(config_prelude() + R"yaml(
services:
  - name: s
    url: http://127.0.0.1:9
    routes:
      - name: r
        paths: ["/"]
        headers:
          x-ua: ["~*(unclosed"]
)yaml");
  EXPECT_NE(regex.exit_code, 0);
  EXPECT_NE(regex.err.find("invalid regex \"(unclosed\""), std::string::npos) << regex.err;
}

}  // namespace
}  // namespace portico::integration

namespace portico::integration {
namespace {

// `portico routes` explains a routing decision without traffic: the same file, the same matcher.
RunResult routes(std::vector<std::string> args) {
  std::vector<std::string> all = {"routes", "-c", portico_source_dir() + "/examples/canary.yaml"};
  all.insert(all.end(), args.begin(), args.end());
  return run_command(portico_binary(), all, Millis{10000});
}

TEST(RoutesCommand, ExplainsTheCanaryDecision) {
  RunResult canary = routes({"GET https://shop.example.com/v1/checkout/cart?x=1", "-H", "X-Canary: true"});
  ASSERT_EQ(canary.exit_code(), 0) << canary.err;
  EXPECT_NE(canary.out.find("route:     checkout-canary"), std::string::npos) << canary.out;
  EXPECT_NE(canary.out.find("headers x-canary: true"), std::string::npos) << canary.out;
  EXPECT_NE(canary.out.find("upstream:  GET /v1/checkout/cart?x=1"), std::string::npos) << canary.out;

  RunResult stable = routes({"GET /v1/checkout"});
  ASSERT_EQ(stable.exit_code(), 0) << stable.err;
  EXPECT_NE(stable.out.find("route:     checkout-stable"), std::string::npos) << stable.out;
  EXPECT_NE(stable.out.find("paths \"/v1/checkout\" (prefix)"), std::string::npos) << stable.out;
}

TEST(RoutesCommand, ShowsTheUpstreamAndItsTargets) {
  RunResult r = run_command(portico_binary(),
                            {"routes", "-c", portico_source_dir() + "/examples/upstreams.yaml", "GET /sessions/me"},
                            Millis{10000});
  ASSERT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_NE(r.out.find("balancer:  upstream sessions.upstream, consistent-hashing, hash_on header then ip: "
                       "127.0.0.1:9201 (weight 100), 127.0.0.1:9202 (weight 100)"),
            std::string::npos)
      << r.out;
}

TEST(RoutesCommand, ShowsSnisAndTheHttpsAnswer) {
  TempDir dir;
  std::string file = dir.write_file("tls.yaml", R"(_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:9000
    routes:
      - {name: tls, paths: ["/pay"], snis: ["pay.example.com"], protocols: [https], https_redirect_status_code: 308}
)");
  RunResult https = run_command(portico_binary(), {"routes", "-c", file, "GET https://pay.example.com/pay"}, Millis{10000});
  ASSERT_EQ(https.exit_code(), 0) << https.err;
  EXPECT_NE(https.out.find("snis \"pay.example.com\""), std::string::npos) << https.out;
  EXPECT_EQ(https.out.find("answer:"), std::string::npos) << https.out;
  RunResult plain = run_command(portico_binary(), {"routes", "-c", file, "GET http://pay.example.com/pay"}, Millis{10000});
  ASSERT_EQ(plain.exit_code(), 0) << plain.err;
  EXPECT_NE(plain.out.find("(not tested on plaintext, as in Kong)"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("answer:    308"), std::string::npos) << plain.out;
}

TEST(RoutesCommand, ShowsNormalisationMissesAndUsageErrors) {
  RunResult norm = routes({"GET /v1/./x/../checkout"});
  EXPECT_EQ(norm.exit_code(), 0) << norm.err;
  EXPECT_NE(norm.out.find("normalised path: /v1/checkout"), std::string::npos) << norm.out;

  RunResult miss = routes({"GET /elsewhere"});
  EXPECT_EQ(miss.exit_code(), 1);
  EXPECT_NE(miss.out.find("no route matches: 404"), std::string::npos) << miss.out;

  RunResult bad = routes({"GET /v1/%zz"});
  EXPECT_EQ(bad.exit_code(), 1);
  EXPECT_NE(bad.out.find("400"), std::string::npos) << bad.out;

  RunResult usage = run_command(portico_binary(), {"routes", "-c", portico_source_dir() + "/examples/canary.yaml"},
                                Millis{10000});
  EXPECT_EQ(usage.exit_code(), 2);
  RunResult header = routes({"GET /v1/checkout", "-H", "no-colon"});
  EXPECT_EQ(header.exit_code(), 2);
  EXPECT_NE(header.err.find("expected \"Name: value\""), std::string::npos) << header.err;
}

}  // namespace
}  // namespace portico::integration

namespace portico::integration {
namespace {

// Named captures of a regex path are available to later filters: request-termination's echo
// reports them as Kong's does (uri_captures.named).
TEST(RegexCaptures, NamedCapturesReachFilters) {
  Gateway gw(config_prelude() + R"(
routes:
  - name: user
    paths: ['~/users/(?P<id>\d+)/orders/(?P<order>[a-z0-9-]+)$']
    plugins:
      - name: request-termination
        config: {status_code: 200, echo: true}
)");
  Response r = fetch(gw.port(), http_request("GET", "/users/42/orders/ab-7"));
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.status, 200) << r.describe();
  auto doc = parse_json(r.text());
  ASSERT_TRUE(doc && doc->is_object()) << r.text();
  const auto& named =
      doc->as_object().at("request").as_object().at("uri_captures").as_object().at("named").as_object();
  EXPECT_EQ(named.at("id").as_string(), "42");
  EXPECT_EQ(named.at("order").as_string(), "ab-7");
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/users/x/orders/1")).status, 404);
}

}  // namespace
}  // namespace portico::integration

namespace portico::integration {
namespace {

// Kong's route `protocols` and `https_redirect_status_code`, service `enabled` and plugin
// `protocols`, on a plain-HTTP listener.
class ProtocolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    answer_as(up_, "served");
    gw_ = std::make_unique<Gateway>(config_prelude() + render(R"(
plugins:
  - name: response-transformer
    config: {add: {headers: ["x-plugin-ran:yes"]}}
services:
  - name: s
    url: http://127.0.0.1:{{P}}
    routes:
      - {name: both, paths: ["/both"]}
      - {name: tls-only, paths: ["/secure"], protocols: [https]}
      - {name: tls-301, paths: ["/moved"], protocols: [https], https_redirect_status_code: 301}
      - {name: tls-308, paths: ["/kept"], protocols: [https], https_redirect_status_code: 308}
      - name: https-plugin
        paths: ["/plugin"]
        plugins:
          - name: request-termination
            protocols: [https]
            config: {status_code: 403, message: "only over https"}
  - name: off
    enabled: false
    url: http://127.0.0.1:{{P}}
    routes:
      - {name: disabled, paths: ["/disabled"]}
)",
                                                              {{"P", std::to_string(up_.port())}}));
  }
  Response get(std::string_view target, std::string_view host = "localhost") {
    return fetch(gw_->port(), http_request("GET", target, {}, {}, host));
  }
  Upstream up_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(ProtocolsTest, HttpsOnlyRouteAnswers426WithUpgrade) {
  Response r = get("/secure/x");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 426) << r.describe();
  EXPECT_EQ(json_message(r.text()), "Please use HTTPS protocol");
  EXPECT_EQ(r.header("upgrade").value_or(""), "TLS/1.2, HTTP/1.1");
  EXPECT_EQ(up_.request_count(), 0u);
  EXPECT_FALSE(r.header("x-plugin-ran").has_value()) << "no plugin runs on the https answer";
  // Routes that accept http are untouched.
  Response both = get("/both");
  EXPECT_EQ(both.text(), "served");
  EXPECT_EQ(both.header("x-plugin-ran").value_or(""), "yes");
}

TEST_F(ProtocolsTest, RedirectStatusSendsTheClientToHttpsOnTheSameHostAndTarget) {
  Response r = get("/moved/a%20b?x=1&y=2", "api.example.com:8000");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 301) << r.describe();
  EXPECT_EQ(r.header("location").value_or(""), "https://api.example.com/moved/a%20b?x=1&y=2");
  // The target as the client sent it (Kong: the path used in the request), not the normalised one.
  Response raw = get("/moved/./x//y?q", "api.example.com");
  EXPECT_EQ(raw.header("location").value_or(""), "https://api.example.com/moved/./x//y?q");
  Response kept = get("/kept", "[::1]:8000");
  EXPECT_EQ(kept.status, 308) << kept.describe();
  EXPECT_EQ(kept.header("location").value_or(""), "https://[::1]/kept");
  EXPECT_EQ(up_.request_count(), 0u);
}

TEST_F(ProtocolsTest, PluginLimitedToHttpsDoesNotRunOnHttp) {
  Response r = get("/plugin");
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.text(), "served");
}

TEST_F(ProtocolsTest, RoutesOfADisabledServiceDoNotMatch) {
  Response r = get("/disabled");
  EXPECT_EQ(r.status, 404) << r.describe();
  EXPECT_EQ(json_message(r.text()), "no Route matched with those values");
  EXPECT_EQ(get("/both").status, 200);
}

}  // namespace
}  // namespace portico::integration
