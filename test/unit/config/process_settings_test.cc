#include <gtest/gtest.h>

#include "harness/test_pki.h"
#include "test_util.h"

namespace portico::config::testing {
namespace {

// Lines: 1 _format_version, 2 portico:, 3+ `body` (two-space indentation).
std::string portico_yaml(std::string_view body) {
  return "_format_version: \"3.0\"\nportico:\n" + std::string(body);
}

std::string portico_errors(std::string_view body) {
  LoadResult result = load_string(portico_yaml(body), "kong.yaml");
  EXPECT_FALSE(result.ok());
  return result.errors.to_string();
}

TEST(ProcessSettings, DefaultsWhenAbsent) {
  Config c = load_ok("_format_version: \"3.0\"\n");
  const ProcessSettings& p = c.portico;
  ASSERT_EQ(p.listen.size(), 1u);
  EXPECT_EQ(p.listen[0], (Listen{"0.0.0.0", 8000}));
  ASSERT_TRUE(p.admin_listen);
  EXPECT_EQ(*p.admin_listen, (Listen{"127.0.0.1", 8001}));
  EXPECT_EQ(p.workers, 0);
  EXPECT_EQ(p.log_level, "info");
  EXPECT_EQ(p.access_log, "off");
  EXPECT_EQ(p.max_header_bytes, 65536u);
  EXPECT_EQ(p.max_headers, 100u);
  EXPECT_EQ(p.max_uri_bytes, 8192u);
  EXPECT_EQ(p.max_body_bytes, 0u);
  EXPECT_EQ(p.max_connections, 0u);
  EXPECT_EQ(p.max_concurrent_requests, 0u);
  EXPECT_EQ(p.drain_timeout_ms, 10000u);
  EXPECT_EQ(p.client_header_timeout_ms, 60000u);
  EXPECT_EQ(p.client_body_timeout_ms, 60000u);
  EXPECT_EQ(p.keepalive_timeout_ms, 60000u);
  EXPECT_EQ(p.upstream_keepalive_pool_size, 512u);
  EXPECT_EQ(p.upstream_keepalive_max_requests, 10000u);
  EXPECT_EQ(p.upstream_keepalive_idle_timeout_ms, 60000u);
}

TEST(ProcessSettings, FullBlock) {
  LoadResult result =
      load_string(portico_yaml(R"(  listen: ["0.0.0.0:8000", "[::]:8000", "127.0.0.1:0"]
  admin_listen: "[::1]:9001"
  workers: 4
  log_level: debug
  access_log: /var/log/portico/access.log
  limits:
    max_header_bytes: 32768
    max_headers: 64
    max_uri_bytes: 4096
    max_body_bytes: 10485760
    max_connections: 16384
    max_concurrent_requests: 4096
  timeouts:
    client_header: 5000
    client_body: 15000
    keepalive: 75000
    drain: 30000
  upstream_keepalive:
    pool_size: 64
    max_requests: 0
    idle_timeout: 0
)"),
                  "kong.yaml");
  ASSERT_TRUE(result.ok()) << result.errors.to_string();
  const ProcessSettings& p = result.config->portico;
  ASSERT_EQ(p.listen.size(), 3u);
  EXPECT_EQ(p.listen[0], (Listen{"0.0.0.0", 8000}));
  EXPECT_EQ(p.listen[1], (Listen{"::", 8000}));
  EXPECT_EQ(p.listen[2], (Listen{"127.0.0.1", 0}));
  EXPECT_EQ(*p.admin_listen, (Listen{"::1", 9001}));
  EXPECT_EQ(p.workers, 4);
  EXPECT_EQ(p.log_level, "debug");
  EXPECT_EQ(p.access_log, "/var/log/portico/access.log");
  EXPECT_EQ(p.max_header_bytes, 32768u);
  EXPECT_EQ(p.max_headers, 64u);
  EXPECT_EQ(p.max_uri_bytes, 4096u);
  EXPECT_EQ(p.max_body_bytes, 10485760u);
  EXPECT_EQ(p.max_connections, 16384u);
  EXPECT_EQ(p.max_concurrent_requests, 4096u);
  EXPECT_EQ(p.client_header_timeout_ms, 5000u);
  EXPECT_EQ(p.client_body_timeout_ms, 15000u);
  EXPECT_EQ(p.keepalive_timeout_ms, 75000u);
  EXPECT_EQ(p.drain_timeout_ms, 30000u);
  EXPECT_EQ(p.upstream_keepalive_pool_size, 64u);
  EXPECT_EQ(p.upstream_keepalive_max_requests, 0u);
  EXPECT_EQ(p.upstream_keepalive_idle_timeout_ms, 0u);
}

TEST(ProcessSettings, AdminListenOff) {
  LoadResult result =
      load_string(portico_yaml("  admin_listen: off\n  access_log: stderr\n"), "kong.yaml");
  ASSERT_TRUE(result.ok()) << result.errors.to_string();
  EXPECT_FALSE(result.config->portico.admin_listen);
  EXPECT_EQ(result.config->portico.access_log, "stderr");
}

TEST(ProcessSettings, BadListenAddresses) {
  EXPECT_EQ(
      portico_errors("  listen: [\"8000\", \"localhost:8000\", \"0.0.0.0:65536\", \"::1:80\", "
                     "\"0.0.0.0:8443 http2\"]\n"),
      "kong.yaml:3:12: portico.listen[0]: listen address \"8000\" must be IP:port, e.g. "
      "0.0.0.0:8000 or [::1]:8000\n"
      "kong.yaml:3:20: portico.listen[1]: listen address \"localhost:8000\": \"localhost\" is "
      "not an IPv4 address (hostnames are not accepted; use 0.0.0.0 or 127.0.0.1)\n"
      "kong.yaml:3:38: portico.listen[2]: listen address \"0.0.0.0:65536\" has an invalid port "
      "\"65536\" (expected 0..65535)\n"
      "kong.yaml:3:55: portico.listen[3]: listen address \"::1:80\": write IPv6 addresses in "
      "brackets, e.g. [::]:8000\n"
      "kong.yaml:3:65: portico.listen[4]: listen address \"0.0.0.0:8443 http2\": option \"http2\" "
      "is not supported (supported: ssl; http2, reuseport, proxy_protocol and the others are not yet)");
}

TEST(ProcessSettings, ListenSslFlag) {
  // A TLS listener needs a certificate to serve.
  EXPECT_EQ(portico_errors("  listen: [\"0.0.0.0:8000\", \"0.0.0.0:8443 ssl\"]\n"),
            "kong.yaml:3:28: portico.listen[1]: a TLS listener needs a certificate to serve: a certificate "
            "with snis, or one without (the default certificate; see certificates)");
  const integration::Pem ca = integration::make_ca("Listen CA");
  const integration::Pem leaf = integration::make_leaf(ca, "leaf", {"example.com"}, {});
  LoadResult result = load_string(
      portico_yaml("  listen: [\"0.0.0.0:8000\", \"0.0.0.0:8443 ssl\", \"[::]:8443  ssl\"]\n") +
          "certificates:\n  - {cert: " + integration::yaml_quoted(leaf.cert) + ", key: " +
          integration::yaml_quoted(leaf.key) + "}\n",
      "kong.yaml");
  ASSERT_TRUE(result.ok()) << result.errors.to_string();
  const auto& l = result.config->portico.listen;
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0], (Listen{"0.0.0.0", 8000, false}));
  EXPECT_EQ(l[1], (Listen{"0.0.0.0", 8443, true}));
  EXPECT_EQ(l[2], (Listen{"::", 8443, true}));
  EXPECT_EQ(portico_errors("  listen: [\"0.0.0.0:8443 ssl ssl\"]\n"),
            "kong.yaml:3:12: portico.listen[0]: listen address \"0.0.0.0:8443 ssl ssl\": `ssl` is given twice");
  // One port cannot be both plaintext and TLS.
  EXPECT_EQ(portico_errors("  listen: [\"0.0.0.0:8443\", \"0.0.0.0:8443 ssl\"]\n"),
            "kong.yaml:3:28: portico.listen[1]: listen address \"0.0.0.0:8443 ssl\" is given twice");
  EXPECT_EQ(portico_errors("  admin_listen: \"127.0.0.1:8444 ssl\"\n"),
            "kong.yaml:3:17: portico.admin_listen: admin_listen \"127.0.0.1:8444 ssl\": the admin API "
            "does not serve TLS; keep it on a loopback address");
}

