#include <gtest/gtest.h>

#include "test_util.h"

namespace portico::config::testing {
namespace {

// Scopes used by the plugin tests: services a (0) and b (1), routes ra (0, nested in a) and
// rb (1), consumers alice (0) and bob (1). Plugins follow from line 18 on.
constexpr std::string_view kEntities = R"(_format_version: "3.0"
services:
  - name: a
    host: a
    routes:
      - name: ra
        paths: [/a]
  - name: b
    id: 44444444-4444-4444-8444-444444444444
    host: b
routes:
  - name: rb
    service: b
    paths: [/b]
consumers:
  - username: alice
  - custom_id: bob-42
)";

LoadResult load_plugins(std::string_view plugins) {
  return load_string(std::string(kEntities) + std::string(plugins), "kong.yaml");
}

TEST(Plugins, ScopesAndFields) {
  LoadResult result = load_plugins(R"(plugins:
  - name: prometheus
  - name: key-auth
    service: a
    enabled: false
    protocols: [https, grpcs]
    tags: [auth]
    instance_name: key-auth-a
    id: 55555555-5555-4555-8555-555555555555
  - name: cors
    route: ra
  - name: rate-limiting
    consumer: alice
    config: {minute: 5}
)");
  ASSERT_TRUE(result.ok()) << result.errors.to_string();
  const std::vector<PluginInstance>& p = result.config->plugins;
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(std::make_tuple(p[0].service, p[0].route, p[0].consumer), std::make_tuple(-1, -1, -1));
  EXPECT_EQ(p[0].protocols, (std::vector<std::string>{"grpc", "grpcs", "http", "https"}));
  EXPECT_EQ(p[0].config, nullptr);
  EXPECT_EQ(p[1].service, 0);
  EXPECT_FALSE(p[1].enabled);
  EXPECT_EQ(p[1].protocols, (std::vector<std::string>{"https", "grpcs"}));
  EXPECT_EQ(p[1].tags, std::vector<std::string>{"auth"});
  EXPECT_EQ(p[1].instance_name, "key-auth-a");
  EXPECT_EQ(p[1].id, "55555555-5555-4555-8555-555555555555");
  EXPECT_EQ(p[2].route, 0);
  EXPECT_EQ(p[3].consumer, 0);
  ASSERT_NE(p[3].config, nullptr);
  EXPECT_EQ(p[3].config->find("minute")->as_int(), 5);
}

TEST(Plugins, ConsumerReferencesUseIdOrUsername) {
  LoadResult result = load_plugins(R"(plugins:
  - name: rate-limiting
    consumer: alice
  - name: cors
    service: 44444444-4444-4444-8444-444444444444
    route: {name: rb}
    consumer: {username: alice}
)");
  ASSERT_TRUE(result.ok()) << result.errors.to_string();
  const std::vector<PluginInstance>& p = result.config->plugins;
  EXPECT_EQ(p[0].consumer, 0);
  EXPECT_EQ(std::make_tuple(p[1].service, p[1].route, p[1].consumer), std::make_tuple(1, 1, 0));

  // Kong references consumers by id or username; custom_id is not a reference.
  LoadResult by_custom_id = load_plugins("plugins:\n  - name: cors\n    consumer: bob-42\n");
  EXPECT_EQ(by_custom_id.errors.to_string(),
            "kong.yaml:20:15: plugins[0].consumer: consumer \"bob-42\" not found: no consumer has "
            "that username or id");
}

TEST(Plugins, NestedUnderEveryEntity) {
  Config c = load_ok(R"(
_format_version: "3.0"
services:
  - name: s
    host: h
    plugins: [{name: p1}]
    routes:
      - name: r
        paths: [/]
        plugins: [{name: p2}]
routes:
  - name: flat
    paths: [/f]
    plugins: [{name: p3}]
consumers:
  - username: u
    plugins: [{name: p4, route: flat}]
)");
  ASSERT_EQ(c.plugins.size(), 4u);
  auto scope = [&](size_t i) {
    return std::make_tuple(c.plugins[i].service, c.plugins[i].route, c.plugins[i].consumer);
  };
  EXPECT_EQ(c.plugins[0].name, "p1");
  EXPECT_EQ(scope(0), std::make_tuple(0, -1, -1));
  EXPECT_EQ(c.plugins[1].name, "p2");
  EXPECT_EQ(scope(1), std::make_tuple(-1, 0, -1)) << "Kong scopes a route's plugin to the route";
  EXPECT_EQ(c.plugins[2].name, "p3");
  EXPECT_EQ(scope(2), std::make_tuple(-1, 1, -1));
  EXPECT_EQ(c.plugins[3].name, "p4");
  EXPECT_EQ(scope(3), std::make_tuple(-1, 1, 0)) << "other references stay allowed when nested";
  EXPECT_EQ(c.plugins[3].yaml_path, "consumers[0].plugins[0]");
}

TEST(Plugins, NestedPluginMustNotNameItsParent) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
services:
  - name: s
    host: h
    plugins:
      - name: cors
        service: s
)"),
            "kong.yaml:7:9: services[0].plugins[0].service: a plugin nested under a service must "
            "not have a 'service' field; it applies to that service already");
}

