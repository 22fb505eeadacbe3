#include <gtest/gtest.h>

#include "config/snapshot.h"
#include "http/header_map.h"
#include "test_util.h"

namespace portico::config::testing {
namespace {

TEST(Routes, AllFields) {
  Route r = load_route(R"(        paths: ["/api", "~/v[0-9]+/items$"]
        hosts: [API.Example.com, "*.example.org", "example.*", "internal:8080", "[::1]:8000"]
        methods: [GET, POST]
        protocols: [https]
        strip_path: false
        preserve_host: true
        regex_priority: -3
        path_handling: v1
        https_redirect_status_code: 308
        request_buffering: false
        response_buffering: false
        tags: [edge]
        id: 3f0c5b8e-1d2a-4c3b-9e4f-5a6b7c8d9e0f
)");
  EXPECT_EQ(r.paths, (std::vector<std::string>{"/api", "~/v[0-9]+/items$"}));
  EXPECT_EQ(r.hosts, (std::vector<std::string>{"api.example.com", "*.example.org", "example.*",
                                               "internal:8080", "[::1]:8000"}));
  EXPECT_EQ(r.methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(r.protocols, std::vector<std::string>{"https"});
  EXPECT_FALSE(r.strip_path);
  EXPECT_TRUE(r.preserve_host);
  EXPECT_EQ(r.regex_priority, -3);
  EXPECT_EQ(r.path_handling, "v1");
  EXPECT_EQ(r.https_redirect_status_code, 308);
  EXPECT_FALSE(r.request_buffering);
  EXPECT_FALSE(r.response_buffering);
  EXPECT_EQ(r.tags, std::vector<std::string>{"edge"});
  EXPECT_EQ(r.service, 0);
  EXPECT_EQ(r.mark.line, 6u);
}

TEST(Routes, Defaults) {
  Route r = load_route("        paths: [/]\n");
  EXPECT_TRUE(r.strip_path);
  EXPECT_FALSE(r.preserve_host);
  EXPECT_EQ(r.regex_priority, 0);
  EXPECT_EQ(r.path_handling, "v0");
  EXPECT_EQ(r.https_redirect_status_code, 426);
  EXPECT_TRUE(r.request_buffering);
  EXPECT_TRUE(r.response_buffering);
  EXPECT_EQ(r.protocols, (std::vector<std::string>{"http", "https"}));
  EXPECT_TRUE(r.hosts.empty());
}

TEST(Routes, PathMustStartWithSlashOrTilde) {
  EXPECT_EQ(route_errors("        paths: [/ok, api]\n"),
            "kong.yaml:7:22: services[0].routes[0].paths[1]: path \"api\" must start with \"/\" "
            "(prefix) or \"~\" (regex)");
}

TEST(Routes, PathCharacters) {
  EXPECT_EQ(route_errors("        paths: [\"/a%zz\", \"/b c\", \"~\"]\n"),
            "kong.yaml:7:17: services[0].routes[0].paths[0]: path \"/a%zz\" has an invalid "
            "percent-escape at offset 2 (expected %XX with two hex digits)\n"
            "kong.yaml:7:26: services[0].routes[0].paths[1]: path \"/b c\" contains a space, which "
            "must be percent-encoded\n"
            "kong.yaml:7:34: services[0].routes[0].paths[2]: regex path \"~\" must have a pattern "
            "after '~'");
}

TEST(Routes, NeedsAMatcher) {
  EXPECT_EQ(route_errors("        strip_path: true\n"),
            "kong.yaml:6:9: services[0].routes[0]: a route needs at least one of 'paths', 'hosts', "
            "'methods' or 'headers' to match requests");
  EXPECT_EQ(route_errors("        paths: []\n"),
            "kong.yaml:6:9: services[0].routes[0]: a route needs at least one of 'paths', 'hosts', "
            "'methods' or 'headers' to match requests");
  Route by_method = load_route("        methods: [DELETE]\n");
  EXPECT_EQ(by_method.methods, std::vector<std::string>{"DELETE"});
}

TEST(Routes, MethodsAreUpperCaseTokens) {
  EXPECT_EQ(route_errors("        methods: [get, \"PO ST\"]\n"),
            "kong.yaml:7:19: services[0].routes[0].methods[0]: method \"get\" must be upper-case "
            "letters, e.g. GET or POST\n"
            "kong.yaml:7:24: services[0].routes[0].methods[1]: method \"PO ST\" must be upper-case "
            "letters, e.g. GET or POST");
}

TEST(Routes, HostWildcards) {
  std::string errors = route_errors(
      "        hosts: [\"*.*.example.com\", \"api.*.com\", \"*example.com\", \"a..b\", "
      "\"h:70000\", \"fe80::1\"]\n");
  EXPECT_EQ(
      errors,
      "kong.yaml:7:17: services[0].routes[0].hosts[0]: host \"*.*.example.com\" has more than "
      "one wildcard; only one '*' is allowed, at the start (*.example.com) or the end "
      "(example.*)\n"
      "kong.yaml:7:36: services[0].routes[0].hosts[1]: host \"api.*.com\" has a misplaced "
      "wildcard; '*' must be a whole label at the start (*.example.com) or the end "
      "(example.*)\n"
      "kong.yaml:7:49: services[0].routes[0].hosts[2]: host \"*example.com\" has a misplaced "
      "wildcard; '*' must be a whole label at the start (*.example.com) or the end "
      "(example.*)\n"
      "kong.yaml:7:65: services[0].routes[0].hosts[3]: host \"a..b\" is not a valid hostname "
      "(letters, digits, '-' and '_' in dot-separated labels, optionally one wildcard label "
      "and a :port)\n"
      "kong.yaml:7:73: services[0].routes[0].hosts[4]: host \"h:70000\" has an invalid port "
      "(expected host:0..65535)\n"
      "kong.yaml:7:84: services[0].routes[0].hosts[5]: host \"fe80::1\": write IPv6 addresses "
      "in brackets, e.g. [::1]:8000");
}

TEST(Routes, RedirectStatusAndPathHandling) {
  EXPECT_EQ(route_errors("        paths: [/]\n        https_redirect_status_code: 303\n"
                         "        path_handling: v3\n"),
            "kong.yaml:8:37: services[0].routes[0].https_redirect_status_code: status 303 is not "
            "one of: 426, 301, 302, 307, 308\n"
            "kong.yaml:9:24: services[0].routes[0].path_handling: \"v3\" is not one of: v0, v1");
}

TEST(Routes, Protocols) {
  EXPECT_EQ(
      route_errors("        paths: [/]\n        protocols: [http, grpc, gopher]\n"),
      "kong.yaml:8:27: services[0].routes[0].protocols[1]: protocol \"grpc\" is not supported "
      "yet (supported: http, https)\n"
      "kong.yaml:8:33: services[0].routes[0].protocols[2]: unknown protocol \"gopher\"; "
      "expected http or https");
  EXPECT_EQ(route_errors("        paths: [/]\n        protocols: []\n"),
            "kong.yaml:8:20: services[0].routes[0].protocols: protocols must not be empty");
}

TEST(Routes, NotYetSupportedAndUnknownFields) {
  EXPECT_EQ(route_errors("        paths: [/]\n        sources: [{ip: 10.0.0.1}]\n"
                         "        strip: false\n"),
            "kong.yaml:8:9: services[0].routes[0].sources: Kong field 'sources' is not supported "
            "yet\n"
            "kong.yaml:9:9: services[0].routes[0].strip: unknown field 'strip'; expected one of: "
            "name, protocols, paths, hosts, methods, headers, snis, strip_path, "
            "preserve_host, regex_priority, path_handling, https_redirect_status_code, "
            "request_buffering, response_buffering, timeout, retry_policy, id, tags, created_at, "
            "updated_at, plugins");
}

// Kong's route `snis` (traditional_compatible flavour: names, or one wildcard label at either end).
TEST(Routes, Snis) {
  Route r = load_route(
      "        paths: [/]\n"
      "        snis: [API.Example.com, \"*.example.org\", \"example.*\", foo.test.]\n");
  EXPECT_EQ(r.snis, (std::vector<std::string>{"api.example.com", "*.example.org", "example.*",
                                              "foo.test."}));
  // SNI alone is enough to match on (Kong: one of the fields must be set), with https allowed.
  Route only = load_route("        protocols: [https]\n        snis: [a.test]\n");
  EXPECT_EQ(only.snis, std::vector<std::string>{"a.test"});
  EXPECT_TRUE(load_route("        paths: [/]\n").snis.empty());
}

TEST(Routes, SniValues) {
  EXPECT_EQ(
      route_errors(
          "        paths: [/]\n"
          "        snis: [\"1.2.3.4\", \"a.test:443\", \"[::1]\", \"*.*.test\", \"a..b\", \"\"]\n"),
      "kong.yaml:8:16: services[0].routes[0].snis[0]: sni \"1.2.3.4\" must not be an IP "
      "address\n"
      "kong.yaml:8:27: services[0].routes[0].snis[1]: sni \"a.test:443\" must not have a port\n"
      "kong.yaml:8:41: services[0].routes[0].snis[2]: sni \"[::1]\" must not be an IP address\n"
      "kong.yaml:8:50: services[0].routes[0].snis[3]: sni \"*.*.test\" is not a valid server name "
      "(letters, digits, '-' and '_' in dot-separated labels, optionally one wildcard label at "
      "the start (*.example.com) or the end (example.*))\n"
      "kong.yaml:8:62: services[0].routes[0].snis[4]: sni \"a..b\" is not a valid server name "
      "(letters, digits, '-' and '_' in dot-separated labels, optionally one wildcard label at "
      "the start (*.example.com) or the end (example.*))\n"
      "kong.yaml:8:70: services[0].routes[0].snis[5]: sni must not be empty");
}

TEST(Routes, SnisNeedATlsProtocol) {
  // Kong's entity check, with its message; the error points at the snis list.
  EXPECT_EQ(route_errors("        paths: [/]\n        protocols: [http]\n        snis: [a.test]\n"),
            "kong.yaml:9:15: services[0].routes[0].snis: 'snis' can only be set when 'protocols' "
            "is 'grpcs', 'https', 'tls' or 'tls_passthrough'");
  // One TLS protocol among others is enough, as in Kong (the default is http and https).
  EXPECT_EQ(load_route("        protocols: [http, https]\n        snis: [a.test]\n").snis,
            std::vector<std::string>{"a.test"});
}

TEST(Routes, NestedRouteMustNotNameAService) {
  EXPECT_EQ(route_errors("        paths: [/]\n        service: svc\n"),
            "kong.yaml:8:9: services[0].routes[0].service: a route nested under a service must not "
            "have a 'service' field; move the route to the top-level 'routes' list or remove the "
            "field");
}

TEST(Routes, FlatReferences) {
  Config c = load_ok(R"(
_format_version: "3.0"
services:
  - name: a
    host: a
  - name: b
    id: 22222222-2222-4222-8222-222222222222
    host: b
routes:
  - name: by-name
    service: b
    paths: [/1]
  - name: by-id
    service: 22222222-2222-4222-8222-222222222222
    paths: [/2]
  - name: by-name-map
    service: {name: a}
    paths: [/3]
  - name: by-id-map
    service: {id: 22222222-2222-4222-8222-222222222222}
    paths: [/4]
  - name: no-service
    paths: [/5]
)");
  ASSERT_EQ(c.routes.size(), 5u);
  EXPECT_EQ(c.routes[0].service, 1);
  EXPECT_EQ(c.routes[1].service, 1);
  EXPECT_EQ(c.routes[2].service, 0);
  EXPECT_EQ(c.routes[3].service, 1);
  EXPECT_EQ(c.routes[4].service, -1);
}

TEST(Routes, DanglingReferences) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
services:
  - name: a
    host: a
routes:
  - service: ghost
    paths: [/1]
  - service: {name: ghost}
    paths: [/2]
  - service: {id: 33333333-3333-4333-8333-333333333333}
    paths: [/3]
  - service: {name: a, id: 33333333-3333-4333-8333-333333333333}
    paths: [/4]
  - service: {label: a}
    paths: [/5]
  - service: [a]
    paths: [/6]
)"),
            "kong.yaml:6:14: routes[0].service: service \"ghost\" not found: no service has that "
            "name or id\n"
            "kong.yaml:8:21: routes[1].service.name: no service has name \"ghost\"\n"
            "kong.yaml:10:19: routes[2].service.id: no service has id "
            "\"33333333-3333-4333-8333-333333333333\"\n"
            "kong.yaml:12:14: routes[3].service: give either 'id' or 'name', not both\n"
            "kong.yaml:14:14: routes[4].service: a service reference needs 'id' or 'name'\n"
            "kong.yaml:14:15: routes[4].service.label: unknown field 'label'; expected one of: id, "
            "name\n"
            "kong.yaml:16:14: routes[5].service: expected a string, got a list");
}

