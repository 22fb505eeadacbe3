#include "config/loader.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/object_reader.h"
#include "test_util.h"

namespace portico::config::testing {
namespace {

using core::ConfigErrors;
using core::ConfigNode;
using core::ObjectReader;

const std::string kData = PORTICO_CONFIG_TEST_DATA;

// The Kong snippet from the project's seed document, verbatim.
constexpr std::string_view kSeed = R"(
_format_version: "3.0"
services:
  - name: orders-api
    url: http://orders.svc.cluster.local:8080
    routes:
      - name: orders-route
        paths: ["/api/orders"]
        strip_path: false
    plugins:
      - name: rate-limiting
        config: { minute: 600, policy: redis }
      - name: jwt
        config: { key_claim_name: kid }
      - name: prometheus
)";

void expect_seed_model(const Config& c) {
  EXPECT_EQ(c.format_version, "3.0");
  ASSERT_EQ(c.services.size(), 1u);
  const Service& s = c.services[0];
  EXPECT_EQ(s.name, "orders-api");
  EXPECT_EQ(s.protocol, "http");
  EXPECT_EQ(s.host, "orders.svc.cluster.local");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.path, "");
  EXPECT_EQ(s.retries, 5);
  EXPECT_EQ(s.connect_timeout, 60000u);
  EXPECT_EQ(s.yaml_path, "services[0]");
  EXPECT_EQ(s.mark.line, 3u);

  ASSERT_EQ(c.routes.size(), 1u);
  const Route& r = c.routes[0];
  EXPECT_EQ(r.name, "orders-route");
  EXPECT_EQ(r.service, 0);
  EXPECT_EQ(r.paths, std::vector<std::string>{"/api/orders"});
  EXPECT_FALSE(r.strip_path);
  EXPECT_EQ(r.protocols, (std::vector<std::string>{"http", "https"}));
  EXPECT_EQ(r.yaml_path, "services[0].routes[0]");

  ASSERT_EQ(c.plugins.size(), 3u);
  EXPECT_EQ(c.plugins[0].name, "rate-limiting");
  EXPECT_EQ(c.plugins[1].name, "jwt");
  EXPECT_EQ(c.plugins[2].name, "prometheus");
  for (const PluginInstance& p : c.plugins) {
    EXPECT_EQ(p.service, 0);
    EXPECT_EQ(p.route, -1);
    EXPECT_EQ(p.consumer, -1);
    EXPECT_TRUE(p.enabled);
  }
  EXPECT_EQ(c.plugins[1].yaml_path, "services[0].plugins[1]");
  EXPECT_EQ(c.plugins[1].mark.line, 12u);

  // Plugin configs stay readable for the plugin registry.
  ASSERT_NE(c.plugins[0].config, nullptr);
  ConfigErrors errors;
  ObjectReader rl(*c.plugins[0].config, c.plugins[0].yaml_path + ".config", errors);
  int64_t minute = 0;
  std::string policy;
  EXPECT_TRUE(rl.get("minute", minute, 0, INT64_MAX));
  EXPECT_TRUE(rl.get("policy", policy));
  rl.finish();
  EXPECT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(minute, 600);
  EXPECT_EQ(policy, "redis");
  ASSERT_NE(c.plugins[1].config, nullptr);
  EXPECT_EQ(c.plugins[1].config->find("key_claim_name")->scalar(), "kid");
  EXPECT_EQ(c.plugins[1].config->mark().line, 13u);
  EXPECT_EQ(c.plugins[2].config, nullptr);
}

