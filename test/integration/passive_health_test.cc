// Kong's passive health checks and Portico's outlier ejection through the real gateway: three
// targets under steady load, one failing. After `unhealthy.http_failures` consecutive failures
// it gets no more traffic (and, with a route retry policy on 5xx, clients never see its errors);
// it comes back after `ejection_base` (longer after each ejection), or through active checks
// when `ejection_base` is 0 (Kong), and stays out without them, or when an operator says so
// through the admin API (Kong's PUT /upstreams/{u}/targets/{t}/healthy|unhealthy). Ejection
// times are below 1 s.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

// An upstream answering `status` with its name on every path but /health (always 200).
struct Backend {
  explicit Backend(std::string n) : name(std::move(n)), server(std::make_unique<Upstream>()) {
    server->set_handler([this](const RecordedRequest& r) {
      UpstreamResponse resp;
      if (r.target == "/health") {
        resp.body = "probe";
        return resp;
      }
      ++served;
      resp.status = status.load();
      resp.body = name;
      return resp;
    });
  }
  std::string key() const { return "127.0.0.1:" + std::to_string(server->port()); }
  std::string name;
  std::unique_ptr<Upstream> server;
  std::atomic<int> status{200};
  std::atomic<int> served{0};
};

// Passive checks in Kong's mode: no re-admission by time.
constexpr std::string_view kKongPassive = R"(      passive:
        unhealthy: {http_failures: 2}
        ejection_base: 0)";

class PassiveHealthTest : public ::testing::Test {
 protected:
  PassiveHealthTest() : a_("A"), b_("B"), c_("C") {}

  // Upstream u over A, B, C with `healthchecks` (four-space indentation inside), a service with
  // Kong `retries` and a route retrying 5xx twice.
  std::string config(std::string_view healthchecks, int retries = 0) const {
    return config_prelude() + render(R"(
upstreams:
  - name: u
    healthchecks:
{{HC}}
    targets:
      - target: "{{A}}"
      - target: "{{B}}"
      - target: "{{C}}"
services:
  - name: s
    host: u
    retries: {{RETRIES}}
    routes:
      - name: r
        paths: [/]
        retry_policy:
          retry_on: 5xx,connect-failure
          num_retries: 2
          retry_back_off: {base_interval: 1ms, max_interval: 5ms}
)",
                                     {{"HC", std::string(healthchecks)},
                                      {"A", a_.key()},
                                      {"B", b_.key()},
                                      {"C", c_.key()},
                                      {"RETRIES", std::to_string(retries)}});
  }

  // One request; the client must always get a 200 (a failure of A is retried elsewhere).
  std::string send(Gateway& gw) {
    Response r = fetch(gw.port(), http_request("GET", "/work"));
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.status == 200 ? r.text() : "status " + std::to_string(r.status);
  }

  // Steady load until the log holds `line`; false after 5 s.
  bool load_until_logged(Gateway& gw, const std::string& line) {
    return eventually([&] {
      send(gw);
      return gw.logs().find(line) != std::string::npos;
    });
  }

  std::string unhealthy_line() const { return "target " + a_.key() + " is unhealthy (passive"; }

  Backend a_;
  Backend b_;
  Backend c_;
};

