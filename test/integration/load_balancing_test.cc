// Kong `upstreams` through the real gateway: weighted round robin, consistent hashing on a header
// (stickiness), least-connections, a weight-0 target that never gets traffic, and the 503 of an
// upstream with no usable target.

#include <gtest/gtest.h>

#include <map>
#include <memory>
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

  std::string served_by(Gateway& gw, Headers headers = {}) {
    Response r = fetch(gw.port(), http_request("GET", "/lb", headers));
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.text();
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
  Gateway gw(config_prelude() + render(R"(
upstreams:
  - name: sticky
    algorithm: consistent-hashing
    hash_on: header
    hash_on_header: x-user
    hash_fallback: ip
    targets:
      - {target: "127.0.0.1:{{P0}}"}
      - {target: "127.0.0.1:{{P1}}"}
      - {target: "127.0.0.1:{{P2}}"}
services:
  - name: s
    host: sticky
    routes: [{name: lb, paths: ["/lb"]}]
)",
                                       ports()));
  std::map<std::string, std::string> first;
  std::map<std::string, int> spread;
  for (int round = 0; round < 3; ++round) {
    for (int u = 0; u < 30; ++u) {
      std::string user = "user-" + std::to_string(u);
      std::string who = served_by(gw, {{"X-User", user}});
      if (round == 0) {
        first[user] = who;
        spread[who]++;
      } else {
        EXPECT_EQ(who, first[user]) << user << " moved between targets";
      }
    }
  }
  EXPECT_EQ(spread.size(), 3u) << "30 users should reach all three targets";
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
