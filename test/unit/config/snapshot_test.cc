// Compilation of a loaded config into a Snapshot: plugin names and configs validated with their
// source positions, Kong's plugin precedence per route, clusters from services.
#include "config/snapshot.h"

#include <gtest/gtest.h>

#include <climits>

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
  auto reg = registry();
  return build_from_string(testing::text(literal), "kong.yaml", reg);
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
  const auto& routes = r.snapshot->routes->routes();
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
  EXPECT_EQ(r.snapshot->routes->routes()[0]->chain.on_request().size(), 1u);
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

TEST(Snapshot, AddressesAtOnceNamesThroughTheResolver) {
  auto r = build(R"(
_format_version: "3.0"
services:
  - name: local
    url: http://127.0.0.1:9000
  - name: named
    url: http://backend.internal:9000
  - name: v6
    url: http://[::1]:9001
)");
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  // Compilation does no I/O: literals are endpoints at once, names wait for answers.
  ASSERT_EQ(r.snapshot->clusters[0]->endpoints.size(), 1u);
  EXPECT_EQ(r.snapshot->clusters[0]->endpoints[0].key, "127.0.0.1:9000");
  EXPECT_EQ(r.snapshot->clusters[2]->endpoints[0].key, "[::1]:9001");
  EXPECT_TRUE(r.snapshot->clusters[1]->endpoints.empty());
  EXPECT_NE(r.snapshot->clusters[1]->resolve_error.find("has not finished"), std::string::npos);
  EXPECT_EQ(host_names(*r.snapshot), std::vector<std::string>{"backend.internal"});

  // An answer arrives: a new snapshot shares everything but the changed cluster.
  upstream::HostAddresses answer{{boost::asio::ip::make_address("10.0.0.7"), boost::asio::ip::make_address("10.0.0.8")}, {}};
  auto lookup = [&](std::string_view name) -> const upstream::HostAddresses* {
    return name == "backend.internal" ? &answer : nullptr;
  };
  auto next = with_addresses(r.snapshot, lookup);
  ASSERT_NE(next, r.snapshot);
  EXPECT_EQ(next->endpoints_generation, r.snapshot->endpoints_generation + 1);
  EXPECT_EQ(next->routes, r.snapshot->routes);
  EXPECT_EQ(next->config, r.snapshot->config);
  EXPECT_EQ(next->clusters[0], r.snapshot->clusters[0]);
  EXPECT_EQ(next->clusters[2], r.snapshot->clusters[2]);
  ASSERT_EQ(next->clusters[1]->endpoints.size(), 2u);
  EXPECT_EQ(next->clusters[1]->endpoints[0].key, "10.0.0.7:9000");
  EXPECT_EQ(next->clusters[1]->endpoints[1].key, "10.0.0.8:9000");
  EXPECT_TRUE(next->clusters[1]->resolve_error.empty());
  // The same answer again changes nothing.
  EXPECT_EQ(with_addresses(next, lookup), next);

  // A failed name: no endpoints and a reason the 503 log line can quote.
  answer = {{}, "NXDOMAIN"};
  auto failed = with_addresses(next, lookup);
  EXPECT_TRUE(failed->clusters[1]->endpoints.empty());
  EXPECT_EQ(failed->clusters[1]->resolve_error, "name resolution failed for backend.internal: NXDOMAIN");
}

TEST(Snapshot, UpstreamTargetsResolveWithTheirWeights) {
  auto r = build(R"(
_format_version: "3.0"
upstreams:
  - name: pool
    targets:
      - target: a.internal:8080
        weight: 30
      - target: 127.0.0.1:8081
        weight: 70
      - target: b.internal:8080
services:
  - name: s
    host: pool
)");
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  EXPECT_EQ(host_names(*r.snapshot), (std::vector<std::string>{"a.internal", "b.internal"}));
  ASSERT_EQ(r.snapshot->clusters[0]->endpoints.size(), 1u);  // the literal, at once
  upstream::HostAddresses a{{boost::asio::ip::make_address("10.1.0.1"), boost::asio::ip::make_address("10.1.0.2")}, {}};
  upstream::HostAddresses b{{boost::asio::ip::make_address("10.1.0.2")}, {}};  // shared with a: kept once
  auto next = with_addresses(r.snapshot, [&](std::string_view name) -> const upstream::HostAddresses* {
    return name == "a.internal" ? &a : &b;
  });
  const auto& eps = next->clusters[0]->endpoints;
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].key, "10.1.0.1:8080");
  EXPECT_EQ(eps[0].weight, 30u);
  EXPECT_EQ(eps[1].key, "10.1.0.2:8080");
  EXPECT_EQ(eps[1].weight, 30u);
  EXPECT_EQ(eps[2].key, "127.0.0.1:8081");
  EXPECT_EQ(eps[2].weight, 70u);
}

}  // namespace
}  // namespace portico::config

