// Circuit breakers (Portico's Envoy-style `circuit_breakers` on upstreams and plain services) and
// route retry budgets through the real gateway: max_requests, max_connections and
// max_pending_requests answer 503 with X-Portico-Overloaded without touching the upstream;
// max_retries and retry_budget bound the retries in flight; the counters in /status; the access
// log's `attempts`; a config without breakers is unaffected; a config reload keeps what is in
// flight counted against the new limits.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using Clock = std::chrono::steady_clock;

// The prelude with one worker, for tests that depend on one worker's connection pool.
std::string one_worker_prelude() {
  return "_format_version: \"3.0\"\n"
         "portico:\n"
         "  listen: [\"127.0.0.1:0\"]\n"
         "  admin_listen: \"127.0.0.1:0\"\n"
         "  workers: 1\n"
         "  access_log: stdout\n";
}

// An upstream `up` over `target` with the given circuit_breakers map, one service on it
// (Kong `retries: 0`) and one route on /r whose extra fields are `route_fields` (eight-space
// indentation).
std::string upstream_config(const std::string& prelude, const Upstream& target, std::string_view breakers,
                            std::string_view route_fields = {}) {
  return prelude + render(R"(
upstreams:
  - name: up
    circuit_breakers: {{CB}}
    targets: [{target: "127.0.0.1:{{PORT}}"}]
services:
  - name: s
    host: up
    retries: 0
    routes:
      - name: r
        paths: ["/r"]
)",
                          {{"PORT", std::to_string(target.port())}, {"CB", std::string(breakers)}}) +
         std::string(route_fields);
}

UpstreamResponse slow(int code, int delay_ms, std::string body = "slow") {
  UpstreamResponse r;
  r.status = code;
  r.body = std::move(body);
  r.delay = Millis(delay_ms);
  return r;
}

// `n` GET /r started at once on their own connections (threads); join() waits for the answers.
struct InFlight {
  InFlight(std::uint16_t port, size_t n) : responses(n) {
    for (size_t i = 0; i < n; ++i) {
      threads.emplace_back([this, i, port] {
        ReadOptions options;
        options.timeout = Millis(10000);
        responses[i] = fetch(port, http_request("GET", "/r"), options);
      });
    }
  }
  ~InFlight() { join(); }
  void join() {
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
  std::vector<Response> responses;
  std::vector<std::thread> threads;
};

// Sends `n` GET /r at once, each on its own connection; the responses in thread order.
std::vector<Response> concurrent_gets(std::uint16_t port, size_t n) {
  InFlight all(port, n);
  all.join();
  return std::move(all.responses);
}

void expect_overloaded(const Response& r, const std::string& limit) {
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(r.header("X-Portico-Overloaded").value_or(""), limit) << r.describe();
  auto doc = parse_json(r.text());
  ASSERT_TRUE(doc && doc->is_object()) << r.describe();
  EXPECT_EQ(doc->as_object().at("message").as_string(), "upstream overloaded: " + limit);
}

// Waits until the access log holds `needle` (lines are flushed every 200 ms).
bool wait_for_log(const Gateway& gw, const std::string& needle) {
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    if (gw.access_log().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(CircuitBreakerTest, MaxRequestsAnswers503WithoutTouchingTheUpstream) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) { return slow(200, 1200); });
  Gateway gw(upstream_config(config_prelude(), up, "{max_requests: 2}"));
  // Two slow requests hold both slots (on either worker: the limit is per process) ...
  InFlight held(gw.port(), 2);
  ASSERT_TRUE(up.wait_for_requests(2, Millis(5000)));
  // ... so three more are refused at once.
  for (int i = 0; i < 3; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/r"));
    expect_overloaded(r, "max_requests");
  }
  held.join();
  for (const auto& r : held.responses) EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(up.request_count(), 2u);
  EXPECT_EQ(status_counter(gw, "circuit_breaker_trips.max_requests"), 3u);
  EXPECT_EQ(status_counter(gw, "circuit_breaker_trips.max_connections"), 0u);
  // The slots were given back.
  up.set_handler([](const RecordedRequest&) { return slow(200, 0, "fast"); });
  Response after = fetch(gw.port(), http_request("GET", "/r"));
  EXPECT_EQ(after.status, 200) << after.describe();
  EXPECT_TRUE(wait_for_log(gw, "\"status\":503")) << gw.access_log();
  EXPECT_NE(gw.access_log().find("\"attempts\":0"), std::string::npos) << gw.access_log();
}

