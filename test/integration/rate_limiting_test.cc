// The rate-limiting plugin through the real gateway (two workers): Kong's headers at each step,
// every limit_by, several periods, hide_client_headers, custom error, window expiry, sliding
// windows and token buckets, IPv6 clients, exactness under concurrent load on one key, and the
// redis policy against a real redis-server: two gateway processes sharing one Redis admit
// exactly the limit, a Redis outage with fault_tolerant true and false, recovery, and the seed's
// Kong configuration.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/redis_server.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kConsumers = R"(
consumers:
  - username: alice
    id: 11111111-1111-4111-8111-111111111111
    keyauth_credentials:
      - key: alice-key
        id: 22222222-2222-4222-8222-222222222222
      - key: alice-second-key
        id: 44444444-4444-4444-8444-444444444444
  - username: bob
    keyauth_credentials:
      - key: bob-key
)";

class RateLimitingTest : public ::testing::Test {
 protected:
  // `vars` fills the placeholders of `services` besides {{UP}} and {{REDIS}}.
  void start(std::string_view services, std::map<std::string, std::string> vars = {}) {
    vars.emplace("UP", std::to_string(up_.port()));
    vars.emplace("REDIS", std::to_string(redis_port_));
    yaml_ = config_prelude() + std::string(kConsumers) + render(services, vars);
    gw_ = std::make_unique<Gateway>(yaml_);
  }
  Response get(std::string_view target, Headers headers = {}, Gateway* gw = nullptr) {
    return fetch((gw ? gw : gw_.get())->port(), http_request("GET", target, headers));
  }
  static int64_t number(const Response& r, std::string_view name) {
    auto v = r.header(name);
    return v ? std::stoll(*v) : -1;
  }

  Upstream up_;
  std::unique_ptr<Gateway> gw_;
  std::string yaml_;
  uint16_t redis_port_ = 0;
};

TEST_F(RateLimitingTest, KongHeadersAtEachStepThen429WithRetryAfter) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: rate-limiting
            config: {hour: 3, limit_by: ip}
)");
  for (int i = 0; i < 3; ++i) {
    Response r = get("/x");
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(number(r, "X-RateLimit-Limit-Hour"), 3);
    EXPECT_EQ(number(r, "X-RateLimit-Remaining-Hour"), 2 - i);
    EXPECT_EQ(number(r, "RateLimit-Limit"), 3);
    EXPECT_EQ(number(r, "RateLimit-Remaining"), 2 - i);
    EXPECT_GE(number(r, "RateLimit-Reset"), 1);
    EXPECT_LE(number(r, "RateLimit-Reset"), 3600);
    EXPECT_FALSE(r.has_header("Retry-After"));
  }
  Response r = get("/x");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.text(), R"({"message":"API rate limit exceeded"})");
  EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json; charset=utf-8");
  EXPECT_EQ(number(r, "X-RateLimit-Remaining-Hour"), 0);
  EXPECT_EQ(number(r, "RateLimit-Remaining"), 0);
  EXPECT_GE(number(r, "Retry-After"), 1);
  EXPECT_LE(number(r, "Retry-After"), 3600);
  EXPECT_EQ(number(r, "Retry-After"), number(r, "RateLimit-Reset"));
  EXPECT_EQ(up_.requests().size(), 3u);  // the refused request never reached the upstream
  EXPECT_EQ(status_counter(*gw_, "rate_limited"), 1u);
}