namespace portico::config {
namespace {

// Kong's plugin precedence with consumers, table-driven: for each set of scopes at which one
// plugin is configured, which instance runs for a request on route `r` (service `s`) as consumer
// `c`, and which runs for an anonymous request. Scope ranks as Chain::Plugin::scope reports them:
// 7 consumer+route+service, 6 consumer+route, 5 consumer+service, 4 route+service, 3 consumer,
// 2 route, 1 service, 0 global.
struct PrecedenceCase {
  std::vector<std::string> scopes;  // reference lists, e.g. "consumer: c, route: r"
  int as_consumer;                  // expected winning scope for consumer c; -1 = none runs
  int anonymous;                    // expected winning scope without a consumer
  int as_c2 = -2;                   // for consumer c2; -2 = the same as anonymous
};

TEST(Snapshot, ConsumerPluginPrecedenceFollowsKong) {
  const std::vector<PrecedenceCase> cases = {
      {{"{}"}, 0, 0},
      {{"{}", "{service: s}"}, 1, 1},
      {{"{}", "{service: s}", "{route: r}"}, 2, 2},
      {{"{route: r}", "{consumer: c}"}, 3, 2},                                // consumer beats route
      {{"{consumer: c}", "{route: r, service: s}"}, 4, 4},                   // route+service beats consumer
      {{"{route: r, service: s}", "{consumer: c, service: s}"}, 5, 4},
      {{"{consumer: c, service: s}", "{consumer: c, route: r}"}, 6, -1},
      {{"{consumer: c, route: r}", "{consumer: c, route: r, service: s}", "{}"}, 7, 0},
      {{"{consumer: c2}"}, -1, -1, 3},                                       // another consumer
      {{"{consumer: c, route: r2}", "{service: s}"}, 1, 1},                  // another route
      {{"{consumer: c, service: s2}"}, -1, -1},                              // another service
  };
  auto reg = registry();
  for (const auto& tc : cases) {
    std::string yaml = R"(_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:9000
    routes:
      - {name: r, paths: ["/r"]}
      - {name: r2, paths: ["/r2"]}
  - name: s2
    url: http://127.0.0.1:9001
consumers:
  - username: c
  - username: c2
plugins:
)";
    for (const auto& scope : tc.scopes) {
      std::string refs = scope.substr(1, scope.size() - 2);
      yaml += "  - name: request-termination\n    config: {status_code: 418}\n";
      if (!refs.empty()) {
        for (size_t at = 0; at < refs.size();) {
          size_t comma = refs.find(", ", at);
          std::string ref = refs.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
          yaml += "    " + ref + "\n";
          at = comma == std::string::npos ? refs.size() : comma + 2;
        }
      }
    }
    auto r = build_from_string(yaml, "kong.yaml", reg);
    ASSERT_TRUE(r.ok()) << r.errors.to_string() << yaml;
    const router::Route& route = *r.snapshot->routes->routes()[0];
    ASSERT_EQ(route.name, "r");
    auto winner = [](const filter::Chain& chain) {
      for (const auto& p : chain.plugins()) {
        if (p.name == "request-termination") return p.scope;
      }
      return -1;
    };
    const std::string what = ::testing::PrintToString(tc.scopes);
    EXPECT_EQ(winner(route.chain), tc.anonymous) << what;
    EXPECT_EQ(winner(r.snapshot->chain_for(route, 0, INT_MAX)), tc.as_consumer) << what;
    // A consumer without plugins of its own runs the route's chain.
    EXPECT_EQ(winner(r.snapshot->chain_for(route, 1, INT_MAX)), tc.as_c2 == -2 ? tc.anonymous : tc.as_c2) << what;
  }
}

TEST(Snapshot, ConsumerChainKeepsPriorityOrderAndResumesAfterAuthentication) {
  auto r = build(R"(
_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:9000
    routes: [{name: r, paths: ["/"]}]
consumers:
  - username: c
    plugins:
      - name: request-termination
        config: {status_code: 403}
plugins:
  - name: request-transformer
    config: {add: {headers: ["x-a:1"]}}
  - name: fault-injection
    config: {abort: {http_status: 503, percentage: 0}}
)");
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  const router::Route& route = *r.snapshot->routes->routes()[0];
  filter::Chain merged = r.snapshot->chain_for(route, 0, INT_MAX);
  ASSERT_EQ(merged.plugins().size(), route.chain.plugins().size() + 1);
  for (size_t i = 1; i < merged.plugins().size(); ++i) {
    EXPECT_GE(merged.plugins()[i - 1].priority, merged.plugins()[i].priority);
  }
  // Resuming after the filter that just ran: the next one in the new chain.
  ASSERT_GE(merged.on_request().size(), 2u);
  EXPECT_EQ(merged.resume_after(merged.on_request()[0], merged.on_request_priority(0)), 1u);

  // Authenticated by a filter whose priority is not above the consumer's instance: Kong already
  // passed that plugin without a consumer, so its instance is not merged in.
  int termination_priority = 0;
  for (const auto& p : merged.plugins()) {
    if (p.name == "request-termination") termination_priority = p.priority;
  }
  EXPECT_EQ(r.snapshot->chain_for(route, 0, termination_priority).plugins().size(), route.chain.plugins().size());
  EXPECT_EQ(r.snapshot->chain_for(route, 0, termination_priority + 1).plugins().size(),
            route.chain.plugins().size() + 1);
}

}  // namespace
}  // namespace portico::config
