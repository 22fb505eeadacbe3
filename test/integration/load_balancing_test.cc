// Kong `upstreams` through the real gateway: weighted round robin, consistent hashing on a header
// (stickiness), on a cookie (minted with Set-Cookie when missing, then sticky) and on the consumer
// (its fallback when anonymous), least-connections, a weight-0 target that never gets traffic, and
// the 503 of an upstream with no usable target.

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

class LoadBalancingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      ups_.push_back(std::make_unique<Upstream>());
      std::string name = "t" + std::to_string(i);
      ups_.back()->set_handler([name](const RecordedRequest&) {
        UpstreamResponse r;
        r.body = name;
        return r;
      });
    }
  }

  std::map<std::string, std::string> ports() const {
    return {{"P0", std::to_string(ups_[0]->port())},
            {"P1", std::to_string(ups_[1]->port())},
            {"P2", std::to_string(ups_[2]->port())}};
  }

  // Upstream `name` over the three targets (equal weights) with `policy` (its other fields, four
  // spaces deep), and a service with route /lb on it.
  std::string three_targets(std::string_view name, std::string_view policy) const {
    auto vars = ports();
    vars["NAME"] = std::string(name);
    vars["POLICY"] = std::string(policy);
    return config_prelude() + render(R"(
upstreams:
  - name: {{NAME}}
{{POLICY}}    targets:
      - {target: "127.0.0.1:{{P0}}"}
      - {target: "127.0.0.1:{{P1}}"}
      - {target: "127.0.0.1:{{P2}}"}
services:
  - name: s
    host: {{NAME}}
    routes: [{name: lb, paths: ["/lb"]}]
)",
                                     vars);
  }

  std::string served_by(Gateway& gw, Headers headers = {}) {
    Response r = fetch(gw.port(), http_request("GET", "/lb", headers));
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.text();
  }

  // Sends 30 clients' requests (headers from `client`) `rounds` times: each client must stay on
  // the target it first reached, and together they must reach all three targets.
  void expect_sticky_and_spread(Gateway& gw, const std::function<Headers(int)>& client, int rounds,
                                std::string_view what) {
    std::map<int, std::string> first;
    std::set<std::string> reached;
    for (int round = 0; round < rounds; ++round) {
      for (int c = 0; c < 30; ++c) {
        std::string who = served_by(gw, client(c));
        if (round == 0) {
          first[c] = who;
          reached.insert(who);
        } else {
          EXPECT_EQ(who, first[c]) << what << " client " << c << " moved between targets";
        }
      }
    }
    EXPECT_EQ(reached.size(), 3u) << what << ": 30 clients should reach all three targets";
  }

  std::vector<std::unique_ptr<Upstream>> ups_;
};

TEST_F(LoadBalancingTest, WeightedRoundRobinFollowsWeightsAndSkipsWeightZero) {
  // One worker, so one balancer sees every request and the split is exact.
  Gateway gw(config_prelude() + render(R"(
upstreams:
  - name: orders.upstream
    targets:
      - {target: "127.0.0.1:{{P0}}", weight: 300}
      - {target: "127.0.0.1:{{P1}}", weight: 100}
      - {target: "127.0.0.1:{{P2}}", weight: 0}
services:
  - name: orders
    host: orders.upstream
    routes: [{name: lb, paths: ["/lb"]}]
)",
                                       ports()),
             GatewayOptions{.extra_args = {"--workers", "1"}});
  std::map<std::string, int> count;
  for (int i = 0; i < 40; ++i) count[served_by(gw)]++;
  EXPECT_EQ(count["t0"], 30);
  EXPECT_EQ(count["t1"], 10);
  EXPECT_EQ(count["t2"], 0);
  // The upstream name is what the target sees as Host (Kong's default for upstreams).
  EXPECT_EQ(ups_[0]->requests().back().header("Host").value_or(""), "orders.upstream");
}

TEST_F(LoadBalancingTest, ConsistentHashingOnAHeaderIsSticky) {
  Gateway gw(three_targets("sticky", "    algorithm: consistent-hashing\n    hash_on: header\n    hash_on_header: x-user\n    hash_fallback: ip\n"));
  expect_sticky_and_spread(gw, [](int u) { return Headers{{"X-User", "user-" + std::to_string(u)}}; }, 3,
                           "X-User");
}

// The Set-Cookie fields of `r` that set cookie `name`.
std::vector<std::string> cookies_named(const Response& r, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& value : find_headers(r.headers, "Set-Cookie")) {
    if (std::string(value).rfind(name + "=", 0) == 0) out.emplace_back(value);
  }
  return out;
}

