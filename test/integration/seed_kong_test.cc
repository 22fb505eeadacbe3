// The Kong declarative configuration Portico was specified from (services + route +
// rate-limiting with policy redis + jwt with key_claim_name kid + prometheus) loads as written,
// apart from the upstream URL, and enforces 600 requests a minute per consumer in Redis.
// `{ minute: 600, policy: redis }` names no Redis host: Portico's default, 127.0.0.1:6379, is used,
// so the test runs a real redis-server on that port (and skips when something else holds it).

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "auth/jwt_test_support.h"
#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/redis_server.h"
#include "harness/temp_dir.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;
namespace at = auth::test;

TEST(SeedKongConfig, LoadsAsWrittenAndEnforces600AMinutePerConsumerInRedis) {
  if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
  if (RedisServer::port_in_use(6379)) GTEST_SKIP() << "127.0.0.1:6379 is taken by another Redis";
  RedisServer redis;
  redis.use_port(6379);
  redis.start();
  Upstream up;

  std::string yaml = read_file(portico_source_dir() + "/test/unit/config/data/seed_kong.yaml");
  const std::string url = "http://orders.svc.cluster.local:8080";
  const size_t at_url = yaml.find(url);
  ASSERT_NE(at_url, std::string::npos);
  yaml.replace(at_url, url.size(), "http://127.0.0.1:" + std::to_string(up.port()));
  // The seed's services block stays as written; the consumers who hold the tokens are added.
  yaml += R"(
consumers:
  - username: mobile-app
    jwt_secrets:
      - key: key-2026-11
        algorithm: HS256
        secret: a-long-shared-secret-for-the-mobile-app
  - username: partner
    jwt_secrets:
      - key: partner-key
        algorithm: HS256
        secret: another-shared-secret-for-the-partner
)";
  GatewayOptions options;
  options.extra_args = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "2"};
  Gateway gw(yaml, options);

  auto token = [](std::string_view kid, std::string_view secret) {
    const long exp = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count() + 3600;
    return at::make_token(at::header_for(auth::JwsAlg::kHS256, kid), R"({"sub":"u1","exp":)" + std::to_string(exp) + "}",
                          auth::JwsAlg::kHS256, nullptr, secret);
  };
  const std::string app = "Bearer " + token("key-2026-11", "a-long-shared-secret-for-the-mobile-app");
  const std::string partner = "Bearer " + token("partner-key", "another-shared-secret-for-the-partner");

  // Without a token the jwt plugin refuses before anything is counted.
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/api/orders")).status, 401);

  // 601 requests inside one minute window: leave the last seconds of a minute alone.
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto into_minute = std::chrono::duration_cast<std::chrono::milliseconds>(now) % 60000ms;
  if (into_minute > 45000ms) std::this_thread::sleep_for(60000ms - into_minute + 100ms);
  int admitted = 0, limited = 0;
  Client c(gw.port());
  Response last;
  for (int i = 0; i < 601; ++i) {
    last = c.request(http_request("GET", "/api/orders/" + std::to_string(i), {{"Authorization", app}}));
    if (last.status == 200) ++admitted;
    if (last.status == 429) ++limited;
  }
  EXPECT_EQ(admitted, 600);
  EXPECT_EQ(limited, 1);
  EXPECT_EQ(last.header("X-RateLimit-Limit-Minute").value_or(""), "600");
  EXPECT_EQ(last.header("X-RateLimit-Remaining-Minute").value_or(""), "0");
  // limit_by defaults to consumer: the partner has a minute of its own.
  Response other = fetch(gw.port(), http_request("GET", "/api/orders", {{"Authorization", partner}}));
  EXPECT_EQ(other.status, 200) << other.describe();
  EXPECT_EQ(other.header("X-RateLimit-Remaining-Minute").value_or(""), "599");
  // The counters are in Redis, and prometheus saw the traffic.
  EXPECT_NE(redis.cli({"--scan", "--pattern", "ratelimit:*"}).find(":minute:"), std::string::npos);
  Response metrics = fetch(gw.admin_port(), http_request("GET", "/metrics"));
  EXPECT_NE(metrics.text().find("portico_rate_limited_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.text().find("portico_requests_total "), std::string::npos);
}

}  // namespace
}  // namespace portico::integration