TEST(ProcessSettings, ListenListRules) {
  EXPECT_EQ(portico_errors("  listen: []\n"),
            "kong.yaml:3:11: portico.listen: listen must name at least one address, e.g. "
            "[\"0.0.0.0:8000\"]");
  EXPECT_EQ(portico_errors("  listen: \"0.0.0.0:8000\"\n"),
            "kong.yaml:3:11: portico.listen: expected a list of strings, got a string "
            "(\"0.0.0.0:8000\"); write it as a list: [0.0.0.0:8000]");
  EXPECT_EQ(portico_errors("  listen: [\"0.0.0.0:8000\", \"0.0.0.0:8000\"]\n"),
            "kong.yaml:3:28: portico.listen[1]: listen address \"0.0.0.0:8000\" is given twice");
  EXPECT_EQ(portico_errors("  admin_listen: 8001\n"),
            "kong.yaml:3:17: portico.admin_listen: listen address \"8001\" must be IP:port, e.g. "
            "0.0.0.0:8000 or [::1]:8000 (or `off` to disable the admin API)");
}

TEST(ProcessSettings, RangesAndEnums) {
  EXPECT_EQ(
      portico_errors(R"(  workers: -1
  log_level: verbose
  limits:
    max_headers: 0
  timeouts:
    client_header: 0
  upstream_keepalive:
    pool_size: 2000000
)"),
      "kong.yaml:3:12: portico.workers: value -1 is out of range (0..1024)\n"
      "kong.yaml:4:14: portico.log_level: \"verbose\" is not one of: debug, info, warn, error\n"
      "kong.yaml:6:18: portico.limits.max_headers: value 0 is out of range (1..10000)\n"
      "kong.yaml:8:20: portico.timeouts.client_header: value 0 is out of range "
      "(1..2147483646)\n"
      "kong.yaml:10:16: portico.upstream_keepalive.pool_size: value 2000000 is out of range "
      "(0..1000000)");
}

