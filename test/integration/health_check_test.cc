// Kong's active health checks through the real gateway: an http probe that starts failing ejects
// its target after `unhealthy.http_failures` probes and it gets no traffic until
// `healthy.successes` probes pass again; a tcp probe ejects a stopped upstream and takes it back
// when it listens again; every target unhealthy answers Kong's 503; `threshold`; health survives a
// reload; and the admin API shows it all. Intervals are 0.1 s, so every wait is short and bounded.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "harness/client.h"
#include "harness/fake_dns.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

// One upstream whose /health answers `health_status` and every other path its name.
struct Backend {
  explicit Backend(std::string n) : name(std::move(n)), server(std::make_unique<Upstream>()) { install(); }
  Backend(std::string n, const std::string& ipv4, uint16_t port)
      : name(std::move(n)), server(std::make_unique<Upstream>(ipv4, port)) {
    install();
  }
  void install() {
    server->set_handler([this](const RecordedRequest& r) {
      UpstreamResponse resp;
      if (r.target == "/health") {
        resp.status = health_status.load();
        resp.delay = Millis{health_delay_ms.load()};
        ++probes;
        if (resp.status >= 500) ++failed_probes;
        resp.body = "probe";
        return resp;
      }
      ++served;
      resp.body = name;
      return resp;
    });
  }
  std::string name;
  std::unique_ptr<Upstream> server;
  std::atomic<int> health_status{200};
  std::atomic<int> failed_probes{0};
  std::atomic<int> probes{0};
  std::atomic<int> health_delay_ms{0};
  std::atomic<int> served{0};
};

class HealthCheckTest : public ::testing::Test {
 protected:
  HealthCheckTest() : a_("A"), b_("B") {}

  std::string config(std::string_view healthchecks, std::string_view route_name = "r") const {
    return config_prelude() + render(R"(
upstreams:
  - name: u
    healthchecks:
{{HC}}
    targets:
      - target: "127.0.0.1:{{PA}}"
      - target: "127.0.0.1:{{PB}}"
  - name: plain
    targets:
      - target: "127.0.0.1:{{PB}}"
services:
  - name: s
    host: u
    routes: [{name: {{ROUTE}}, paths: [/]}]
  - name: p
    host: plain
    routes: [{name: p, paths: [/plain]}]
)",
                                     {{"HC", std::string(healthchecks)},
                                      {"PA", std::to_string(a_.server->port())},
                                      {"PB", std::to_string(b_.server->port())},
                                      {"ROUTE", std::string(route_name)}});
  }

  static std::string http_checks() {
    return R"(      active:
        http_path: /health
        timeout: 0.5
        healthy: {interval: 0.1, successes: 2}
        unhealthy: {interval: 0.1, http_failures: 2})";
  }

  // The health word of the endpoint `target` ("127.0.0.1:PORT", its address) in GET /upstreams/{name}/health, or "".
  // (Each entry names its configured target in "target" and the endpoint in "address".)
  static std::string health_of(Gateway& gw, const std::string& upstream, const std::string& target) {
    Response r = fetch(gw.admin_port(), http_request("GET", "/upstreams/" + upstream + "/health"));
    if (r.status != 200) return "";
    auto v = parse_json(r.text());
    if (!v || !v->is_object()) return "";
    if (target.empty()) return json_string(*v, "health").value_or("");
    for (const auto& t : v->as_object().at("data").as_array()) {
      if (json_string(t, "address") == target) return json_string(t, "health").value_or("");
    }
    return "";
  }
  std::string key(const Backend& b) const { return "127.0.0.1:" + std::to_string(b.server->port()); }

  std::string served_by(Gateway& gw) {
    Response r = fetch(gw.port(), http_request("GET", "/work"));
    EXPECT_TRUE(r.ok()) << r.error;
    return r.status == 200 ? r.text() : "status " + std::to_string(r.status);
  }

  // Sends `n` requests; every one must be served by `who`.
  void expect_only(Gateway& gw, const std::string& who, int n, std::string_view why) {
    for (int i = 0; i < n; ++i) ASSERT_EQ(served_by(gw), who) << why << " (request " << i << ")";
  }

  // Sends requests until `who` serves one; false after 5 s.
  bool reaches(Gateway& gw, const std::string& who) {
    return eventually([&] { return served_by(gw) == who; });
  }

  Backend a_;
  Backend b_;
};

