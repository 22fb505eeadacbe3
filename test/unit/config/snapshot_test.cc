// Compilation of a loaded config into a Snapshot: plugin names and configs validated with their
// source positions, Kong's plugin precedence per route, clusters from services.
#include "config/snapshot.h"

#include <gtest/gtest.h>

#include "filters/builtin.h"
#include "test_util.h"

namespace portico::config {
namespace {

filter::Registry registry() {
  filter::Registry r;
  filters::register_builtin_plugins(r);
  return r;
}

CompileResult build(std::string_view literal) {
  CompileOptions opts;
  opts.resolve_hosts = false;
  auto reg = registry();
  return build_from_string(testing::text(literal), "kong.yaml", reg, opts);
}

TEST(Snapshot, UnknownPluginNamesItsPlaceAndTheKnownOnes) {
  auto r = build(R"(
_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:9000
    plugins:
      - name: rate-limitin
)");
  ASSERT_FALSE(r.ok());
  std::string e = r.errors.to_string();
  EXPECT_NE(e.find("kong.yaml:6:9: services[0].plugins[0].name: unknown plugin \"rate-limitin\""),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("request-termination"), std::string::npos) << e;
}

TEST(Snapshot, PluginConfigErrorsCarryTheirPosition) {
  auto r = build(R"(
_format_version: "3.0"
routes:
  - name: r
    paths: ["/"]
    plugins:
      - name: request-termination
        config:
          status_code: 700
)");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors.to_string().find("kong.yaml:8:24: routes[0].plugins[0].config.status_code"),
            std::string::npos)
      << r.errors.to_string();
}

TEST(Snapshot, MostSpecificPluginWinsPerRoute) {
  auto r = build(R"(
_format_version: "3.0"
plugins:
  - name: request-termination
    config: {status_code: 500}
services:
  - name: s
    url: http://127.0.0.1:9000
    plugins:
      - name: request-termination
        config: {status_code: 501}
    routes:
      - name: on-route
        paths: ["/a"]
        plugins:
          - name: request-termination
            config: {status_code: 502}
      - name: service-only
        paths: ["/b"]
routes:
  - name: global-only
    paths: ["/c"]
)");
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  const auto& routes = r.snapshot->routes.routes();
  ASSERT_EQ(routes.size(), 3u);
  for (const auto& route : routes) {
    EXPECT_EQ(route->chain.on_request().size(), 1u) << route->name;
  }
  // The three routes got three different filter instances: route, service, global.
  EXPECT_NE(routes[0]->chain.on_request()[0], routes[1]->chain.on_request()[0]);
  EXPECT_NE(routes[1]->chain.on_request()[0], routes[2]->chain.on_request()[0]);
}

TEST(Snapshot, DisabledPluginLetsALessSpecificOneApply) {
  auto r = build(R"(
_format_version: "3.0"
plugins:
  - name: request-termination
    config: {status_code: 500}
routes:
  - name: r
    paths: ["/"]
    plugins:
      - name: request-termination
        enabled: false
        config: {status_code: 502}
)");
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  EXPECT_EQ(r.snapshot->routes.routes()[0]->chain.on_request().size(), 1u);
}

TEST(Snapshot, ClustersCarryServiceSettings) {
  auto r = build(R"(
_format_version: "3.0"
services:
  - name: s
    url: http://api.internal:8080/base
    connect_timeout: 1500
    retries: 2
  - name: t
    url: http://api.internal
)");
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  const auto& c = *r.snapshot->clusters[0];
  EXPECT_EQ(c.host_header, "api.internal:8080");
  EXPECT_EQ(c.path, "/base");
  EXPECT_EQ(c.retries, 2);
  EXPECT_EQ(c.connect_timeout.count(), 1500);
  EXPECT_EQ(r.snapshot->clusters[1]->host_header, "api.internal");  // default port is omitted
  EXPECT_EQ(r.snapshot->version.size(), 16u);
}

TEST(Snapshot, ResolvesAddressesAndReportsUnresolvableNames) {
  CompileOptions opts;
  auto reg = registry();
  auto r = build_from_string(testing::text(R"(
_format_version: "3.0"
services:
  - name: local
    url: http://127.0.0.1:9000
  - name: nowhere
    url: http://nonexistent.invalid:9000
)"),
                             "kong.yaml", reg, opts);
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  ASSERT_EQ(r.snapshot->clusters[0]->endpoints.size(), 1u);
  EXPECT_EQ(r.snapshot->clusters[0]->endpoints[0].key, "127.0.0.1:9000");
  EXPECT_TRUE(r.snapshot->clusters[1]->endpoints.empty());
  EXPECT_NE(r.snapshot->clusters[1]->resolve_error.find("nonexistent.invalid"), std::string::npos);
}

}  // namespace
}  // namespace portico::config