TEST_F(RateLimitingTest, EveryPeriodCountsAndTheMostRestrictiveNamesRateLimitHeaders) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: rate-limiting
            config: {second: 5, hour: 5, day: 50, limit_by: ip}
)");
  Response r = get("/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(number(r, "X-RateLimit-Limit-Second"), 5);
  EXPECT_EQ(number(r, "X-RateLimit-Remaining-Second"), 4);
  EXPECT_EQ(number(r, "X-RateLimit-Limit-Hour"), 5);
  EXPECT_EQ(number(r, "X-RateLimit-Remaining-Hour"), 4);
  EXPECT_EQ(number(r, "X-RateLimit-Limit-Day"), 50);
  EXPECT_EQ(number(r, "X-RateLimit-Remaining-Day"), 49);
  EXPECT_FALSE(r.has_header("X-RateLimit-Limit-Minute"));
  // Second and hour tie on what is left: the longer period names RateLimit-* (Kong).
  EXPECT_EQ(number(r, "RateLimit-Limit"), 5);
  EXPECT_EQ(number(r, "RateLimit-Remaining"), 4);
  EXPECT_GT(number(r, "RateLimit-Reset"), 1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(get("/").status, 200);
  std::this_thread::sleep_for(1100ms);  // a new second: only the hour is exhausted now
  r = get("/");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(number(r, "X-RateLimit-Remaining-Hour"), 0);
  EXPECT_EQ(number(r, "X-RateLimit-Remaining-Second"), 5);  // a refusal is counted nowhere
  EXPECT_EQ(number(r, "X-RateLimit-Remaining-Day"), 45);
  EXPECT_GT(number(r, "Retry-After"), 1);  // the hour's window, not the second's
}

TEST_F(RateLimitingTest, LimitByConsumerCredentialHeaderPathServiceAndIp) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: by-consumer
        paths: ["/consumer"]
        plugins:
          - {name: key-auth, config: {anonymous: null}}
          - {name: rate-limiting, config: {hour: 1, limit_by: consumer}}
      - name: by-credential
        paths: ["/credential"]
        plugins:
          - {name: key-auth}
          - {name: rate-limiting, config: {hour: 1, limit_by: credential}}
      - name: by-header
        paths: ["/header"]
        plugins:
          - {name: rate-limiting, config: {hour: 1, limit_by: header, header_name: X-Tenant}}
      - name: by-path
        paths: ["/path"]
        plugins:
          - {name: rate-limiting, config: {hour: 1, limit_by: path, path: /path/a}}
      - name: by-service
        paths: ["/service"]
        plugins:
          - {name: rate-limiting, config: {hour: 2, limit_by: service}}
)");
  // consumer: alice's two keys share her limit; bob has his own.
  EXPECT_EQ(get("/consumer", {{"apikey", "alice-key"}}).status, 200);
  EXPECT_EQ(get("/consumer", {{"apikey", "alice-second-key"}}).status, 429);
  EXPECT_EQ(get("/consumer", {{"apikey", "bob-key"}}).status, 200);
  // credential: each key has its own limit.
  EXPECT_EQ(get("/credential", {{"apikey", "alice-key"}}).status, 200);
  EXPECT_EQ(get("/credential", {{"apikey", "alice-second-key"}}).status, 200);
  EXPECT_EQ(get("/credential", {{"apikey", "alice-key"}}).status, 429);
  // header: per value; without the header, the client IP is the identifier (Kong).
  EXPECT_EQ(get("/header", {{"X-Tenant", "a"}}).status, 200);
  EXPECT_EQ(get("/header", {{"X-Tenant", "a"}}).status, 429);
  EXPECT_EQ(get("/header", {{"X-Tenant", "b"}}).status, 200);
  // A header value that looks like another kind of identifier is still a header value: it does
  // not spend the quota of the client's address.
  EXPECT_EQ(get("/header", {{"X-Tenant", "ip:127.0.0.1"}}).status, 200);
  EXPECT_EQ(get("/header").status, 200);
  EXPECT_EQ(get("/header").status, 429);
  // path: the configured path is one counter; other paths fall back to the IP.
  EXPECT_EQ(get("/path/a").status, 200);
  EXPECT_EQ(get("/path/a").status, 429);
  EXPECT_EQ(get("/path/b").status, 200);
  EXPECT_EQ(get("/path/c").status, 429);
  // service: one counter for every client.
  EXPECT_EQ(get("/service").status, 200);
  EXPECT_EQ(get("/service", {{"X-Forwarded-For", "10.0.0.9"}}).status, 200);
  EXPECT_EQ(get("/service").status, 429);
  EXPECT_EQ(status_counter(*gw_, "rate_limited"), 7u);
}

TEST_F(RateLimitingTest, HiddenHeadersCustomErrorAndAWindowThatEnds) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: hidden
        paths: ["/hidden"]
        plugins:
          - name: rate-limiting
            config: {second: 2, limit_by: ip, hide_client_headers: true, error_code: 503, error_message: "slow down"}
)");
  // Start just after a second boundary, so the three requests share one window.
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::this_thread::sleep_for(1000ms - std::chrono::duration_cast<std::chrono::milliseconds>(now) % 1000ms + 20ms);
  Response a = get("/hidden");
  EXPECT_EQ(a.status, 200);
  EXPECT_FALSE(a.has_header("X-RateLimit-Limit-Second"));
  EXPECT_FALSE(a.has_header("RateLimit-Limit"));
  EXPECT_EQ(get("/hidden").status, 200);
  Response refused = get("/hidden");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.text(), R"({"message":"slow down"})");
  EXPECT_FALSE(refused.has_header("RateLimit-Remaining"));
  EXPECT_TRUE(refused.has_header("Retry-After"));
  std::this_thread::sleep_for(1000ms);  // the next second's window
  EXPECT_EQ(get("/hidden").status, 200);
}