TEST(CircuitBreakerTest, AReloadKeepsInFlightRequestsCountedAgainstTheNewLimits) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) { return slow(200, 1500); });
  Gateway gw(upstream_config(config_prelude(), up, "{max_requests: 2}"));
  InFlight held(gw.port(), 2);
  ASSERT_TRUE(up.wait_for_requests(2, Millis(5000)));
  // A new config (same breaker, another route added) goes live while both are in flight ...
  std::string next = upstream_config(config_prelude(), up, "{max_requests: 2}") +
                     "      - name: other\n        paths: [\"/other\"]\n";
  Response posted = fetch(gw.admin_port(), http_request("POST", "/config", {{"Content-Type", "application/yaml"}}, next),
                          {.timeout = Millis(10000)});
  ASSERT_EQ(posted.status, 201) << posted.describe();
  // ... and the new snapshot's breaker still sees them: the next request is refused.
  expect_overloaded(fetch(gw.port(), http_request("GET", "/other")), "max_requests");
  // A limit raised by the reload applies to the same counts: one more fits, then no more.
  std::string raised = upstream_config(config_prelude(), up, "{max_requests: 3}");
  posted = fetch(gw.admin_port(), http_request("POST", "/config", {{"Content-Type", "application/yaml"}}, raised),
                 {.timeout = Millis(10000)});
  ASSERT_EQ(posted.status, 201) << posted.describe();
  InFlight third(gw.port(), 1);
  ASSERT_TRUE(up.wait_for_requests(3, Millis(5000)));
  expect_overloaded(fetch(gw.port(), http_request("GET", "/r")), "max_requests");
  held.join();
  third.join();
  for (const auto& r : held.responses) EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(third.responses[0].status, 200) << third.responses[0].describe();
  // Every slot came back to the shared counts: two at once fit again.
  auto after = concurrent_gets(gw.port(), 2);
  for (const auto& r : after) EXPECT_EQ(r.status, 200) << r.describe();
}

TEST(CircuitBreakerTest, MaxConnectionsCountsPooledConnections) {
  Upstream up;
  up.set_handler([](const RecordedRequest& req) {
    return slow(200, req.target.find("slow") != std::string::npos ? 1000 : 0, "ok");
  });
  Gateway gw(upstream_config(one_worker_prelude(), up, "{max_connections: 1}"));
  std::thread slow_one([&] {
    Response r = fetch(gw.port(), http_request("GET", "/r/slow"));
    EXPECT_EQ(r.status, 200) << r.describe();
  });
  ASSERT_TRUE(up.wait_for_requests(1, Millis(5000)));
  // The only connection is busy: a second one may not be opened.
  expect_overloaded(fetch(gw.port(), http_request("GET", "/r")), "max_connections");
  slow_one.join();
  // Idle in the pool it still counts, and is reused.
  for (int i = 0; i < 3; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/r"));
    EXPECT_EQ(r.status, 200) << r.describe();
  }
  EXPECT_EQ(up.connections_accepted(), 1u);
  EXPECT_EQ(status_counter(gw, "circuit_breaker_trips.max_connections"), 1u);
}

TEST(CircuitBreakerTest, MaxPendingRequestsZeroRefusesNewConnections) {
  Upstream up;
  Gateway gw(one_worker_prelude() + render(R"(
services:
  - name: s
    url: http://127.0.0.1:{{PORT}}
    circuit_breakers: {max_pending_requests: 0}
    routes: [{name: r, paths: ["/r"]}]
)",
                                           {{"PORT", std::to_string(up.port())}}));
  expect_overloaded(fetch(gw.port(), http_request("GET", "/r")), "max_pending_requests");
  EXPECT_EQ(up.connections_accepted(), 0u);
  EXPECT_EQ(status_counter(gw, "circuit_breaker_trips.max_pending_requests"), 1u);
}

TEST(CircuitBreakerTest, MaxRetriesZeroReturnsTheLastResponse) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) { return slow(503, 0, "upstream busy"); });
  Gateway gw(upstream_config(config_prelude(), up, "{max_retries: 0}", R"(        retry_policy:
          retry_on: 5xx
          num_retries: 3
          retry_back_off: {base_interval: 1ms}
)"));
  for (int i = 0; i < 4; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/r"));
    EXPECT_EQ(r.status, 503) << r.describe();
    EXPECT_EQ(r.text(), "upstream busy");  // the upstream's own answer, not an overload reply
    EXPECT_FALSE(r.has_header("X-Portico-Overloaded"));
  }
  EXPECT_EQ(up.request_count(), 4u);
  EXPECT_EQ(status_counter(gw, "circuit_breaker_trips.max_retries"), 4u);
}