TEST(ProcessSettings, OverloadLimits) {
  LoadResult zero = load_string(portico_yaml("  limits: {max_connections: 0, max_concurrent_requests: 0}\n"),
                                "kong.yaml");
  ASSERT_TRUE(zero.ok()) << zero.errors.to_string();
  EXPECT_EQ(zero.config->portico.max_connections, 0u);
  EXPECT_EQ(zero.config->portico.max_concurrent_requests, 0u);
  LoadResult top = load_string(
      portico_yaml("  limits: {max_connections: 1048576, max_concurrent_requests: 1048576}\n"), "kong.yaml");
  ASSERT_TRUE(top.ok()) << top.errors.to_string();
  EXPECT_EQ(top.config->portico.max_connections, 1048576u);
  EXPECT_EQ(top.config->portico.max_concurrent_requests, 1048576u);
  EXPECT_EQ(portico_errors(R"(  limits:
    max_connections: 1048577
    max_concurrent_requests: -1
)"),
            "kong.yaml:4:22: portico.limits.max_connections: value 1048577 is out of range (0..1048576)\n"
            "kong.yaml:5:30: portico.limits.max_concurrent_requests: value -1 is out of range (0..1048576)");
  EXPECT_EQ(portico_errors("  limits: {max_connections: \"many\"}\n"),
            "kong.yaml:3:29: portico.limits.max_connections: expected an integer, got a string "
            "(\"many\")");
}