TEST_F(LoadBalancingTest, ConsistentHashingOnACookieMintsOneAndSticks) {
  // Every target also sets a cookie of its own and one under the balancing name, which the
  // minted cookie replaces (Kong does the same).
  for (int i = 0; i < 3; ++i) {
    std::string name = "t" + std::to_string(i);
    ups_[i]->set_handler([name](const RecordedRequest&) {
      UpstreamResponse r;
      r.body = name;
      r.headers = {{"Set-Cookie", "app=" + name + "; Path=/"}, {"Set-Cookie", "lb_id=from-" + name}};
      return r;
    });
  }
  Gateway gw(three_targets("sticky", "    hash_on: cookie\n    hash_on_cookie: lb_id\n"));

  // No cookie: the gateway mints one (a UUID), balances on it and hands it to the client.
  Response first = fetch(gw.port(), http_request("GET", "/lb"));
  ASSERT_TRUE(first.ok()) << first.error;
  ASSERT_EQ(first.status, 200) << first.describe();
  std::vector<std::string> minted = cookies_named(first, "lb_id");
  ASSERT_EQ(minted.size(), 1u) << first.raw_head;
  const std::string& set_cookie = minted[0];
  const std::string value = set_cookie.substr(6, set_cookie.find(';') - 6);
  EXPECT_EQ(value.size(), 36u) << set_cookie;
  EXPECT_EQ(set_cookie, "lb_id=" + value + "; Path=/; SameSite=Lax; HttpOnly");
  EXPECT_EQ(cookies_named(first, "app").size(), 1u) << "the upstream's other cookies pass through";
  // The minted value is what the pick used: sending it back reaches the same target every time.
  for (int i = 0; i < 10; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/lb", {{"Cookie", "theme=dark; lb_id=" + value}}));
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.text(), first.text()) << "request " << i << " with the minted cookie moved";
    EXPECT_TRUE(cookies_named(r, "lb_id").size() == 1u && cookies_named(r, "lb_id")[0].rfind("lb_id=from-", 0) == 0)
        << "a client that has the cookie gets none minted: " << r.raw_head;
  }
  // Each cookie-less request gets its own value, and lands where that value hashes.
  std::set<std::string> values = {value};
  for (int i = 0; i < 6; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/lb"));
    ASSERT_EQ(r.status, 200) << r.describe();
    ASSERT_EQ(cookies_named(r, "lb_id").size(), 1u) << r.raw_head;
    std::string v = cookies_named(r, "lb_id")[0].substr(6, 36);
    EXPECT_TRUE(values.insert(v).second) << "minted twice: " << v;
    EXPECT_EQ(served_by(gw, {{"Cookie", "lb_id=" + v}}), r.text()) << v;
  }

  // Different cookie values spread over the targets, each one sticky.
  expect_sticky_and_spread(gw, [](int c) { return Headers{{"Cookie", "lb_id=client-" + std::to_string(c)}}; }, 2,
                           "cookie");
}

TEST_F(LoadBalancingTest, MintedCookieIsSetOnALocalErrorAfterThePick) {
  Gateway gw(config_prelude() + render(R"(
upstreams:
  - name: down
    hash_on: cookie
    hash_on_cookie: lb_id
    hash_on_cookie_path: /shop
    targets: [{target: "127.0.0.1:{{PORT}}"}]
services:
  - name: s
    host: down
    retries: 0
    routes: [{name: lb, paths: ["/lb"]}]
)",
                                       {{"PORT", std::to_string(closed_port())}}));
  Response r = fetch(gw.port(), http_request("GET", "/lb"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 502) << r.describe();
  ASSERT_EQ(cookies_named(r, "lb_id").size(), 1u) << r.raw_head;
  EXPECT_NE(cookies_named(r, "lb_id")[0].find("; Path=/shop;"), std::string::npos) << "the configured path";
}

TEST_F(LoadBalancingTest, ConsumerHashingWithoutAConsumerUsesTheFallback) {
  // No authentication plugin identifies a consumer, so every request falls back to X-User.
  Gateway gw(three_targets("by-consumer", "    hash_on: consumer\n    hash_fallback: header\n    hash_fallback_header: x-user\n"));
  expect_sticky_and_spread(gw, [](int u) { return Headers{{"X-User", "user-" + std::to_string(u)}}; }, 2,
                           "fallback header");
  Response r = fetch(gw.port(), http_request("GET", "/lb"));
  EXPECT_EQ(r.status, 200) << "no consumer and no header: balanced without a key; " << r.describe();
  EXPECT_FALSE(r.has_header("Set-Cookie"));
}

TEST_F(LoadBalancingTest, LeastConnectionsAvoidsTheBusyTarget) {
  // Whichever target gets /slow holds it for 400 ms; while it is in flight, every new request
  // must go to the other target.
  for (int i = 0; i < 2; ++i) {
    std::string name = "t" + std::to_string(i);
    ups_[i]->set_handler([name](const RecordedRequest& req) {
      UpstreamResponse r;
      r.body = name;
      if (req.target == "/slow") r.delay = std::chrono::milliseconds(400);
      return r;
    });
  }
  Gateway gw(config_prelude() + render(R"(
upstreams:
  - name: lc
    algorithm: least-connections
    targets:
      - {target: "127.0.0.1:{{P0}}"}
      - {target: "127.0.0.1:{{P1}}"}
services:
  - name: s
    host: lc
    routes: [{name: all, paths: ["/"]}]
)",
                                       ports()),
             GatewayOptions{.extra_args = {"--workers", "1"}});
  Client slow(gw.port());
  slow.send(http_request("GET", "/slow"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (ups_[0]->request_count() + ups_[1]->request_count() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(ups_[0]->request_count() + ups_[1]->request_count(), 1u);
  std::string busy = ups_[0]->request_count() == 1 ? "t0" : "t1";
  std::string idle = busy == "t0" ? "t1" : "t0";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(served_by(gw), idle) << "request " << i << " went to the busy target";
  Response r = slow.read_response({.timeout = std::chrono::seconds(3)});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.text(), busy);
}

TEST_F(LoadBalancingTest, UpstreamWithoutUsableTargetsIs503) {
  Gateway gw(config_prelude() + R"(
upstreams:
  - name: empty
    targets:
      - {target: "127.0.0.1:9", weight: 0}
services:
  - name: s
    host: empty
    routes: [{name: lb, paths: ["/lb"]}]
)");
  Response r = fetch(gw.port(), http_request("GET", "/lb"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(json_message(r.text()), "failure to get a peer from the ring-balancer");
}

}  // namespace
}  // namespace portico::integration
