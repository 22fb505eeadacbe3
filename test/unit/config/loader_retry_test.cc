// Portico's route `timeout` and `retry_policy` (Envoy semantics): the duration syntax, the fields'
// defaults, their compilation into router::Route, and load errors with file:line:column.
#include <gtest/gtest.h>

#include "config/duration.h"
#include "config/snapshot.h"
#include "test_util.h"

namespace portico::config::testing {
namespace {

uint64_t duration_ms(std::string_view text) {
  uint64_t ms = 0;
  std::string e = parse_duration(text, ms);
  EXPECT_EQ(e, "") << text;
  return ms;
}

std::string duration_error(std::string_view text) {
  uint64_t ms = 77;
  std::string e = parse_duration(text, ms);
  EXPECT_EQ(ms, 77u) << "a failed parse must not write the result";
  return e;
}

TEST(Duration, UnitsAndPlainMilliseconds) {
  EXPECT_EQ(duration_ms("5s"), 5000u);
  EXPECT_EQ(duration_ms("250ms"), 250u);
  EXPECT_EQ(duration_ms("1m"), 60000u);
  EXPECT_EQ(duration_ms("1h"), 3600000u);
  EXPECT_EQ(duration_ms("1.5s"), 1500u);
  EXPECT_EQ(duration_ms("0.25s"), 250u);
  EXPECT_EQ(duration_ms("0.5m"), 30000u);
  EXPECT_EQ(duration_ms("1500"), 1500u);
  EXPECT_EQ(duration_ms("0"), 0u);
  EXPECT_EQ(duration_ms("0s"), 0u);
  EXPECT_EQ(duration_ms("2147483646ms"), kMaxDurationMs);
}

TEST(Duration, Errors) {
  EXPECT_EQ(duration_error("5"  "x"),
            "invalid duration \"5x\": expected a duration such as \"250ms\", \"5s\", \"1.5s\" or "
            "\"1m\" (units ms, s, m, h), or an integer number of milliseconds");
  EXPECT_NE(duration_error("").find("invalid duration \"\""), std::string::npos);
  EXPECT_NE(duration_error("s").find("invalid duration"), std::string::npos);
  EXPECT_NE(duration_error(".5s").find("invalid duration"), std::string::npos);
  EXPECT_NE(duration_error("1.s").find("invalid duration"), std::string::npos);
  EXPECT_NE(duration_error("-1s").find("invalid duration"), std::string::npos);
  EXPECT_NE(duration_error("5 s").find("invalid duration"), std::string::npos);
  EXPECT_NE(duration_error("1.5").find("must be a whole number"), std::string::npos);
  EXPECT_EQ(duration_error("1.5ms"), "invalid duration \"1.5ms\": not a whole number of milliseconds");
  EXPECT_EQ(duration_error("0.0001s"), "invalid duration \"0.0001s\": not a whole number of milliseconds");
  EXPECT_EQ(duration_error("2147483647"), "duration \"2147483647\" is too long (at most 2147483646 ms)");
  EXPECT_EQ(duration_error("9999999999999s"), "duration \"9999999999999s\" is too long");
}

TEST(RetryPolicy, NoneByDefault) {
  Route r = load_route("        paths: [/]\n");
  EXPECT_EQ(r.timeout, 0u);
  EXPECT_FALSE(r.retry_policy.has_value());
}

TEST(RetryPolicy, EnvoySnippetAndDefaults) {
  Route r = load_route(R"(        paths: [/]
        timeout: 5s
        retry_policy:
          retry_on: 5xx,reset, connect-failure
          num_retries: 2
          per_try_timeout: 1s
)");
  EXPECT_EQ(r.timeout, 5000u);
  ASSERT_TRUE(r.retry_policy.has_value());
  EXPECT_EQ(r.retry_policy->retry_on, (std::vector<std::string>{"5xx", "reset", "connect-failure"}));
  EXPECT_EQ(r.retry_policy->num_retries, 2u);
  EXPECT_EQ(r.retry_policy->per_try_timeout, 1000u);
  EXPECT_EQ(r.retry_policy->base_interval, 25u);
  EXPECT_EQ(r.retry_policy->max_interval, 250u);
  EXPECT_TRUE(r.retry_policy->retriable_status_codes.empty());

  Route d = load_route("        paths: [/]\n        retry_policy: {retry_on: gateway-error}\n");
  ASSERT_TRUE(d.retry_policy.has_value());
  EXPECT_EQ(d.retry_policy->num_retries, 1u);  // Envoy's default
  EXPECT_EQ(d.retry_policy->per_try_timeout, 0u);
  EXPECT_EQ(d.retry_policy->replay_buffer_limit, 65536u);

  Route l = load_route("        paths: [/]\n        retry_policy: {retry_on: 5xx, replay_buffer_limit: 0}\n");
  ASSERT_TRUE(l.retry_policy.has_value());
  EXPECT_EQ(l.retry_policy->replay_buffer_limit, 0u);
  EXPECT_NE(load_errors(testing::text(R"(
_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:9000
    routes:
      - paths: [/]
        retry_policy: {retry_on: 5xx, replay_buffer_limit: 99999999}
)")).find("replay_buffer_limit"),
            std::string::npos);
}

TEST(RetryPolicy, ListFormStatusCodesAndBackOff) {
  Route r = load_route(R"(        paths: [/]
        timeout: 1500
        retry_policy:
          retry_on: [retriable-status-codes, retriable-4xx, refused-stream]
          retriable_status_codes: [429, 503]
          retry_back_off: {base_interval: 100ms}
)");
  EXPECT_EQ(r.timeout, 1500u);
  ASSERT_TRUE(r.retry_policy.has_value());
  EXPECT_EQ(r.retry_policy->retriable_status_codes, (std::vector<int>{429, 503}));
  EXPECT_EQ(r.retry_policy->base_interval, 100u);
  EXPECT_EQ(r.retry_policy->max_interval, 1000u);  // 10 x base

  Route m = load_route(R"(        paths: [/]
        retry_policy:
          retry_on: 5xx
          retry_back_off: {base_interval: 10ms, max_interval: 2s}
)");
  EXPECT_EQ(m.retry_policy->max_interval, 2000u);
}

TEST(RetryPolicy, CompiledIntoTheRoute) {
  Config c = load_ok(R"(
_format_version: "3.0"
services:
  - name: s
    host: h
    routes:
      - name: plain
        paths: [/a]
      - name: retried
        paths: [/b]
        timeout: 5s
        retry_policy:
          retry_on: [gateway-error, retriable-status-codes]
          retriable_status_codes: [429]
          num_retries: 3
          per_try_timeout: 1s
)");
  auto shared = std::make_shared<const Config>(std::move(c));
  filter::Registry registry;
  CompileResult compiled = compile(shared, registry);
  ASSERT_TRUE(compiled.snapshot) << compiled.errors.to_string();
  const auto& routes = compiled.snapshot->routes->routes();
  EXPECT_EQ(routes[0]->retry, nullptr);
  EXPECT_EQ(routes[0]->timeout.count(), 0);
  const router::RetryPolicy* p = routes[1]->retry.get();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(routes[1]->timeout.count(), 5000);
  EXPECT_EQ(p->num_retries, 3u);
  EXPECT_EQ(p->per_try_timeout.count(), 1000);
  EXPECT_TRUE(p->retries_status(502));
  EXPECT_TRUE(p->retries_status(504));
  EXPECT_TRUE(p->retries_status(429));
  EXPECT_FALSE(p->retries_status(500));
  EXPECT_FALSE(p->retries_status(409));
  EXPECT_TRUE(p->retries_reset());
  EXPECT_TRUE(p->retries_connect_failure());
  EXPECT_TRUE(p->retries_per_try_timeout());
}

TEST(RetryPolicy, ConditionsAsBits) {
  router::RetryPolicy p;
  p.retry_on = router::RetryPolicy::kConnectFailure;
  EXPECT_TRUE(p.retries_connect_failure());
  EXPECT_FALSE(p.retries_reset());
  EXPECT_FALSE(p.retries_per_try_timeout());
  EXPECT_FALSE(p.retries_status(503));
  p.retry_on = router::RetryPolicy::kReset;
  EXPECT_TRUE(p.retries_reset());
  EXPECT_TRUE(p.retries_connect_failure());
  EXPECT_FALSE(p.retries_per_try_timeout());
  p.retry_on = router::RetryPolicy::k5xx;
  EXPECT_TRUE(p.retries_status(500));
  EXPECT_TRUE(p.retries_status(599));
  EXPECT_FALSE(p.retries_status(499));
  p.retry_on = router::RetryPolicy::kRetriable4xx;
  EXPECT_TRUE(p.retries_status(409));
  EXPECT_FALSE(p.retries_status(404));
}

TEST(RetryPolicy, UnknownConditionListsTheAcceptedOnes) {
  EXPECT_EQ(route_errors("        paths: [/]\n        retry_policy:\n          retry_on: 5xx,retriable-headers\n"),
            "kong.yaml:9:21: services[0].routes[0].retry_policy.retry_on: unknown retry_on condition "
            "\"retriable-headers\"; expected one of: 5xx, gateway-error, reset, connect-failure, "
            "retriable-4xx, refused-stream, retriable-status-codes");
  EXPECT_EQ(route_errors("        paths: [/]\n        retry_policy: {retry_on: [reset, 4xx]}\n"),
            "kong.yaml:8:42: services[0].routes[0].retry_policy.retry_on[1]: unknown retry_on "
            "condition \"4xx\"; expected one of: 5xx, gateway-error, reset, connect-failure, "
            "retriable-4xx, refused-stream, retriable-status-codes");
}

TEST(RetryPolicy, FieldErrors) {
  EXPECT_EQ(route_errors("        paths: [/]\n        timeout: 5 seconds\n"),
            "kong.yaml:8:18: services[0].routes[0].timeout: invalid duration \"5 seconds\": expected "
            "a duration such as \"250ms\", \"5s\", \"1.5s\" or \"1m\" (units ms, s, m, h), or an "
            "integer number of milliseconds");
  EXPECT_EQ(route_errors("        paths: [/]\n        timeout: -5\n"),
            "kong.yaml:8:18: services[0].routes[0].timeout: duration -5 must not be negative");
  EXPECT_NE(route_errors("        paths: [/]\n        timeout: true\n").find("got a boolean"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {num_retries: 2}\n")
                .find("services[0].routes[0].retry_policy: missing required field 'retry_on'"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: 5xx, per_try_timeout: 1x}\n")
                .find("kong.yaml:8:56: services[0].routes[0].retry_policy.per_try_timeout: invalid duration \"1x\""),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: 5xx, num_retries: -1}\n")
                .find("services[0].routes[0].retry_policy.num_retries"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: 5xx, retries: 2}\n")
                .find("unknown field 'retries'"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: 'reset,,5xx'}\n")
                .find("empty condition in retry_on \"reset,,5xx\""),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: [5xx, 5xx]}\n")
                .find("retry_on lists \"5xx\" twice"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: []}\n")
                .find("retry_on must name at least one condition"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: 5xx\n").find("retry_policy: expected a map"),
            std::string::npos);
}

TEST(RetryPolicy, StatusCodesGoWithTheirCondition) {
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: retriable-status-codes}\n")
                .find("retry_on 'retriable-status-codes' needs a non-empty 'retriable_status_codes' list"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: 5xx, retriable_status_codes: [429]}\n")
                .find("'retriable_status_codes' has no effect unless retry_on includes "
                      "'retriable-status-codes'"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy:\n          retry_on: retriable-status-codes\n"
                         "          retriable_status_codes: [429, 600]\n")
                .find("kong.yaml:10:41: services[0].routes[0].retry_policy.retriable_status_codes[1]"),
            std::string::npos);
}

TEST(RetryPolicy, BackOffErrors) {
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: 5xx, retry_back_off: {base_interval: 0}}\n")
                .find("retry_back_off.base_interval: base_interval must be greater than 0"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy:\n          retry_on: 5xx\n"
                         "          retry_back_off: {base_interval: 1s, max_interval: 100ms}\n")
                .find("kong.yaml:10:61: services[0].routes[0].retry_policy.retry_back_off.max_interval: "
                      "max_interval (100 ms) must not be less than base_interval (1000 ms)"),
            std::string::npos);
  EXPECT_NE(route_errors("        paths: [/]\n        retry_policy: {retry_on: 5xx, retry_back_off: {jitter: 1}}\n")
                .find("unknown field 'jitter'"),
            std::string::npos);
}

}  // namespace
}  // namespace portico::config::testing