TEST_F(HealthCheckTest, HttpProbeEjectsAfterHttpFailuresAndTakesBackAfterSuccesses) {
  Gateway gw(config(http_checks()));
  ASSERT_TRUE(reaches(gw, "A"));
  ASSERT_TRUE(reaches(gw, "B"));
  EXPECT_EQ(health_of(gw, "u", key(a_)), "HEALTHY");

  a_.health_status = 500;
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", key(a_)) == "UNHEALTHY"; }))
      << "A's /health answers 500 but it was never ejected\n" << gw.logs();
  EXPECT_GE(a_.failed_probes.load(), 2) << "ejected before unhealthy.http_failures probes failed";
  EXPECT_EQ(health_of(gw, "u", key(b_)), "HEALTHY");
  EXPECT_EQ(health_of(gw, "u", ""), "HEALTHY") << "the balancer still has B";
  EXPECT_NE(gw.logs().find("health: upstream u target " + key(a_) + " is unhealthy"), std::string::npos)
      << gw.logs();
  const int served_before = a_.served.load();
  expect_only(gw, "B", 30, "A is unhealthy");
  EXPECT_EQ(a_.served.load(), served_before) << "an unhealthy target got traffic";

  a_.health_status = 200;
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", key(a_)) == "HEALTHY"; }))
      << "A recovered but never came back\n" << gw.logs();
  EXPECT_NE(gw.logs().find("target " + key(a_) + " is healthy again"), std::string::npos) << gw.logs();
  EXPECT_TRUE(reaches(gw, "A")) << "a healthy-again target gets traffic again";
}

TEST_F(HealthCheckTest, TcpProbeEjectsAStoppedUpstreamAndTakesItBackWhenItListens) {
  Gateway gw(config(R"(      active:
        type: tcp
        timeout: 0.5
        healthy: {interval: 0.1, successes: 1}
        unhealthy: {interval: 0.1, tcp_failures: 2})"));
  ASSERT_TRUE(reaches(gw, "A"));
  const uint16_t port = a_.server->port();
  a_.server->stop();
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", key(b_)) == "HEALTHY" &&
                                      health_of(gw, "u", "127.0.0.1:" + std::to_string(port)) == "UNHEALTHY"; }))
      << gw.logs();
  expect_only(gw, "B", 20, "A is stopped and unhealthy");

  // The same address listens again: the tcp probe succeeds and A returns.
  a_.server = std::make_unique<Upstream>("127.0.0.1", port);
  a_.install();
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", key(a_)) == "HEALTHY"; })) << gw.logs();
  EXPECT_TRUE(reaches(gw, "A"));
}

TEST_F(HealthCheckTest, EveryTargetUnhealthyAnswersKongs503AndRecovers) {
  Gateway gw(config(http_checks()));
  a_.health_status = 503;
  b_.health_status = 500;
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", "") == "UNHEALTHY"; })) << gw.logs();
  EXPECT_EQ(health_of(gw, "u", key(a_)), "UNHEALTHY");
  EXPECT_EQ(health_of(gw, "u", key(b_)), "UNHEALTHY");
  const int a_before = a_.served.load(), b_before = b_.served.load();
  for (int i = 0; i < 5; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/work"));
    ASSERT_EQ(r.status, 503) << r.describe();
    EXPECT_EQ(json_message(r.text()), "failure to get a peer from the ring-balancer");
  }
  EXPECT_EQ(a_.served.load(), a_before);
  EXPECT_EQ(b_.served.load(), b_before);

  b_.health_status = 200;
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", key(b_)) == "HEALTHY"; })) << gw.logs();
  expect_only(gw, "B", 10, "only B recovered");
}

TEST_F(HealthCheckTest, ThresholdTakesTheWholeUpstreamDown) {
  // Two targets of equal weight: one unhealthy leaves 50% < 60%.
  Gateway gw(config(http_checks() + "\n      threshold: 60"));
  ASSERT_TRUE(reaches(gw, "B"));
  a_.health_status = 500;
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", "") == "UNHEALTHY"; })) << gw.logs();
  EXPECT_EQ(health_of(gw, "u", key(b_)), "HEALTHY");
  Response r = fetch(gw.port(), http_request("GET", "/work"));
  EXPECT_EQ(r.status, 503) << r.describe();
  a_.health_status = 200;
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", "") == "HEALTHY"; })) << gw.logs();
  EXPECT_TRUE(reaches(gw, "A"));
}