TEST_F(PassiveHealthTest, HttpFailuresEjectATargetClientsSeeNoErrorAndItComesBackAfterTheEjection) {
  a_.status = 500;
  Gateway gw(config(R"(      passive:
        unhealthy: {http_failures: 3}
        ejection_base: 0.8
        ejection_max: 5)"));
  ASSERT_TRUE(load_until_logged(gw, unhealthy_line())) << gw.logs();
  EXPECT_GE(a_.served.load(), 3) << "ejected before unhealthy.http_failures failures";
  EXPECT_NE(gw.logs().find("ejection 1 for 800 ms"), std::string::npos) << gw.logs();
  send(gw);  // the decision is published by now
  // The admin API shows the passive verdict (a passive-only upstream is not HEALTHCHECKS_OFF).
  Response health = fetch(gw.admin_port(), http_request("GET", "/status"));
  EXPECT_NE(health.text().find("\"UNHEALTHY\""), std::string::npos) << health.text();
  EXPECT_EQ(health.text().find("HEALTHCHECKS_OFF"), std::string::npos) << health.text();
  const int served_before = a_.served.load();
  for (int i = 0; i < 20; ++i) EXPECT_NE(send(gw), "A") << "request " << i;
  EXPECT_EQ(a_.served.load(), served_before) << "an ejected target got traffic";
  EXPECT_GT(b_.served.load(), 0);
  EXPECT_GT(c_.served.load(), 0);

  a_.status = 200;
  ASSERT_TRUE(eventually([&] { return send(gw) == "A"; })) << "A never came back\n" << gw.logs();
  EXPECT_NE(gw.logs().find("target " + a_.key() + " is healthy again (passive: ejection time over)"),
            std::string::npos)
      << gw.logs();
}

TEST_F(PassiveHealthTest, ATargetThatKeepsFailingIsEjectedForLongerEachTime) {
  a_.status = 500;
  Gateway gw(config(R"(      passive:
        unhealthy: {http_failures: 2}
        ejection_base: 0.2
        ejection_max: 10)"));
  ASSERT_TRUE(load_until_logged(gw, "ejection 1 for 200 ms")) << gw.logs();
  ASSERT_TRUE(load_until_logged(gw, "ejection 2 for 400 ms")) << gw.logs();
  EXPECT_NE(gw.logs().find("target " + a_.key() + " is healthy again (passive: ejection time over)"),
            std::string::npos)
      << gw.logs();
}

TEST_F(PassiveHealthTest, AClosedPortIsEjectedByTcpFailures) {
  a_.server->stop();
  Gateway gw(config(R"(      passive:
        unhealthy: {tcp_failures: 2}
        ejection_base: 30)",
                    /*retries=*/5));
  ASSERT_TRUE(load_until_logged(gw, unhealthy_line())) << gw.logs();
  send(gw);
  const auto connect_failures = [&] {
    size_t n = 0;
    const std::string logs = gw.logs();
    for (size_t at = logs.find("connect failed"); at != std::string::npos; at = logs.find("connect failed", at + 1)) {
      ++n;
    }
    return n;
  };
  const size_t before = connect_failures();
  for (int i = 0; i < 20; ++i) send(gw);
  EXPECT_EQ(connect_failures(), before) << "the ejected target was still tried\n" << gw.logs();
}

TEST_F(PassiveHealthTest, KongModeStaysOutWithoutActiveChecksAndActiveSuccessesBringItBack) {
  a_.status = 500;
  {
    Gateway gw(config(kKongPassive));
    ASSERT_TRUE(load_until_logged(gw, unhealthy_line())) << gw.logs();
    a_.status = 200;
    send(gw);
    const int served_before = a_.served.load();
    const auto until = std::chrono::steady_clock::now() + 1200ms;
    while (std::chrono::steady_clock::now() < until) EXPECT_NE(send(gw), "A");
    EXPECT_EQ(a_.served.load(), served_before) << "ejection_base 0 re-admitted the target by time";
  }
  a_.status = 500;
  Gateway gw(config(R"(      passive:
        unhealthy: {http_failures: 2}
        ejection_base: 0
      active:
        http_path: /health
        healthy: {interval: 0.1, successes: 2}
        unhealthy: {interval: 0.1})"));
  ASSERT_TRUE(load_until_logged(gw, unhealthy_line())) << gw.logs();
  a_.status = 200;
  ASSERT_TRUE(eventually([&] { return send(gw) == "A"; })) << "active checks never brought A back\n" << gw.logs();
  EXPECT_NE(gw.logs().find("target " + a_.key() + " is healthy again (active http probe"), std::string::npos)
      << gw.logs();
}

Response admin_call(Gateway& gw, const std::string& method, const std::string& path) {
  return fetch(gw.admin_port(), http_request(method, path));
}

TEST_F(PassiveHealthTest, TheAdminApiReadmitsAnEjectedTargetAndCanTakeOneOut) {
  a_.status = 500;
  Gateway gw(config(kKongPassive));
  ASSERT_TRUE(load_until_logged(gw, unhealthy_line())) << gw.logs();
  a_.status = 200;
  for (int i = 0; i < 10; ++i) EXPECT_NE(send(gw), "A");

  // Kong's endpoint, by the target as configured: 204, and A takes traffic again at once.
  Response r = admin_call(gw, "PUT", "/upstreams/u/targets/" + a_.key() + "/healthy");
  EXPECT_EQ(r.status, 204) << r.describe();
  EXPECT_TRUE(r.text().empty()) << r.describe();
  EXPECT_FALSE(r.header("Content-Length").has_value()) << r.describe();
  ASSERT_TRUE(eventually([&] { return send(gw) == "A"; })) << gw.logs();
  EXPECT_NE(gw.logs().find("target " + a_.key() + " set healthy by the admin API"), std::string::npos) << gw.logs();
  Response health = admin_call(gw, "GET", "/upstreams/u/health");
  EXPECT_EQ(health.text().find("UNHEALTHY"), std::string::npos) << health.text();
  EXPECT_NE(health.text().find("\"target\":\"" + a_.key() + "\""), std::string::npos) << health.text();

  // Out by hand (POST works too; an address under the target names one endpoint): no traffic.
  r = admin_call(gw, "POST", "/upstreams/u/targets/" + b_.key() + "/" + b_.key() + "/unhealthy");
  EXPECT_EQ(r.status, 204) << r.describe();
  send(gw);
  const int b_before = b_.served.load();
  for (int i = 0; i < 20; ++i) EXPECT_NE(send(gw), "B") << "request " << i;
  EXPECT_EQ(b_.served.load(), b_before);
  health = admin_call(gw, "GET", "/upstreams/u/health");
  EXPECT_NE(health.text().find("UNHEALTHY"), std::string::npos) << health.text();

  // Bad calls: clear 404s and nothing changes.
  for (const char* path : {"/upstreams/nope/targets/1.2.3.4:80/healthy", "/upstreams/u/targets/10.9.9.9:1/healthy",
                           "/upstreams/u/targets/%zz/healthy", "/upstreams/u/bogus/x/healthy"}) {
    r = admin_call(gw, "PUT", path);
    EXPECT_EQ(r.status, 404) << path << "\n" << r.describe();
    EXPECT_NE(r.text().find("\"message\""), std::string::npos) << r.describe();
  }
  r = admin_call(gw, "PUT", "/upstreams/u/targets/" + a_.key() + "/127.0.0.1:1/healthy");
  EXPECT_EQ(r.status, 404) << r.describe();
  EXPECT_NE(r.text().find("is not an address of target"), std::string::npos) << r.describe();
  for (int i = 0; i < 10; ++i) EXPECT_NE(send(gw), "B");
}

TEST(AdminTargetHealth, AnUpstreamWithoutHealthChecksHasNoStateToSet) {
  Upstream target;
  Gateway gw(config_prelude() + render(R"(
upstreams:
  - name: u
    targets: [{target: "127.0.0.1:{{PORT}}"}]
services:
  - name: s
    host: u
    routes: [{name: r, paths: [/]}]
)",
                                       {{"PORT", std::to_string(target.port())}}));
  Response r = fetch(gw.admin_port(), http_request("PUT", "/upstreams/u/targets/127.0.0.1:" +
                                                               std::to_string(target.port()) + "/unhealthy"));
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_NE(r.text().find("has no health checks"), std::string::npos) << r.describe();
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/")).status, 200);
}

}  // namespace
}  // namespace portico::integration