TEST(CircuitBreakerTest, MaxRetriesBoundsRetriesInFlight) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) { return slow(503, 500, "busy"); });
  Gateway gw(upstream_config(config_prelude(), up, "{max_retries: 1}", R"(        retry_policy:
          retry_on: 5xx
          num_retries: 1
          retry_back_off: {base_interval: 1ms}
)"));
  // Both first attempts fail together; one retry slot: one of them retries, the other returns.
  std::vector<Response> rs = concurrent_gets(gw.port(), 2);
  for (const auto& r : rs) EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(up.request_count(), 3u);
  EXPECT_EQ(status_counter(gw, "circuit_breaker_trips.max_retries"), 1u);
}

TEST(CircuitBreakerTest, RetryBudgetBoundsRetriesAndReplacesMaxRetries) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) { return slow(503, 500, "busy"); });
  // max_retries 0 would refuse every retry; the route's budget (at least 2 in flight) replaces it.
  Gateway gw(upstream_config(config_prelude(), up, "{max_retries: 0}", R"(        retry_policy:
          retry_on: 5xx
          num_retries: 1
          retry_back_off: {base_interval: 1ms}
          retry_budget: {budget_percent: 0, min_retry_concurrency: 2}
)"));
  constexpr size_t kRequests = 10;
  std::vector<Response> rs = concurrent_gets(gw.port(), kRequests);
  for (const auto& r : rs) EXPECT_EQ(r.status, 503) << r.describe();
  // Each retry stays in flight for its whole 500 ms attempt, so at most 2 of the 10 retries
  // that are wanted at about the same time are made.
  const size_t attempts = up.request_count();
  EXPECT_GE(attempts, kRequests + 1);
  EXPECT_LE(attempts, kRequests + 2);
  EXPECT_EQ(status_counter(gw, "circuit_breaker_trips.max_retries"), 2 * kRequests - attempts);
}

TEST(CircuitBreakerTest, RetryBudgetOnAPlainServiceWithoutBreakers) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) { return slow(503, 500, "busy"); });
  Gateway gw(config_prelude() + render(R"(
services:
  - name: s
    url: http://127.0.0.1:{{PORT}}
    retries: 0
    routes:
      - name: r
        paths: ["/r"]
        retry_policy:
          retry_on: 5xx
          num_retries: 1
          retry_back_off: {base_interval: 1ms}
          retry_budget: {budget_percent: 10, min_retry_concurrency: 1}
)",
                                       {{"PORT", std::to_string(up.port())}}));
  std::vector<Response> rs = concurrent_gets(gw.port(), 4);  // 10% of 4 rounds down to 0: 1 retry
  for (const auto& r : rs) EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(up.request_count(), 5u);
  EXPECT_EQ(status_counter(gw, "circuit_breaker_trips.max_retries"), 3u);
}

TEST(CircuitBreakerTest, PlainConfigIsUnaffectedAndLogsAttempts) {
  Upstream up;
  auto calls = std::make_shared<std::atomic<int>>(0);
  up.set_handler([calls](const RecordedRequest& req) {
    if (req.target.find("retry") != std::string::npos && (*calls)++ == 0) return slow(503, 0, "once");
    return slow(200, 20, "ok");
  });
  Gateway gw(config_prelude() + render(R"(
services:
  - name: s
    url: http://127.0.0.1:{{PORT}}
    routes:
      - name: r
        paths: ["/r"]
        retry_policy: {retry_on: 5xx, num_retries: 5, retry_back_off: {base_interval: 1ms}}
)",
                                       {{"PORT", std::to_string(up.port())}}));
  std::vector<Response> rs = concurrent_gets(gw.port(), 40);
  for (const auto& r : rs) EXPECT_EQ(r.status, 200) << r.describe();
  for (const char* limit : {"max_connections", "max_pending_requests", "max_requests", "max_retries"}) {
    EXPECT_EQ(status_counter(gw, std::string("circuit_breaker_trips.") + limit), 0u) << limit;
  }
  Response retried = fetch(gw.port(), http_request("GET", "/r/retry"));
  EXPECT_EQ(retried.status, 200) << retried.describe();
  EXPECT_TRUE(wait_for_log(gw, "\"path\":\"/r/retry\"")) << gw.access_log();
  const std::string log = gw.access_log();
  const size_t line = log.find("\"path\":\"/r/retry\"");
  EXPECT_NE(log.find("\"attempts\":2", line), std::string::npos) << log.substr(line);
  EXPECT_NE(log.find("\"attempts\":1"), std::string::npos);
}

}  // namespace
}  // namespace portico::integration