TEST_F(RateLimitingTest, SlidingWindowCountsThePreviousWindowFixedDoesNot) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: fixed
        paths: ["/fixed"]
        plugins:
          - {name: rate-limiting, config: {second: 4, limit_by: ip}}
      - name: sliding
        paths: ["/sliding"]
        plugins:
          - {name: rate-limiting, config: {second: 4, limit_by: ip, algorithm: sliding-window}}
)");
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  // Fill both in the second half of a second, then count what the start of the next admits.
  std::this_thread::sleep_for(1000ms - std::chrono::duration_cast<std::chrono::milliseconds>(now) % 1000ms + 500ms);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(get("/fixed").status, 200);
    EXPECT_EQ(get("/sliding").status, 200);
  }
  EXPECT_EQ(get("/sliding").status, 429);
  const auto t = std::chrono::system_clock::now().time_since_epoch();
  std::this_thread::sleep_for(1000ms - std::chrono::duration_cast<std::chrono::milliseconds>(t) % 1000ms + 50ms);
  int fixed = 0, sliding = 0;
  for (int i = 0; i < 4; ++i) {
    fixed += get("/fixed").status == 200;
    sliding += get("/sliding").status == 200;
  }
  EXPECT_EQ(fixed, 4);
  EXPECT_LT(sliding, 4);  // most of the previous second still weighs on the estimate
}

TEST_F(RateLimitingTest, TokenBucketBurstThenRateAsAwsThrottling) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: orders
        paths: ["/orders"]
        plugins:
          - {name: rate-limiting, config: {algorithm: token-bucket, rate: 10, burst: 5, limit_by: ip}}
)");
  int admitted = 0;
  Response last;
  for (int i = 0; i < 8; ++i) {
    last = get("/orders");
    admitted += last.status == 200;
  }
  EXPECT_GE(admitted, 5);
  EXPECT_LE(admitted, 6);  // the burst, plus at most one token refilled while sending
  EXPECT_EQ(last.status, 429);
  EXPECT_EQ(number(last, "RateLimit-Limit"), 5);
  EXPECT_EQ(number(last, "RateLimit-Remaining"), 0);
  EXPECT_EQ(number(last, "Retry-After"), 1);
  std::this_thread::sleep_for(350ms);  // 10 per second: three tokens back
  admitted = 0;
  for (int i = 0; i < 6; ++i) admitted += get("/orders").status == 200;
  EXPECT_GE(admitted, 3);
  EXPECT_LE(admitted, 4);
}

TEST_F(RateLimitingTest, Ipv6ClientsAreCountedByTheirAddress) {
  yaml_ = config_prelude_dual_stack() + render(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - {name: rate-limiting, config: {hour: 2, limit_by: ip}}
)",
                           {{"UP", std::to_string(up_.port())}});
  gw_ = std::make_unique<Gateway>(yaml_);
  ASSERT_EQ(gw_->proxy_ports().size(), 2u);
  EXPECT_EQ(status_over_ipv6(gw_->port(1), "/"), 200);
  EXPECT_EQ(status_over_ipv6(gw_->port(1), "/"), 200);
  EXPECT_EQ(status_over_ipv6(gw_->port(1), "/"), 429);
  EXPECT_EQ(fetch(gw_->port(0), http_request("GET", "/")).status, 200);  // 127.0.0.1 has its own
}

// Hammers one key from many connections on both workers: exactly the limit passes.
int hammer(uint16_t port, int threads, int per_thread, std::string_view target) {
  std::atomic<int> admitted{0};
  std::atomic<int> other{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      Client c(port);
      for (int i = 0; i < per_thread; ++i) {
        Response r = c.request(http_request("GET", target));
        if (r.status == 200) {
          ++admitted;
        } else if (r.status != 429) {
          ++other;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(other.load(), 0);
  return admitted.load();
}

TEST_F(RateLimitingTest, LocalPolicyIsExactAcrossWorkersUnderConcurrentLoad) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - {name: rate-limiting, config: {hour: 150, limit_by: service}}
)");
  EXPECT_EQ(hammer(gw_->port(), 8, 40, "/hot"), 150);
  EXPECT_EQ(status_counter(*gw_, "rate_limited"), 8u * 40u - 150u);
}

TEST_F(RateLimitingTest, ConfigErrorsNameTheField) {
  const std::string bad = config_prelude() + render(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: rate-limiting
            config: {second: 10, minute: 5, limit_by: header}
      - name: r2
        paths: ["/2"]
        plugins:
          - name: rate-limiting
            config: {algorithm: token-bucket, rate: 10}
      - name: r3
        paths: ["/3"]
        plugins:
          - name: rate-limiting
            config: {limit_by: ip}
)",
                                                    {{"UP", std::to_string(up_.port())}});
  CheckResult r = Gateway::check(bad);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("The limit for minute(5.0) cannot be lower than the limit for second(10.0)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("'header_name' is required when 'limit_by' is 'header'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("algorithm 'token-bucket' needs 'burst'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("at least one of these fields must be non-empty: 'config.second'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("portico.yaml:16:42: services[0].routes[0].plugins[0].config.minute"), std::string::npos)
      << "file:line:column expected: " << r.err;
}

// ---------------------------------------------------------------------------- redis policy ---

constexpr std::string_view kRedisRoute = R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: rate-limiting
            config:
              hour: {{LIMIT}}
              limit_by: service
              policy: redis
              fault_tolerant: {{TOLERANT}}
              redis: {host: 127.0.0.1, port: {{REDIS}}, timeout: 300}
)";

