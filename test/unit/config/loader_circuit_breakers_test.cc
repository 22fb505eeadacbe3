// Portico's `circuit_breakers` (upstreams and plain services) and the route retry policy's
// `retry_budget`: defaults, ranges, load errors, and what the snapshot compiles them into.
#include <gtest/gtest.h>

#include "config/snapshot.h"
#include "test_util.h"

namespace portico::config::testing {
namespace {

CompileResult compile_text(std::string_view literal) {
  Config c = load_ok(literal);
  filter::Registry registry;
  return compile(std::make_shared<const Config>(std::move(c)), registry);
}

TEST(CircuitBreakers, EnvoyDefaultsForOmittedFields) {
  Config c = load_ok(R"(
_format_version: "3.0"
upstreams:
  - name: up
    circuit_breakers: {max_requests: 2}
    targets: [{target: "127.0.0.1:9000"}]
services:
  - {name: plain, host: 127.0.0.1, circuit_breakers: {max_connections: 7, max_retries: 0}}
)");
  ASSERT_TRUE(c.upstreams[0].circuit_breakers);
  const CircuitBreakers& u = *c.upstreams[0].circuit_breakers;
  EXPECT_EQ(u.max_requests, 2u);
  EXPECT_EQ(u.max_connections, 1024u);
  EXPECT_EQ(u.max_pending_requests, 1024u);
  EXPECT_EQ(u.max_retries, 3u);
  ASSERT_TRUE(c.services[0].circuit_breakers);
  EXPECT_EQ(c.services[0].circuit_breakers->max_connections, 7u);
  EXPECT_EQ(c.services[0].circuit_breakers->max_retries, 0u);
}

TEST(CircuitBreakers, LoadErrors) {
  std::string e = load_errors(R"(
_format_version: "3.0"
upstreams:
  - name: up
    circuit_breakers: {max_requests: -1, max_conections: 3}
)");
  EXPECT_NE(e.find("upstreams[0].circuit_breakers.max_requests"), std::string::npos) << e;
  EXPECT_NE(e.find("upstreams[0].circuit_breakers.max_conections"), std::string::npos) << e;
  std::string not_map = load_errors(R"(
_format_version: "3.0"
services:
  - {name: s, host: h, circuit_breakers: 5}
)");
  EXPECT_NE(not_map.find("services[0].circuit_breakers"), std::string::npos) << not_map;
}

TEST(CircuitBreakers, ServiceOverAnUpstreamTakesTheUpstreams) {
  Config c = load_ok(R"(
_format_version: "3.0"
upstreams:
  - name: up
    targets: [{target: "127.0.0.1:9000"}]
services:
  - {name: s, host: up, circuit_breakers: {max_requests: 1}}
)");
  filter::Registry registry;
  CompileResult r = compile(std::make_shared<const Config>(std::move(c)), registry);
  EXPECT_FALSE(r.snapshot);
  EXPECT_NE(r.errors.to_string().find("set circuit_breakers on the upstream instead"), std::string::npos)
      << r.errors.to_string();
}

TEST(CircuitBreakers, CompiledBreakersAreSharedPerUpstreamAndAbsentOtherwise) {
  CompileResult r = compile_text(R"(
_format_version: "3.0"
upstreams:
  - name: up
    circuit_breakers: {max_requests: 2, max_pending_requests: 5}
    targets: [{target: "127.0.0.1:9000"}]
services:
  - {name: a, host: up}
  - {name: b, host: up}
  - {name: plain, host: 127.0.0.1}
  - {name: own, host: 127.0.0.1, circuit_breakers: {}}
)");
  ASSERT_TRUE(r.snapshot) << r.errors.to_string();
  const auto& clusters = r.snapshot->clusters;
  ASSERT_NE(clusters[0]->breaker, nullptr);
  EXPECT_EQ(clusters[0]->breaker, clusters[1]->breaker);
  EXPECT_TRUE(clusters[0]->breaker->enforced());
  EXPECT_EQ(clusters[0]->breaker->limits().max_requests, 2u);
  EXPECT_EQ(clusters[0]->breaker->limits().max_pending_requests, 5u);
  EXPECT_EQ(clusters[2]->breaker, nullptr);  // plain configs pay nothing
  ASSERT_NE(clusters[3]->breaker, nullptr);
  EXPECT_EQ(clusters[3]->breaker->limits().max_retries, 3u);
}

TEST(RetryBudget, DefaultsAndCompiledPolicy) {
  CompileResult r = compile_text(R"(
_format_version: "3.0"
services:
  - name: s
    host: 127.0.0.1
    routes:
      - name: r
        paths: [/]
        retry_policy:
          retry_on: 5xx
          retry_budget: {}
      - name: r2
        paths: [/b]
        retry_policy:
          retry_on: 5xx
          retry_budget: {budget_percent: 50.5, min_retry_concurrency: 0}
)");
  ASSERT_TRUE(r.snapshot) << r.errors.to_string();
  const auto& routes = r.snapshot->routes->routes();
  ASSERT_TRUE(routes[0]->retry && routes[0]->retry->budget);
  EXPECT_DOUBLE_EQ(routes[0]->retry->budget->budget_percent, 20.0);
  EXPECT_EQ(routes[0]->retry->budget->min_retry_concurrency, 3u);
  ASSERT_TRUE(routes[1]->retry && routes[1]->retry->budget);
  EXPECT_DOUBLE_EQ(routes[1]->retry->budget->budget_percent, 50.5);
  EXPECT_EQ(routes[1]->retry->budget->min_retry_concurrency, 0u);
  // The budget needs the upstream's counts: the service gets an unenforced breaker.
  ASSERT_NE(r.snapshot->clusters[0]->breaker, nullptr);
  EXPECT_FALSE(r.snapshot->clusters[0]->breaker->enforced());
}

TEST(RetryBudget, NoBudgetByDefault) {
  Route r = load_route("        paths: [/]\n        retry_policy: {retry_on: 5xx}\n");
  ASSERT_TRUE(r.retry_policy);
  EXPECT_FALSE(r.retry_policy->retry_budget);
}

TEST(RetryBudget, LoadErrors) {
  std::string e = route_errors(
      "        paths: [/]\n        retry_policy:\n          retry_on: 5xx\n"
      "          retry_budget: {budget_percent: 120, min_retry_concurrency: -2, extra: 1}\n");
  EXPECT_NE(e.find("retry_policy.retry_budget.budget_percent"), std::string::npos) << e;
  EXPECT_NE(e.find("retry_policy.retry_budget.min_retry_concurrency"), std::string::npos) << e;
  EXPECT_NE(e.find("retry_policy.retry_budget.extra"), std::string::npos) << e;
}

}  // namespace
}  // namespace portico::config::testing
