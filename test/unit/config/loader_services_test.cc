#include <gtest/gtest.h>

#include "test_util.h"

namespace portico::config::testing {
namespace {

// One service whose body is `fields` (each line indented by four spaces in the literal).
std::string service_yaml(std::string_view fields) {
  return "_format_version: \"3.0\"\nservices:\n  - name: svc\n" + std::string(fields);
}

Service load_service(std::string_view fields) {
  LoadResult result = load_string(service_yaml(fields), "kong.yaml");
  EXPECT_TRUE(result.ok()) << result.errors.to_string();
  if (!result.ok() || result.config->services.empty()) return {};
  return result.config->services[0];
}

std::string service_errors(std::string_view fields) {
  LoadResult result = load_string(service_yaml(fields), "kong.yaml");
  EXPECT_FALSE(result.ok());
  return result.errors.to_string();
}

TEST(Services, UrlWithPortAndPath) {
  Service s = load_service("    url: http://orders.svc.cluster.local:8080/base\n");
  EXPECT_EQ(s.protocol, "http");
  EXPECT_EQ(s.host, "orders.svc.cluster.local");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.path, "/base");
}

TEST(Services, UrlDefaultPorts) {
  Service http = load_service("    url: http://orders\n");
  EXPECT_EQ(http.port, 80);
  EXPECT_EQ(http.path, "");
  Service https = load_service("    url: HTTPS://orders.example.com/\n");
  EXPECT_EQ(https.protocol, "https");
  EXPECT_EQ(https.port, 443);
  EXPECT_EQ(https.path, "/");
}

TEST(Services, UrlWithIpAddresses) {
  Service v4 = load_service("    url: http://10.1.2.3:9000\n");
  EXPECT_EQ(v4.host, "10.1.2.3");
  EXPECT_EQ(v4.port, 9000);
  Service v6 = load_service("    url: http://[fd00::1]:8080/x\n");
  EXPECT_EQ(v6.host, "fd00::1");
  EXPECT_EQ(v6.port, 8080);
  EXPECT_EQ(v6.path, "/x");
}

TEST(Services, BadUrls) {
  EXPECT_EQ(service_errors("    url: orders.internal\n"),
            "kong.yaml:4:10: services[0].url: url \"orders.internal\" must look like "
            "scheme://host[:port][/path], e.g. http://orders.internal:8080/api");
  EXPECT_EQ(service_errors("    url: http://user:pw@orders\n"),
            "kong.yaml:4:10: services[0].url: url \"http://user:pw@orders\" must not contain "
            "credentials (user@host)");
  EXPECT_EQ(service_errors("    url: http://orders/a?x=1\n"),
            "kong.yaml:4:10: services[0].url: url \"http://orders/a?x=1\" must not contain a query "
            "or fragment");
  EXPECT_EQ(service_errors("    url: http://orders:99999\n"),
            "kong.yaml:4:10: services[0].url: url \"http://orders:99999\" has an invalid port "
            "\"99999\" (expected 0..65535)");
  EXPECT_EQ(service_errors("    url: http://:80/x\n"),
            "kong.yaml:4:10: services[0].url: url \"http://:80/x\" has no host");
  EXPECT_EQ(
      service_errors("    url: http://bad_host!/\n"),
      "kong.yaml:4:10: services[0].url: url \"http://bad_host!/\": host \"bad_host!\" is not a "
      "valid hostname (letters, digits, '-' and '_' in dot-separated labels of 1 to 63 "
      "characters)");
  EXPECT_EQ(service_errors("    url: grpc://orders:50051\n"),
            "kong.yaml:4:10: services[0].url: protocol \"grpc\" is not supported yet (supported: "
            "http, https)");
  EXPECT_EQ(service_errors("    url: ftp://orders\n"),
            "kong.yaml:4:10: services[0].url: unknown protocol \"ftp\"; expected http or https");
}

TEST(Services, UrlCannotBeCombinedWithItsParts) {
  EXPECT_EQ(service_errors("    url: http://a\n    host: b\n    port: 81\n"),
            "kong.yaml:5:11: services[0].host: 'host' cannot be combined with 'url', which already "
            "sets protocol, host, port and path\n"
            "kong.yaml:6:11: services[0].port: 'port' cannot be combined with 'url', which already "
            "sets protocol, host, port and path");
}

TEST(Services, ExplicitFields) {
  Service s = load_service(R"(    protocol: https
    host: api.example.com
    port: 8443
    path: /v2
    retries: 0
    connect_timeout: 1000
    write_timeout: 2000
    read_timeout: 2147483646
    enabled: false
    tags: [a, b]
    id: 0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9
)");
  EXPECT_EQ(s.protocol, "https");
  EXPECT_EQ(s.host, "api.example.com");
  EXPECT_EQ(s.port, 8443);
  EXPECT_EQ(s.path, "/v2");
  EXPECT_EQ(s.retries, 0);
  EXPECT_EQ(s.connect_timeout, 1000u);
  EXPECT_EQ(s.write_timeout, 2000u);
  EXPECT_EQ(s.read_timeout, 2147483646u);
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.id, "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9");
}