TEST(Routes, DuplicateNamesAcrossNestedAndFlat) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
services:
  - name: a
    host: a
    routes:
      - name: r
        paths: [/n]
routes:
  - name: r
    service: a
    paths: [/f]
)"),
            "kong.yaml:9:11: routes[0].name: duplicate route name \"r\" (first defined at line 6)");
}

}  // namespace
}  // namespace portico::config::testing

namespace portico::config {
namespace {

// The loaded snis reach the router, and matching honours them: the route with snis (one more
// criterion) wins when the connection's SNI is listed, and never without an SNI.
TEST(SnapshotRouteSnis, CompiledIntoTheRouteTable) {
  filter::Registry reg;
  CompileResult r = build_from_string(testing::text(R"yaml(
_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:9001
    routes:
      - name: any
        paths: [/a]
      - name: tls
        paths: [/a]
        snis: ["*.Example.com"]
)yaml"),
                                      "kong.yaml", reg);
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  const auto& routes = r.snapshot->routes->routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[1]->snis, std::vector<std::string>{"*.example.com"});
  http::HeaderMap h;
  // Plaintext: snis are not tested (Kong), and the extra criterion wins the tie.
  EXPECT_EQ(r.snapshot->routes->match("GET", "h", "/a", h).route->name, "tls");
  EXPECT_EQ(r.snapshot->routes->match("GET", "h", "/a", h, router::kTlsWithoutSni).route->name, "any");
  EXPECT_EQ(r.snapshot->routes->match("GET", "h", "/a", h, "api.example.com").route->name, "tls");
  EXPECT_EQ(r.snapshot->routes->match("GET", "h", "/a", h, "example.org").route->name, "any");
}

}  // namespace
}  // namespace portico::config
