// Faults under steady load, through real sockets, each bounded in time: a target killed while
// traffic flows, a black-holed target (accepts, never answers), every target down, and SIGTERM
// while clients keep sending. The gateway runs the resilience features the way a user would
// combine them: a retry policy with a budget, passive health checks with ejection.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Upstream `u` over `targets` with passive ejection, and a route retrying resets, connect
// failures, 5xx and slow attempts (per-try 300 ms) on another target, within a retry budget.
std::string resilient_config(const std::vector<std::string>& targets) {
  std::string list;
  for (const auto& t : targets) list += "      - target: \"" + t + "\"\n";
  return config_prelude() + render(R"(
upstreams:
  - name: u
    healthchecks:
      passive:
        unhealthy: {http_failures: 2, tcp_failures: 2, timeouts: 1}
        ejection_base: 30
    targets:
{{TARGETS}}services:
  - name: s
    host: u
    retries: 0
    connect_timeout: 500
    routes:
      - name: r
        paths: [/]
        timeout: 3s
        retry_policy:
          retry_on: 5xx,reset,connect-failure
          num_retries: 2
          per_try_timeout: 300ms
          retry_back_off: {base_interval: 1ms, max_interval: 5ms}
          retry_budget: {budget_percent: 50, min_retry_concurrency: 3}
)",
                                   {{"TARGETS", list}});
}

// Clients sending GETs over keep-alive connections until stopped; every answer must be a 200.
struct Load {
  Load(std::uint16_t port, int clients) {
    for (int i = 0; i < clients; ++i) {
      threads.emplace_back([this, port] {
        std::optional<Client> c;
        while (!stop) {
          if (!c) c.emplace(port);
          Response r = c->request(http_request("GET", "/x"));
          if (r.ok() && r.status == 200) {
            ++ok;
          } else {
            ++failed;
            std::lock_guard<std::mutex> lock(mu);
            if (first_failure.empty()) first_failure = r.ok() ? r.describe() : r.error;
          }
          if (!r.ok() || r.header("connection").value_or("") == "close") c.reset();
        }
      });
    }
  }
  ~Load() { finish(); }
  void finish() {
    stop = true;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex mu;
  std::string first_failure;
  std::vector<std::thread> threads;
};

TEST(FaultTest, KilledTargetUnderSteadyLoadCostsNoClientRequest) {
  auto a = std::make_unique<Upstream>();
  Upstream b, c;
  a->set_handler(answer_with("a"));
  b.set_handler(answer_with("b"));
  c.set_handler(answer_with("c"));
  const std::string a_key = "127.0.0.1:" + std::to_string(a->port());
  Gateway gw(resilient_config({a_key, "127.0.0.1:" + std::to_string(b.port()),
                               "127.0.0.1:" + std::to_string(c.port())}));
  Load load(gw.port(), 4);
  ASSERT_TRUE(eventually([&] { return a->request_count() > 20; }, Millis{5000}));
  a->stop();  // in-flight requests on it are reset; new connections are refused
  const int ok_at_kill = load.ok;
  ASSERT_TRUE(eventually([&] { return gw.logs().find("target " + a_key + " is unhealthy") != std::string::npos; },
                         Millis{5000}))
      << gw.logs();
  // A response already streaming from the target when it dies cannot be retried (its first bytes
  // reached the client); every other request is retried elsewhere. Once the target is ejected,
  // nothing fails at all.
  const int failed_at_ejection = load.failed;
  EXPECT_LE(failed_at_ejection, 4) << load.first_failure;
  std::this_thread::sleep_for(500ms);
  load.finish();
  EXPECT_EQ(load.failed.load(), failed_at_ejection) << load.first_failure;
  EXPECT_GT(load.ok.load(), ok_at_kill + 50) << "load kept flowing on the other targets";
  EXPECT_GT(b.request_count() + c.request_count(), 50u);
}

TEST(FaultTest, BlackHoledTargetCostsOnePerTryTimeoutThenIsEjected) {
  Upstream hole, good;
  hole.set_handler(answer_with("hole", Millis{10000}));  // accepts, reads, never answers in time
  good.set_handler(answer_with("good"));
  Gateway gw(resilient_config({"127.0.0.1:" + std::to_string(hole.port()), "127.0.0.1:" + std::to_string(good.port())}),
             GatewayOptions{.extra_args = {"--workers", "1"}});
  Load load(gw.port(), 3);
  std::this_thread::sleep_for(2000ms);
  load.finish();
  EXPECT_EQ(load.failed.load(), 0) << load.first_failure;
  EXPECT_GT(load.ok.load(), 100);
  // One per-try timeout ejects it (timeouts: 1): it saw only the attempts in flight then.
  EXPECT_LE(hole.request_count(), 4u);
  EXPECT_NE(gw.logs().find("is unhealthy"), std::string::npos) << gw.logs();
}

TEST(FaultTest, AllTargetsDownGivesFast503sWithoutPileUp) {
  const std::uint16_t p1 = closed_port(), p2 = closed_port();
  Gateway gw(resilient_config({"127.0.0.1:" + std::to_string(p1), "127.0.0.1:" + std::to_string(p2)}));
  std::vector<long long> ms;
  for (int i = 0; i < 40; ++i) {
    auto t0 = Clock::now();
    Response r = fetch(gw.port(), http_request("GET", "/x"));
    ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_TRUE(r.status == 502 || r.status == 503) << r.describe();
  }
  // Once both are ejected the answer needs no connect at all.
  long long slowest_late = 0;
  for (size_t i = 20; i < ms.size(); ++i) slowest_late = std::max(slowest_late, ms[i]);
  EXPECT_LT(slowest_late, 250) << "503s should be immediate once every target is out";
  // No request is left hanging inside the gateway.
  Response status = fetch(gw.admin_port(), http_request("GET", "/status"));
  EXPECT_NE(status.text().find("\"connections_writing\":0"), std::string::npos) << status.text();
}

TEST(FaultTest, SigtermUnderLoadFailsNoAcceptedRequest) {
  Upstream up;
  up.set_handler(answer_with("ok", Millis{20}));
  Gateway gw(config_prelude("  timeouts: {drain: 5000}\n") + render(R"(
services:
  - name: s
    url: http://127.0.0.1:{{P}}
    routes:
      - {name: r, paths: ["/"]}
)",
                                                                      {{"P", std::to_string(up.port())}}));
  // Clients that stop at the first refused connection: after SIGTERM the listener closes, and a
  // refused connect was never accepted. Every request the gateway did accept must be answered.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      while (!stop) {
        int err = 0;
        auto c = Client::try_connect(gw.port(), Millis{1000}, &err);
        if (!c) return;  // refused: the gateway no longer accepts
        for (int n = 0; n < 20 && !stop; ++n) {
          Response r = c->request(http_request("GET", "/x"));
          if (!r.ok()) {
            // A connection closed before this request was read (idle keep-alive closed by the
            // drain, or the request raced it) was not accepted as a request; anything that got
            // a partial answer was.
            if (!r.raw_head.empty()) ++failed;
            break;
          }
          if (r.status == 200) {
            ++ok;
          } else {
            ++failed;
          }
          if (r.header("connection").value_or("") == "close") break;
        }
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return ok.load() > 100; }, Millis{5000}));
  ASSERT_EQ(::kill(gw.pid(), SIGTERM), 0);
  auto exit = gw.stop(Millis{10000});
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
}

}  // namespace
}  // namespace portico::integration