TEST(ProcessSettings, DnsBlock) {
  Config defaults = load_ok("_format_version: \"3.0\"\n");
  EXPECT_TRUE(defaults.portico.dns.resolvers.empty());
  EXPECT_EQ(defaults.portico.dns.hosts_file, "/etc/hosts");
  EXPECT_EQ(defaults.portico.dns.timeout_ms, 2000u);
  EXPECT_EQ(defaults.portico.dns.attempts, 2u);
  EXPECT_EQ(defaults.portico.dns.not_found_ttl, 30u);
  EXPECT_EQ(defaults.portico.dns.family, "v4_preferred");

  Config c = load_ok(portico_yaml(R"(  dns:
    resolvers: ["10.0.0.2", "10.0.0.3:5353", "fd00::53", "[fd00::54]:5300"]
    hosts_file: ""
    timeout: 750
    attempts: 3
    min_ttl: 5
    max_ttl: 60
    not_found_ttl: 2
    family: v6_only
)"));
  const DnsSettings& d = c.portico.dns;
  ASSERT_EQ(d.resolvers.size(), 4u);
  EXPECT_EQ(d.resolvers[0], (Listen{"10.0.0.2", 53}));
  EXPECT_EQ(d.resolvers[1], (Listen{"10.0.0.3", 5353}));
  EXPECT_EQ(d.resolvers[2], (Listen{"fd00::53", 53}));
  EXPECT_EQ(d.resolvers[3], (Listen{"fd00::54", 5300}));
  EXPECT_EQ(d.hosts_file, "");
  EXPECT_EQ(d.timeout_ms, 750u);
  EXPECT_EQ(d.attempts, 3u);
  EXPECT_EQ(d.min_ttl, 5u);
  EXPECT_EQ(d.max_ttl, 60u);
  EXPECT_EQ(d.not_found_ttl, 2u);
  EXPECT_EQ(d.family, "v6_only");
}

TEST(ProcessSettings, DnsBlockErrors) {
  std::string e = portico_errors(R"(  dns:
    resolvers: ["dns.google", "10.0.0.1:0"]
    timeout: 0
    family: ipv4
    min_ttl: 100
    max_ttl: 10
    retries: 3
)");
  EXPECT_NE(e.find("kong.yaml:4:17: portico.dns.resolvers[0]: resolver \"dns.google\" must be an IP address"),
            std::string::npos) << e;
  EXPECT_NE(e.find("kong.yaml:4:31: portico.dns.resolvers[1]: resolver \"10.0.0.1:0\""), std::string::npos) << e;
  EXPECT_NE(e.find("kong.yaml:5:14: portico.dns.timeout:"), std::string::npos) << e;
  EXPECT_NE(e.find("kong.yaml:6:13: portico.dns.family:"), std::string::npos) << e;
  EXPECT_NE(e.find("portico.dns.min_ttl: min_ttl (100) must not exceed max_ttl (10)"), std::string::npos) << e;
  EXPECT_NE(e.find("kong.yaml:9:5: portico.dns.retries: unknown field 'retries'"), std::string::npos) << e;
}

TEST(ProcessSettings, UnknownKeysAtEachLevel) {
  EXPECT_EQ(portico_errors(R"(  wrokers: 2
  limits:
    max_body: 10
  timeouts:
    read: 5
  upstream_keepalive: [1]
)"),
            "kong.yaml:3:3: portico.wrokers: unknown field 'wrokers' (did you mean 'workers'?); "
            "expected one of: listen, admin_listen, workers, log_level, access_log, "
            "access_log_fields, headers, limits, timeouts, upstream_keepalive, dns\n"
            "kong.yaml:5:5: portico.limits.max_body: unknown field 'max_body'; expected one of: "
            "max_header_bytes, max_headers, max_uri_bytes, max_body_bytes, max_connections, "
            "max_concurrent_requests\n"
            "kong.yaml:7:5: portico.timeouts.read: unknown field 'read'; expected one of: "
            "client_header, client_body, keepalive, drain\n"
            "kong.yaml:8:23: portico.upstream_keepalive: expected a map, got a list");
  EXPECT_EQ(portico_errors("  - listen\n"), "kong.yaml:3:3: portico: expected a map, got a list");
}

}  // namespace
}  // namespace portico::config::testing