TEST(Plugins, NameIsRequiredAndConfigIsAMap) {
  LoadResult result = load_plugins(R"(plugins:
  - config: {a: 1}
  - name: cors
    config: [a]
  - name: jwt
    config: "x"
  - name: ""
)");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors.to_string(),
            "kong.yaml:19:5: plugins[0]: missing required field 'name'\n"
            "kong.yaml:21:13: plugins[1].config: expected a map, got a list\n"
            "kong.yaml:23:13: plugins[2].config: expected a map, got a string (\"x\")\n"
            "kong.yaml:24:11: plugins[3].name: plugin name must not be empty");
}

TEST(Plugins, Protocols) {
  LoadResult result = load_plugins(R"(plugins:
  - name: cors
    protocols: [http, ws, smtp]
)");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors.to_string(),
            "kong.yaml:20:23: plugins[0].protocols[1]: protocol \"ws\" is not supported yet for "
            "plugins (supported: grpc, grpcs, http, https)\n"
            "kong.yaml:20:27: plugins[0].protocols[2]: unknown protocol \"smtp\"; expected grpc, "
            "grpcs, http or https");
}

TEST(Plugins, SameNameTwiceOnOneScope) {
  LoadResult result = load_plugins(R"(plugins:
  - name: cors
  - name: cors
    service: a
  - name: cors
    service: {name: a}
  - name: cors
    route: ra
  - name: cors
    service: a
    consumer: alice
  - name: prometheus
    instance_name: global-metrics
  - name: prometheus
)");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors.to_string(),
            "kong.yaml:22:11: plugins[2].name: plugin \"cors\" is already configured for service "
            "\"a\" (at line 20); a plugin may appear only once per service/route/consumer "
            "combination\n"
            "kong.yaml:31:11: plugins[6].name: plugin \"prometheus\" is already configured "
            "globally (at line 29); a plugin may appear only once per service/route/consumer "
            "combination");
}

TEST(Plugins, NestedAndFlatDuplicatesAreFound) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
services:
  - name: s
    host: h
    plugins:
      - name: jwt
plugins:
  - name: jwt
    service: s
)"),
            "kong.yaml:8:11: plugins[0].name: plugin \"jwt\" is already configured for service "
            "\"s\" (at line 6); a plugin may appear only once per service/route/consumer "
            "combination");
}

TEST(Plugins, DanglingReferencesAndUniqueIds) {
  LoadResult result = load_plugins(R"(plugins:
  - name: cors
    route: nope
  - name: jwt
    consumer: {username: carol}
  - name: p1
    id: 66666666-6666-4666-8666-666666666666
    instance_name: same
  - name: p2
    id: 66666666-6666-4666-8666-666666666666
    instance_name: same
  - name: p3
    consumer_group: gold
)");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(
      result.errors.to_string(),
      "kong.yaml:20:12: plugins[0].route: route \"nope\" not found: no route has that name or "
      "id\n"
      "kong.yaml:22:26: plugins[1].consumer.username: no consumer has username \"carol\"\n"
      "kong.yaml:27:9: plugins[3].id: duplicate plugin id "
      "\"66666666-6666-4666-8666-666666666666\" (first defined at line 24)\n"
      "kong.yaml:28:20: plugins[3].instance_name: duplicate plugin instance_name \"same\" "
      "(first defined at line 25)\n"
      "kong.yaml:30:5: plugins[4].consumer_group: Kong field 'consumer_group' is not "
      "supported yet");
}

TEST(Consumers, FieldsAndValidation) {
  Config c = load_ok(R"(
_format_version: "3.0"
consumers:
  - username: alice
    custom_id: "42"
    tags: [vip]
    id: 77777777-7777-4777-8777-777777777777
  - custom_id: 43
)");
  ASSERT_EQ(c.consumers.size(), 2u);
  EXPECT_EQ(c.consumers[0].username, "alice");
  EXPECT_EQ(c.consumers[0].custom_id, "42");
  EXPECT_EQ(c.consumers[0].tags, std::vector<std::string>{"vip"});
  EXPECT_EQ(c.consumers[1].custom_id, "43");
  EXPECT_EQ(c.consumers[1].yaml_path, "consumers[1]");
}

TEST(Consumers, Errors) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
consumers:
  - tags: [x]
  - username: alice
  - username: alice
    custom_id: c
  - username: bob
    custom_id: c
    hmacauth_credentials:
      - username: secret
)"),
            "kong.yaml:3:5: consumers[0]: a consumer needs a 'username' or a 'custom_id'\n"
            "kong.yaml:5:15: consumers[2].username: duplicate consumer username \"alice\" (first "
            "defined at line 4)\n"
            "kong.yaml:8:16: consumers[3].custom_id: duplicate consumer custom_id \"c\" (first "
            "defined at line 6)\n"
            "kong.yaml:9:5: consumers[3].hmacauth_credentials: Kong field 'hmacauth_credentials' is "
            "not supported yet");
}

}  // namespace
}  // namespace portico::config::testing
