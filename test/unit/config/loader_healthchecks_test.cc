// Kong `upstreams[].healthchecks`: defaults, units (seconds with fractions), what reaches the
// compiled cluster, and every validation error with its position.
#include <gtest/gtest.h>

#include "config/snapshot.h"
#include "filters/builtin.h"
#include "test_util.h"

namespace portico::config {
namespace {

using testing::load_errors;
using testing::load_ok;

TEST(LoaderHealthchecks, DefaultsAreKongsAndDisabled) {
  Config c = load_ok(R"(
_format_version: "3.0"
upstreams:
  - name: u
    healthchecks: {}
)");
  const HealthChecks& hc = c.upstreams[0].healthchecks;
  EXPECT_EQ(hc.active.type, "http");
  EXPECT_EQ(hc.active.http_path, "/");
  EXPECT_EQ(hc.active.timeout, 1000u);
  EXPECT_EQ(hc.active.concurrency, 10u);
  EXPECT_EQ(hc.active.healthy_interval, 0u);
  EXPECT_EQ(hc.active.unhealthy_interval, 0u);
  EXPECT_EQ(hc.active.healthy_http_statuses, (std::vector<int>{200, 302}));
  EXPECT_EQ(hc.active.unhealthy_http_statuses, (std::vector<int>{429, 404, 500, 501, 502, 503, 504, 505}));
  EXPECT_EQ(hc.active.healthy_successes, 0u);
  EXPECT_EQ(hc.active.unhealthy_http_failures, 0u);
  EXPECT_EQ(hc.passive.type, "http");
  EXPECT_EQ(hc.passive.healthy_http_statuses,
            (std::vector<int>{200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306,
                              307, 308}));
  EXPECT_EQ(hc.passive.unhealthy_http_statuses, (std::vector<int>{429, 500, 503}));
  EXPECT_EQ(hc.passive.healthy_successes, 0u);
  EXPECT_EQ(hc.passive.unhealthy_http_failures, 0u);
  EXPECT_EQ(hc.passive.unhealthy_tcp_failures, 0u);
  EXPECT_EQ(hc.passive.unhealthy_timeouts, 0u);
  EXPECT_EQ(hc.passive.ejection_base, 30000u);
  EXPECT_EQ(hc.passive.ejection_max, 300000u);
  EXPECT_EQ(hc.threshold, 0.0);
}

TEST(LoaderHealthchecks, ActiveFieldsAndAKongExportsDisabledPassiveBlock) {
  Config c = load_ok(R"(
_format_version: "3.0"
upstreams:
  - name: u
    healthchecks:
      threshold: 50
      active:
        type: tcp
        http_path: /health
        timeout: 0.25
        concurrency: 3
        https_verify_certificate: true
        headers: {x-probe: [a, b]}
        healthy: {interval: 0.1, http_statuses: [200], successes: 2}
        unhealthy: {interval: 1.5, http_statuses: [500, 503], http_failures: 3, tcp_failures: 4, timeouts: 5}
      passive:
        type: http
        healthy: {http_statuses: [200, 201], successes: 0}
        unhealthy: {http_statuses: [429, 500, 503], http_failures: 0, tcp_failures: 0, timeouts: 0}
)");
  const HealthChecks& hc = c.upstreams[0].healthchecks;
  EXPECT_EQ(hc.threshold, 50.0);
  EXPECT_EQ(hc.active.type, "tcp");
  EXPECT_EQ(hc.active.http_path, "/health");
  EXPECT_EQ(hc.active.timeout, 250u);
  EXPECT_EQ(hc.active.concurrency, 3u);
  ASSERT_EQ(hc.active.headers.size(), 1u);
  EXPECT_EQ(hc.active.headers[0].first, "x-probe");
  EXPECT_EQ(hc.active.headers[0].second, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(hc.active.healthy_interval, 100u);
  EXPECT_EQ(hc.active.healthy_http_statuses, (std::vector<int>{200}));
  EXPECT_EQ(hc.active.healthy_successes, 2u);
  EXPECT_EQ(hc.active.unhealthy_interval, 1500u);
  EXPECT_EQ(hc.active.unhealthy_http_statuses, (std::vector<int>{500, 503}));
  EXPECT_EQ(hc.active.unhealthy_http_failures, 3u);
  EXPECT_EQ(hc.active.unhealthy_tcp_failures, 4u);
  EXPECT_EQ(hc.active.unhealthy_timeouts, 5u);
  EXPECT_EQ(hc.passive.healthy_http_statuses, (std::vector<int>{200, 201}));
  EXPECT_EQ(hc.passive.unhealthy_http_failures, 0u);
}

TEST(LoaderHealthchecks, PassiveFieldsCompileIntoTheCluster) {
  auto c = std::make_shared<Config>(load_ok(R"(
_format_version: "3.0"
upstreams:
  - name: u
    healthchecks:
      passive:
        type: tcp
        ejection_base: 0.5
        ejection_max: 4
        healthy: {http_statuses: [200], successes: 2}
        unhealthy: {http_statuses: [500, 502], http_failures: 3, tcp_failures: 4, timeouts: 5}
    targets: [{target: "127.0.0.1:9"}]
services:
  - {name: s, host: u}
)"));
  filter::Registry registry;
  filters::register_builtin_plugins(registry);
  auto r = compile(c, registry);
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  const auto& p = r.snapshot->clusters[0]->health_check.passive;
  EXPECT_FALSE(r.snapshot->clusters[0]->health_check.active());
  EXPECT_TRUE(p.enabled());
  EXPECT_EQ(p.type, upstream::PassiveSettings::Type::kTcp);
  EXPECT_EQ(p.healthy_statuses, (std::vector<int>{200}));
  EXPECT_EQ(p.unhealthy_statuses, (std::vector<int>{500, 502}));
  EXPECT_EQ(p.successes, 2u);
  EXPECT_EQ(p.http_failures, 3u);
  EXPECT_EQ(p.tcp_failures, 4u);
  EXPECT_EQ(p.timeouts, 5u);
  EXPECT_EQ(p.ejection_base.count(), 500);
  EXPECT_EQ(p.ejection_max.count(), 4000);
}

TEST(LoaderHealthchecks, CompiledIntoTheCluster) {
  auto c = std::make_shared<Config>(load_ok(R"(
_format_version: "3.0"
upstreams:
  - name: u
    healthchecks:
      active:
        headers: {x-a: ["1", "2"]}
        healthy: {interval: 0.1, successes: 1}
        unhealthy: {interval: 0.2, http_failures: 2}
    targets: [{target: "127.0.0.1:9"}]
services:
  - {name: s, host: u}
)"));
  filter::Registry registry;
  filters::register_builtin_plugins(registry);
  auto r = compile(c, registry);
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  const auto& cluster = *r.snapshot->clusters[0];
  EXPECT_TRUE(cluster.health_check.active());
  EXPECT_EQ(cluster.health_check.healthy_interval.count(), 100);
  EXPECT_EQ(cluster.health_check.unhealthy_interval.count(), 200);
  EXPECT_EQ(cluster.health_check.http_failures, 2u);
  EXPECT_EQ(cluster.health_check.headers, "x-a: 1\r\nx-a: 2\r\n");
  ASSERT_TRUE(cluster.health);
  EXPECT_EQ(cluster.health->size(), 1u);
  EXPECT_TRUE(cluster.health->healthy(0));
}

TEST(LoaderHealthchecks, Errors) {
  std::string e = load_errors(R"(
_format_version: "3.0"
upstreams:
  - name: u
    healthchecks:
      threshold: 101
      active:
        type: grpcs
        http_path: health
        timeout: -1
        concurrency: 0
        https_sni: "*.example.com"
        headers: {"bad header": [x], x-ok: "not a list"}
        healthy: {interval: 70000, http_statuses: [99], successes: 256, extra: 1}
        unhealthy: {http_failures: -1}
      passive:
        type: grpc
        ejection_base: 10
        ejection_max: 5
        unhealthy: {tcp_failures: 256}
      zz: 1
)");
  for (const char* want : {
           "kong.yaml:5:18: upstreams[0].healthchecks.threshold: value 101 is out of range",
           "kong.yaml:7:15: upstreams[0].healthchecks.active.type: active health check type \"grpcs\" is not "
           "supported yet (supported: http, https, tcp)",

           "upstreams[0].healthchecks.active.http_path: http_path path \"health\" must start with \"/\"",
           "upstreams[0].healthchecks.active.timeout: value -1 is out of range",
           "upstreams[0].healthchecks.active.concurrency: value 0 is out of range",
           "upstreams[0].healthchecks.active.https_sni: https_sni \"*.example.com\" is not a valid server name",
           "upstreams[0].healthchecks.active.headers[\"bad header\"]: \"bad header\" is not a valid header name",
           "upstreams[0].healthchecks.active.headers.x-ok: expected a list of strings",
           "upstreams[0].healthchecks.active.healthy.interval: value 70000 is out of range",
           "upstreams[0].healthchecks.active.healthy.http_statuses[0]: value 99 is out of range",
           "upstreams[0].healthchecks.active.healthy.successes: value 256 is out of range",
           "upstreams[0].healthchecks.active.healthy.extra: unknown field 'extra'",
           "upstreams[0].healthchecks.active.unhealthy.http_failures: value -1 is out of range",
           "upstreams[0].healthchecks.passive.type: passive health check type \"grpc\" is not supported yet "
           "(supported: http, tcp)",
           "upstreams[0].healthchecks.passive.ejection_max: ejection_max must not be less than ejection_base",
           "upstreams[0].healthchecks.passive.unhealthy.tcp_failures: value 256 is out of range",
           "upstreams[0].healthchecks.zz: unknown field 'zz'",
       }) {
    EXPECT_NE(e.find(want), std::string::npos) << "missing: " << want << "\n" << e;
  }
}

}  // namespace
}  // namespace portico::config