TEST(Loader, SeedSnippetLoads) {
  Config c = load_ok(kSeed);
  expect_seed_model(c);
  EXPECT_EQ(c.file, "kong.yaml");
  EXPECT_EQ(c.version.size(), 16u);
  EXPECT_EQ(c.version.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(Loader, SeedFileLoadsFromDisk) {
  LoadResult result = load_file(kData + "/seed_kong.yaml");
  ASSERT_TRUE(result.ok()) << result.errors.to_string();
  expect_seed_model(*result.config);
  EXPECT_EQ(result.config->file, kData + "/seed_kong.yaml");
}

TEST(Loader, PluginConfigOutlivesTheLoadResult) {
  const ConfigNode* config = nullptr;
  Config copy;
  {
    LoadResult result = load(kSeed);
    ASSERT_TRUE(result.ok());
    copy = *result.config;
    config = copy.plugins[0].config;
  }
  EXPECT_EQ(config->find("minute")->as_int(), 600);
}

TEST(Loader, VersionIsTheSourceHash) {
  Config a = load_ok(kSeed);
  Config b = load_ok(kSeed);
  EXPECT_EQ(a.version, b.version);
  Config c = load_ok(std::string(kSeed) + "# a comment changes the bytes\n");
  EXPECT_NE(a.version, c.version);
}

TEST(Loader, VersionFollowsSubstitutedEnvironment) {
  std::string_view text = R"(
_format_version: "3.0"
services:
  - name: a
    host: ${BACKEND_HOST}
)";
  LoadOptions one, two;
  one.env = fake_env({{"BACKEND_HOST", "one.internal"}});
  two.env = fake_env({{"BACKEND_HOST", "two.internal"}});
  Config a = load_ok(text, one);
  Config b = load_ok(text, two);
  EXPECT_EQ(a.services[0].host, "one.internal");
  EXPECT_EQ(b.services[0].host, "two.internal");
  EXPECT_NE(a.version, b.version);
}

TEST(Loader, ProcessEnvironmentIsTheDefault) {
  ::setenv("PORTICO_TEST_ORDERS_PORT", "9090", 1);
  Config c = load_ok(R"(
_format_version: "3.0"
services:
  - name: a
    host: orders
    port: ${PORTICO_TEST_ORDERS_PORT}
)");
  ::unsetenv("PORTICO_TEST_ORDERS_PORT");
  ASSERT_EQ(c.services.size(), 1u);
  EXPECT_EQ(c.services[0].port, 9090);
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
services:
  - name: a
    host: ${PORTICO_TEST_SURELY_UNSET}
)"),
            "kong.yaml:4:11: services[0].host: environment variable PORTICO_TEST_SURELY_UNSET is "
            "not set");
}

TEST(Loader, MissingFile) {
  LoadResult result = load_file(kData + "/does-not-exist.yaml");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors.to_string(),
            kData + "/does-not-exist.yaml: cannot open the file: No such file or directory");
}

TEST(Loader, FormatVersion) {
  EXPECT_EQ(load_errors("services: []\n"),
            "kong.yaml:1:1: missing required field '_format_version'");
  EXPECT_EQ(
      load_errors("_format_version: \"3.1\"\n"),
      "kong.yaml:1:18: _format_version: unsupported format version \"3.1\"; expected \"3.0\"");
  std::string old = load_errors("_format_version: \"2.1\"\n");
  EXPECT_NE(old.find("format version \"2.1\" is not supported: regex paths changed meaning in 3.0"),
            std::string::npos)
      << old;
  Config c = load_ok("_format_version: 3.0\n");  // a plain 3.0 reads as the text "3.0"
  EXPECT_EQ(c.format_version, "3.0");
  EXPECT_TRUE(c.services.empty());
}

TEST(Loader, EmptyOrNonMapFile) {
  EXPECT_EQ(load_errors(""),
            "kong.yaml:1:1: the file is empty; expected a Kong declarative configuration starting "
            "with _format_version: \"3.0\"");
  EXPECT_EQ(load_errors("- a\n"),
            "kong.yaml:1:1: expected a map at the top level (_format_version, services, routes, "
            "consumers, plugins, portico), got a list");
}

TEST(Loader, TopLevelKeys) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
servics: []
)"),
            "kong.yaml:2:1: servics: unknown field 'servics' (did you mean 'services'?); expected "
            "one of: _format_version, _transform, services, routes, consumers, "
            "keyauth_credentials, basicauth_credentials, acls, jwt_secrets, mtls_auth_credentials, ca_certificates, "
            "certificates, snis, upstreams, plugins, portico");
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
vaults:
  - name: x
_workspace: team-a
)"),
            "kong.yaml:2:1: vaults: Kong entity 'vaults' is not supported yet\n"
            "kong.yaml:4:1: _workspace: workspaces are not supported (Portico has a single "
            "workspace); remove '_workspace'");
  Config c = load_ok("_format_version: \"3.0\"\n_transform: false\n");
  EXPECT_FALSE(c.transform);
}

TEST(Loader, WrongTypesAtTopLevel) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
services: {name: a}
routes: x
)"),
            "kong.yaml:2:11: services: expected a list, got a map\n"
            "kong.yaml:3:9: routes: expected a list, got a string (\"x\")");
}

TEST(Loader, ErrorsAreCollectedAndSorted) {
  std::string errors = load_errors(R"(
_format_version: "3.0"
services:
  - name: a
    host: b
    port: 99999
  - name: a
    host: c
    retries: -1
routes:
  - paths: [nope]
    service: ghost
)");
  EXPECT_EQ(errors,
            "kong.yaml:5:11: services[0].port: value 99999 is out of range (0..65535)\n"
            "kong.yaml:6:11: services[1].name: duplicate service name \"a\" (first defined at "
            "line 3)\n"
            "kong.yaml:8:14: services[1].retries: value -1 is out of range (0..32767)\n"
            "kong.yaml:10:13: routes[0].paths[0]: path \"nope\" must start with \"/\" (prefix) or "
            "\"~\" (regex)\n"
            "kong.yaml:11:14: routes[0].service: service \"ghost\" not found: no service has that "
            "name or id");
}