TEST(Services, Defaults) {
  Service s = load_service("    host: h\n");
  EXPECT_EQ(s.protocol, "http");
  EXPECT_EQ(s.port, 80);
  EXPECT_EQ(s.retries, 5);
  EXPECT_EQ(s.connect_timeout, 60000u);
  EXPECT_EQ(s.write_timeout, 60000u);
  EXPECT_EQ(s.read_timeout, 60000u);
  EXPECT_TRUE(s.enabled);
  EXPECT_TRUE(s.id.empty());
  Service https = load_service("    host: h\n    protocol: https\n");
  EXPECT_EQ(https.port, 443);
}

TEST(Services, HostIsRequiredWithoutUrl) {
  EXPECT_EQ(service_errors("    port: 80\n"),
            "kong.yaml:3:5: services[0]: missing required field 'host'");
}

TEST(Services, HostValidation) {
  EXPECT_EQ(service_errors("    host: orders:8080\n"),
            "kong.yaml:4:11: services[0].host: host \"orders:8080\" must not contain a port; set "
            "'port' instead");
  EXPECT_EQ(service_errors("    host: 300.1.1.1\n"),
            "kong.yaml:4:11: services[0].host: host \"300.1.1.1\" is not a valid IPv4 address");
  Service v6 = load_service("    host: \"::1\"\n");
  EXPECT_EQ(v6.host, "::1");
}

TEST(Services, Ranges) {
  EXPECT_EQ(service_errors("    host: h\n    connect_timeout: 0\n    retries: 40000\n"),
            "kong.yaml:5:22: services[0].connect_timeout: value 0 is out of range (1..2147483646)\n"
            "kong.yaml:6:14: services[0].retries: value 40000 is out of range (0..32767)");
  EXPECT_EQ(service_errors("    host: h\n    read_timeout: 2147483647\n"),
            "kong.yaml:5:19: services[0].read_timeout: value 2147483647 is out of range "
            "(1..2147483646)");
}

TEST(Services, WrongTypes) {
  EXPECT_EQ(service_errors("    host: h\n    port: eighty\n    enabled: no\n    tags: prod\n"),
            "kong.yaml:5:11: services[0].port: expected an integer, got a string (\"eighty\")\n"
            "kong.yaml:6:14: services[0].enabled: expected a boolean (true or false), got a string "
            "(\"no\"); YAML 1.1 words such as yes/no/on/off are not accepted\n"
            "kong.yaml:7:11: services[0].tags: expected a list of strings, got a string "
            "(\"prod\"); write it as a list: [prod]");
}

TEST(Services, PathMustStartWithSlash) {
  EXPECT_EQ(service_errors("    host: h\n    path: api\n"),
            "kong.yaml:5:11: services[0].path: path \"api\" must start with \"/\"");
  EXPECT_EQ(service_errors("    host: h\n    path: \"/a b\"\n"),
            "kong.yaml:5:11: services[0].path: path \"/a b\" contains a space, which must be "
            "percent-encoded");
}

TEST(Services, UnknownAndNotYetSupportedFields) {
  EXPECT_EQ(service_errors("    host: h\n    tls_verify: true\n    hots: x\n"),
            "kong.yaml:5:17: services[0].tls_verify: 'tls_verify' can only be set when protocol is "
            "'https' (it is 'http')\n"
            "kong.yaml:6:5: services[0].hots: unknown field 'hots' (did you mean 'host'?); "
            "expected one of: name, url, protocol, host, port, path, retries, connect_timeout, "
            "write_timeout, read_timeout, enabled, circuit_breakers, tls_verify, tls_verify_depth, "
            "ca_certificates, client_certificate, id, tags, created_at, updated_at, plugins, routes");
}

TEST(Services, KongTimestampsAreAccepted) {
  Service s = load_service("    host: h\n    created_at: 1700000000\n    updated_at: 1700000001\n");
  EXPECT_EQ(s.host, "h");
}

TEST(Services, NamesAndIds) {
  EXPECT_EQ(
      load_errors(R"(
_format_version: "3.0"
services:
  - name: "orders api"
    host: h
  - name: b
    host: h
    id: not-a-uuid
)"),
      "kong.yaml:3:11: services[0].name: name \"orders api\" contains a space; names may only "
      "contain letters, digits, '.', '-', '_' and '~'\n"
      "kong.yaml:7:9: services[1].id: id \"not-a-uuid\" is not a UUID (expected 8-4-4-4-12 "
      "hex digits, e.g. a1b2c3d4-0000-4000-8000-000000000001)");
}

TEST(Services, DuplicateNamesAndIds) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
services:
  - name: orders
    id: 11111111-1111-4111-8111-111111111111
    host: a
  - name: billing
    host: b
  - name: orders
    id: 11111111-1111-4111-8111-111111111111
    host: c
)"),
            "kong.yaml:8:11: services[2].name: duplicate service name \"orders\" (first defined at "
            "line 3)\n"
            "kong.yaml:9:9: services[2].id: duplicate service id "
            "\"11111111-1111-4111-8111-111111111111\" (first defined at line 4)");
}

TEST(Services, ListItemMustBeAMap) {
  EXPECT_EQ(load_errors("_format_version: \"3.0\"\nservices:\n  - orders\n"),
            "kong.yaml:3:5: services[0]: expected a map, got a string (\"orders\")");
}

}  // namespace
}  // namespace portico::config::testing