class RedisRateLimitingTest : public RateLimitingTest {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
    redis_.start();
    redis_port_ = redis_.port();
  }
  // kRedisRoute with an hourly limit for the whole service.
  void start_redis_route(int limit, bool tolerant) {
    start(kRedisRoute, {{"LIMIT", std::to_string(limit)}, {"TOLERANT", tolerant ? "true" : "false"}});
  }
  RedisServer redis_;
};

TEST_F(RedisRateLimitingTest, HeadersAndCountsLiveInRedis) {
  start_redis_route(3, true);
  for (int i = 0; i < 3; ++i) {
    Response r = get("/");
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(number(r, "X-RateLimit-Remaining-Hour"), 2 - i);
  }
  Response r = get("/");
  EXPECT_EQ(r.status, 429);
  EXPECT_GE(number(r, "Retry-After"), 1);
  const std::string keys = redis_.cli({"--scan", "--pattern", "ratelimit:*"});
  EXPECT_NE(keys.find(":hour:"), std::string::npos) << keys;
  const std::string key = keys.substr(0, keys.find('\n'));
  EXPECT_EQ(redis_.cli({"GET", key}), "3");
  const int64_t ttl = std::stoll(redis_.cli({"TTL", key}));
  EXPECT_GT(ttl, 0);  // counters expire with their window
  EXPECT_LE(ttl, 3601);
}

TEST_F(RedisRateLimitingTest, TwoGatewaysSharingOneRedisAdmitExactlyTheLimit) {
  start_redis_route(1000, false);
  Gateway second(yaml_);
  std::atomic<int> admitted{0};
  std::thread a([&] { admitted += hammer(gw_->port(), 6, 125, "/"); });
  std::thread b([&] { admitted += hammer(second.port(), 6, 125, "/"); });
  a.join();
  b.join();
  // 1,500 requests from 12 clients on two processes (four workers) against a limit of 1,000.
  EXPECT_EQ(admitted.load(), 1000);
  EXPECT_EQ(status_counter(*gw_, "rate_limited") + status_counter(second, "rate_limited"), 500u);
}

TEST_F(RedisRateLimitingTest, OutageWithFaultTolerantAdmitsAndCountsThenRecovers) {
  start_redis_route(100, true);
  EXPECT_EQ(get("/").status, 200);
  redis_.stop();
  const auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) {
    Response r = get("/");
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_FALSE(r.has_header("RateLimit-Remaining"));  // no decision was made
  }
  EXPECT_LT(Clock::now() - t0, 2s);  // no request waits longer than the Redis timeout (300 ms)
  EXPECT_GE(status_counter(*gw_, "rate_limit_store_errors"), 5u);
  EXPECT_NE(gw_->logs().find("rate-limiting: redis 127.0.0.1:"), std::string::npos);
  redis_.start();
  EXPECT_TRUE(eventually([&] { return get("/").has_header("RateLimit-Remaining"); }, 5000ms));
}

TEST_F(RedisRateLimitingTest, OutageWithoutFaultTolerantAnswers500Quickly) {
  start_redis_route(100, false);
  EXPECT_EQ(get("/").status, 200);
  redis_.stop();
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    Response r = get("/");
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.text(), R"({"message":"An unexpected error occurred"})");
    EXPECT_LT(Clock::now() - t0, 1s);
  }
  EXPECT_EQ(up_.requests().size(), 1u);
  redis_.start();
  EXPECT_TRUE(eventually([&] { return get("/").status == 200; }, 5000ms));
}

TEST_F(RedisRateLimitingTest, SlidingWindowAndTokenBucketInRedis) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: sliding
        paths: ["/sliding"]
        plugins:
          - name: rate-limiting
            config: {hour: 3, algorithm: sliding-window, limit_by: ip, policy: redis, redis: {host: 127.0.0.1, port: {{REDIS}}}}
      - name: bucket
        paths: ["/bucket"]
        plugins:
          - name: rate-limiting
            config: {algorithm: token-bucket, rate: 1, burst: 3, limit_by: ip, policy: redis, redis: {host: 127.0.0.1, port: {{REDIS}}}}
)");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get("/sliding").status, 200);
  EXPECT_EQ(get("/sliding").status, 429);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get("/bucket").status, 200);
  Response r = get("/bucket");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(number(r, "Retry-After"), 1);
}

}  // namespace
}  // namespace portico::integration