TEST(Loader, JsonConfig) {
  Config c = load_ok(R"({
  "_format_version": "3.0",
  "services": [
    {"name": "a", "host": "10.0.0.1", "port": 81,
     "routes": [{"name": "r", "paths": ["/a"], "methods": ["GET"]}]}
  ],
  "plugins": [{"name": "cors", "config": {"origins": ["*"]}}]
})");
  ASSERT_EQ(c.services.size(), 1u);
  EXPECT_EQ(c.services[0].host, "10.0.0.1");
  EXPECT_EQ(c.services[0].port, 81);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].methods, std::vector<std::string>{"GET"});
  ASSERT_EQ(c.plugins.size(), 1u);
  EXPECT_EQ(c.plugins[0].service, -1);
  EXPECT_EQ((*c.plugins[0].config->find("origins"))[0].scalar(), "*");
}

TEST(Loader, AnchorsShareSettings) {
  Config c = load_ok(R"(
_format_version: "3.0"
services:
  - name: a
    host: a.internal
    connect_timeout: &fast 1500
    read_timeout: *fast
    tags: &common [prod, team-x]
  - name: b
    host: b.internal
    tags: *common
)");
  ASSERT_EQ(c.services.size(), 2u);
  EXPECT_EQ(c.services[0].read_timeout, 1500u);
  EXPECT_EQ(c.services[1].tags, (std::vector<std::string>{"prod", "team-x"}));
}

TEST(Loader, DuplicateYamlKeyFailsTheLoad) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
services:
  - name: a
    host: x
    host: y
)"),
            "kong.yaml:5:5: services[0].host: duplicate key 'host' (first defined at line 4)");
}

TEST(Loader, FlatAndNestedFormsGiveTheSameModel) {
  Config nested = load_ok(R"(
_format_version: "3.0"
services:
  - name: orders
    url: https://orders.internal/v1
    routes:
      - name: orders-list
        paths: [/orders]
        methods: [GET]
        plugins:
          - name: cors
    plugins:
      - name: key-auth
consumers:
  - username: alice
    plugins:
      - name: rate-limiting
        config: {minute: 5}
)");
  Config flat = load_ok(R"(
_format_version: "3.0"
services:
  - name: orders
    url: https://orders.internal/v1
routes:
  - name: orders-list
    service: orders
    paths: [/orders]
    methods: [GET]
consumers:
  - username: alice
plugins:
  - name: cors
    route: orders-list
  - name: key-auth
    service: {name: orders}
  - name: rate-limiting
    consumer: alice
    config: {minute: 5}
)");
  ASSERT_EQ(nested.services.size(), flat.services.size());
  ASSERT_EQ(nested.routes.size(), flat.routes.size());
  ASSERT_EQ(nested.consumers.size(), flat.consumers.size());
  ASSERT_EQ(nested.plugins.size(), flat.plugins.size());
  const Service& ns = nested.services[0];
  const Service& fs = flat.services[0];
  EXPECT_EQ(ns.protocol, fs.protocol);
  EXPECT_EQ(ns.host, fs.host);
  EXPECT_EQ(ns.port, 443);
  EXPECT_EQ(fs.port, 443);
  EXPECT_EQ(ns.path, fs.path);
  EXPECT_EQ(nested.routes[0].service, flat.routes[0].service);
  EXPECT_EQ(nested.routes[0].paths, flat.routes[0].paths);
  EXPECT_EQ(nested.routes[0].methods, flat.routes[0].methods);
  // Plugins are compared by name and scope: nesting changes their order, not their meaning.
  auto scope_of = [](const Config& c, std::string_view name) {
    for (const PluginInstance& p : c.plugins) {
      if (p.name == name) return std::make_tuple(p.service, p.route, p.consumer);
    }
    return std::make_tuple(-2, -2, -2);
  };
  for (std::string_view name : {"cors", "key-auth", "rate-limiting"}) {
    EXPECT_EQ(scope_of(nested, name), scope_of(flat, name)) << name;
  }
  EXPECT_EQ(scope_of(flat, "cors"), std::make_tuple(-1, 0, -1));
  EXPECT_EQ(scope_of(flat, "key-auth"), std::make_tuple(0, -1, -1));
  EXPECT_EQ(scope_of(flat, "rate-limiting"), std::make_tuple(-1, -1, 0));
}

TEST(Loader, ModelOrderIsFixed) {
  // Top-level key order does not change entity indices: services, routes (nested first).
  Config c = load_ok(R"(
_format_version: "3.0"
routes:
  - name: flat
    paths: [/f]
    service: s
services:
  - name: s
    host: h
    routes:
      - name: nested
        paths: [/n]
)");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].name, "nested");
  EXPECT_EQ(c.routes[1].name, "flat");
  EXPECT_EQ(c.routes[1].service, 0);
}

}  // namespace
}  // namespace portico::config::testing