TEST_F(HealthCheckTest, HealthSurvivesAReloadAndShowsInStatus) {
  Gateway gw(config(http_checks()));
  a_.health_status = 500;
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", key(a_)) == "UNHEALTHY"; })) << gw.logs();

  // A new config with the same targets: A stays out from the first request on.
  Headers h{{"Content-Type", "application/x-yaml"}};
  Response posted = fetch(gw.admin_port(), http_request("POST", "/config", h, config(http_checks(), "r2")),
                          {.timeout = 15s});
  ASSERT_EQ(posted.status, 201) << posted.describe();
  expect_only(gw, "B", 20, "A was unhealthy before the reload");
  EXPECT_EQ(health_of(gw, "u", key(a_)), "UNHEALTHY");

  Response status = fetch(gw.admin_port(), http_request("GET", "/status"));
  ASSERT_EQ(status.status, 200);
  auto v = parse_json(status.text());
  ASSERT_TRUE(v && v->is_object()) << status.text();
  const auto& ups = v->as_object().at("upstreams").as_object();
  const auto& targets = ups.at("u").as_object().at("targets").as_array();
  ASSERT_EQ(targets.size(), 2u);
  for (const auto& t : targets) {
    const bool is_a = json_string(t, "address") == key(a_);
    EXPECT_EQ(json_string(t, "health"), is_a ? "UNHEALTHY" : "HEALTHY") << boost::json::serialize(t);
    EXPECT_EQ(t.as_object().at("weight").as_int64(), 100);
  }
  EXPECT_EQ(json_string(ups.at("plain"), "health"), "HEALTHCHECKS_OFF");
  EXPECT_GT(v->as_object().at("health_checks").as_object().at("probes").as_int64(), 0);
  EXPECT_EQ(fetch(gw.admin_port(), http_request("GET", "/upstreams/nope/health")).status, 404);
}

// Health follows addresses by "ip:port" when a target's name re-resolves: the known-bad address
// stays out, a new one starts healthy.
TEST_F(HealthCheckTest, HealthFollowsAddressesAcrossDnsChanges) {
  FakeDns dns;
  const uint16_t port = a_.server->port();
  Backend a2("A2", "127.0.0.2", port);
  Backend a3("A3", "127.0.0.3", port);
  dns.set("svc.test", {"127.0.0.1", "127.0.0.2"}, 1);
  const std::string p = std::to_string(port);
  Gateway gw(config_prelude("  dns:\n    resolvers: [\"" + dns.address() + "\"]\n    hosts_file: \"\"\n") + R"(
upstreams:
  - name: u
    healthchecks:
)" + http_checks() + R"(
    targets:
      - target: "svc.test:)" + p + R"("
services:
  - name: s
    host: u
    routes: [{name: r, paths: [/]}]
)");
  a_.health_status = 500;
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", "127.0.0.1:" + p) == "UNHEALTHY"; })) << gw.logs();
  EXPECT_EQ(health_of(gw, "u", "127.0.0.2:" + p), "HEALTHY");

  dns.set("svc.test", {"127.0.0.1", "127.0.0.2", "127.0.0.3"}, 1);
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", "127.0.0.3:" + p) == "HEALTHY"; }, Millis{8000}))
      << "the new address never showed up\n" << gw.logs();
  EXPECT_EQ(health_of(gw, "u", "127.0.0.1:" + p), "UNHEALTHY") << "the known-bad address kept its state";
  const int a_before = a_.served.load();
  EXPECT_TRUE(reaches(gw, "A3")) << "the new address takes traffic";
  for (int i = 0; i < 20; ++i) EXPECT_NE(served_by(gw), "A");
  EXPECT_EQ(a_.served.load(), a_before);
}

TEST_F(HealthCheckTest, SlowProbesTimeOutAndStopDoesNotWaitForThem) {
  a_.health_delay_ms = 3000;
  Gateway gw(config(R"(      active:
        http_path: /health
        timeout: 0.2
        healthy: {interval: 0.1, successes: 1}
        unhealthy: {interval: 0.1, timeouts: 2})"));
  ASSERT_TRUE(eventually([&] { return health_of(gw, "u", key(a_)) == "UNHEALTHY"; }))
      << "probes slower than `timeout` must count as timeouts\n" << gw.logs();
  EXPECT_NE(gw.logs().find("probe: timeout"), std::string::npos) << gw.logs();
  expect_only(gw, "B", 10, "A's probes time out");
  ASSERT_TRUE(eventually([&] { return a_.probes.load() >= 3; }));
  // A probe is (almost certainly) in flight now: the gateway still stops at once and cleanly.
  const auto started = std::chrono::steady_clock::now();
  auto exit = gw.stop(Millis{5000});
  ASSERT_TRUE(exit) << "the gateway did not stop";
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->describe() << "\n" << gw.logs();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2500ms) << "shutdown waited for a probe";
}

}  // namespace
}  // namespace portico::integration
