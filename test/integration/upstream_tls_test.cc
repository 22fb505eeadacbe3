// TLS to upstreams through the real gateway: an https service verified against a
// `ca_certificates` entity, one TLS connection carrying many requests, the server name sent
// (the Host sent upstream, none for an IP), verification failures (502 with a JSON body, a counted
// connect failure, the OpenSSL reason in the log; the next good request still works),
// `tls_verify: false`, upstream mutual TLS with `client_certificate`, https active health probes,
// and load errors for bad PEMs and unknown ids. Every certificate is made at run time.

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <atomic>
#include <memory>
#include <string>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/test_pki.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

constexpr const char* kCaId = "8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b10";
constexpr const char* kOtherCaId = "0d3e6a1b-2c4f-4e8a-b1d2-7a9c5e3f8b21";
constexpr const char* kClientCertId = "4a7b2c9d-1e3f-4a5b-8c6d-9e0f1a2b3c4d";

struct Pki {
  Pki() {
    ca = make_ca("Portico Test CA");
    other_ca = make_ca("Some Other CA");
    server = make_localhost_server(ca);
    other_server = make_localhost_server(other_ca);
    client = make_leaf(ca, "portico-client", {}, {}, true);
  }
  Pem ca, other_ca, server, other_server, client;
};

const Pki& pki() {
  static const Pki p;
  return p;
}

// The top-level certificate entities every scenario may reference.
std::string certificate_entities() {
  return render(R"(
ca_certificates:
  - {id: {{CA_ID}}, cert: {{CA}}}
  - {id: {{OTHER_ID}}, cert: {{OTHER}}}
certificates:
  - {id: {{CLIENT_ID}}, cert: {{CLIENT_CERT}}, key: {{CLIENT_KEY}}}
)",
                {{"CA_ID", kCaId},
                 {"CA", yaml_quoted(pki().ca.cert)},
                 {"OTHER_ID", kOtherCaId},
                 {"OTHER", yaml_quoted(pki().other_ca.cert)},
                 {"CLIENT_ID", kClientCertId},
                 {"CLIENT_CERT", yaml_quoted(pki().client.cert)},
                 {"CLIENT_KEY", yaml_quoted(pki().client.key)}});
}

GatewayOptions one_worker() {
  GatewayOptions o;
  o.extra_args = {"--workers", "1"};
  return o;
}

Response get(Gateway& gw, const std::string& path) { return fetch(gw.port(), http_request("GET", path)); }

TEST(UpstreamTlsTest, VerifiedHttpsServiceReusesOneConnectionAndSendsTheHostAsSni) {
  Upstream up(UpstreamTls{pki().server.cert, pki().server.key});
  up.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.body = r.method + " " + r.target + " " + std::to_string(r.body.size);
    return resp;
  });
  // The upstream's host_header is the Host sent upstream, hence the server name sent and verified.
  Gateway gw(config_prelude() + certificate_entities() + render(R"(
upstreams:
  - name: backend
    host_header: localhost
    targets: [{target: "127.0.0.1:{{PORT}}"}]
services:
  - name: s
    url: https://backend
    ca_certificates: [{{CA_ID}}]
    routes: [{name: r, paths: [/]}]
)",
                                                                           {{"PORT", std::to_string(up.port())},
                                                                            {"CA_ID", kCaId}}),
             one_worker());
  for (int i = 0; i < 6; ++i) {
    // POSTs are not replayable, so the pool checks the idle TLS connection (session tickets
    // waiting on it) before each of them.
    Response r = i % 2 == 0 ? get(gw, "/get/" + std::to_string(i))
                            : fetch(gw.port(), http_request("POST", "/post", {}, std::string(70000, 'x')));
    ASSERT_EQ(r.status, 200) << r.describe() << "\n" << gw.logs();
    EXPECT_EQ(r.text(), i % 2 == 0 ? "GET /get/" + std::to_string(i) + " 0" : "POST /post 70000");
  }
  // A large response crosses many TLS records.
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.generated_body_size = 3 * 1024 * 1024 + 11;
    return resp;
  });
  Response big = get(gw, "/big");
  ASSERT_EQ(big.status, 200) << big.describe();
  EXPECT_EQ(big.body.size, 3u * 1024 * 1024 + 11);
  EXPECT_EQ(big.body.hash, pattern_hash(3 * 1024 * 1024 + 11));

  EXPECT_EQ(up.connections_accepted(), 1u) << "keep-alive over TLS: one connection for every request";
  auto requests = up.requests();
  ASSERT_EQ(requests.size(), 7u);
  for (const auto& r : requests) {
    EXPECT_TRUE(r.tls);
    EXPECT_EQ(r.tls_sni, "localhost");
    EXPECT_EQ(r.header("Host"), "localhost");
  }
}

// With preserve_host the server name follows the client's Host; connections are pooled per
// server name, so each name keeps its own TLS connection.
TEST(UpstreamTlsTest, EachServerNameGetsItsOwnPooledConnection) {
  const Pem server = make_leaf(pki().ca, "localhost", {"localhost", "api.localhost"}, {"127.0.0.1"});
  Upstream up(UpstreamTls{server.cert, server.key});
  Gateway gw(config_prelude() + certificate_entities() + render(R"(
services:
  - name: s
    url: https://127.0.0.1:{{PORT}}
    ca_certificates: [{{CA_ID}}]
    routes: [{name: r, paths: [/], preserve_host: true}]
)",
                                                                           {{"PORT", std::to_string(up.port())},
                                                                            {"CA_ID", kCaId}}),
             one_worker());
  for (int i = 0; i < 6; ++i) {
    const std::string host = i % 2 == 0 ? "localhost" : "api.localhost";
    Response r = fetch(gw.port(), http_request("GET", "/", {{"Host", host + ":" + std::to_string(gw.port())}}));
    ASSERT_EQ(r.status, 200) << r.describe() << "\n" << gw.logs();
  }
  EXPECT_EQ(up.connections_accepted(), 2u);
  for (const auto& r : up.requests()) {
    const std::string host = r.header("Host").value_or("");
    EXPECT_EQ(r.tls_sni + ":" + std::to_string(gw.port()), host);
  }
}

TEST(UpstreamTlsTest, AnIpLiteralIsVerifiedAgainstIpSansAndSendsNoSni) {
  Upstream up(UpstreamTls{pki().server.cert, pki().server.key});
  Gateway gw(config_prelude() + certificate_entities() + render(R"(
services:
  - name: s
    url: https://127.0.0.1:{{PORT}}
    ca_certificates: [{{CA_ID}}]
    routes: [{name: r, paths: [/]}]
)",
                                                                           {{"PORT", std::to_string(up.port())},
                                                                            {"CA_ID", kCaId}}));
  Response r = get(gw, "/");
  ASSERT_EQ(r.status, 200) << r.describe() << "\n" << gw.logs();
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_EQ(up.requests()[0].tls_sni, "");
}

TEST(UpstreamTlsTest, WrongCaIsA502WithAReasonAndTheNextGoodRequestWorks) {
  Upstream up(UpstreamTls{pki().server.cert, pki().server.key});
  Gateway gw(config_prelude() + certificate_entities() + render(R"(
upstreams:
  - name: backend
    host_header: localhost
    targets: [{target: "127.0.0.1:{{PORT}}"}]
services:
  - name: wrong
    url: https://backend
    retries: 0
    ca_certificates: [{{OTHER_ID}}]
    routes: [{name: wrong, paths: [/wrong]}]
  - name: good
    url: https://backend
    ca_certificates: [{{CA_ID}}]
    routes: [{name: good, paths: [/good]}]
  - name: unverified
    url: https://backend
    tls_verify: false
    routes: [{name: unverified, paths: [/unverified]}]
  - name: system-store
    url: https://backend
    retries: 0
    routes: [{name: system-store, paths: [/system]}]
)",
                                                                           {{"PORT", std::to_string(up.port())},
                                                                            {"CA_ID", kCaId},
                                                                            {"OTHER_ID", kOtherCaId}}));
  const uint64_t failures_before = status_counter(gw, "upstream_connect_failures");
  Response bad = get(gw, "/wrong");
  EXPECT_EQ(bad.status, 502) << bad.describe();
  auto doc = parse_json(bad.text());
  ASSERT_TRUE(doc && doc->is_object()) << bad.text();
  EXPECT_TRUE(json_string(*doc, "message").has_value()) << bad.text();
  EXPECT_EQ(status_counter(gw, "upstream_connect_failures"), failures_before + 1);
  EXPECT_TRUE(eventually([&] {
    return gw.logs().find("certificate verify failed: unable to get local issuer certificate") != std::string::npos;
  })) << gw.logs();
  EXPECT_EQ(up.request_count(), 0u) << "no request may reach an unverified upstream";

  Response good = get(gw, "/good");
  EXPECT_EQ(good.status, 200) << good.describe();
  // Verification off accepts a certificate nobody trusts; on (the default) with no
  // ca_certificates, the system store does not know the test CA.
  Response unverified = get(gw, "/unverified");
  EXPECT_EQ(unverified.status, 200) << unverified.describe();
  Response system = get(gw, "/system");
  EXPECT_EQ(system.status, 502) << system.describe();
  EXPECT_EQ(up.request_count(), 2u);
}

TEST(UpstreamTlsTest, UpstreamMutualTlsWithAClientCertificate) {
  UpstreamTls tls{pki().server.cert, pki().server.key, pki().ca.cert, true};
  Upstream up(tls);
  Gateway gw(config_prelude() + certificate_entities() + render(R"(
upstreams:
  - name: backend
    host_header: localhost
    targets: [{target: "127.0.0.1:{{PORT}}"}]
services:
  - name: with-cert
    url: https://backend
    ca_certificates: [{{CA_ID}}]
    client_certificate: {id: {{CLIENT_ID}}}
    routes: [{name: with, paths: [/with]}]
  - name: without-cert
    url: https://backend
    retries: 0
    ca_certificates: [{{CA_ID}}]
    routes: [{name: without, paths: [/without]}]
)",
                                                                           {{"PORT", std::to_string(up.port())},
                                                                            {"CA_ID", kCaId},
                                                                            {"CLIENT_ID", kClientCertId}}));
  Response with = get(gw, "/with");
  ASSERT_EQ(with.status, 200) << with.describe() << "\n" << gw.logs();
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_NE(up.requests()[0].tls_client_subject.find("portico-client"), std::string::npos)
      << up.requests()[0].tls_client_subject;

  Response without = get(gw, "/without");
  EXPECT_EQ(without.status, 502) << without.describe();
  EXPECT_EQ(up.request_count(), 1u);
  // The upstream's thread records its failed handshake just after the gateway has given up.
  eventually([&] { return up.tls_handshake_failures() >= 1u; });
  EXPECT_GE(up.tls_handshake_failures(), 1u);
}

// Active https probes: a target whose certificate verifies and whose /health answers 200 is
// healthy; one whose certificate does not verify fails its handshake (a TCP failure, as in Kong).
TEST(UpstreamTlsTest, HttpsHealthProbesMarkTargetsHealthyAndUnhealthy) {
  std::atomic<int> health_status{200};
  Upstream good(UpstreamTls{pki().server.cert, pki().server.key});
  Upstream untrusted(UpstreamTls{pki().other_server.cert, pki().other_server.key});
  for (Upstream* u : {&good, &untrusted}) {
    u->set_handler([&health_status](const RecordedRequest& r) {
      UpstreamResponse resp;
      resp.status = r.target == "/health" ? health_status.load() : 200;
      resp.body = "ok";
      return resp;
    });
  }
  const std::string good_key = "127.0.0.1:" + std::to_string(good.port());
  const std::string untrusted_key = "127.0.0.1:" + std::to_string(untrusted.port());
  Gateway gw(config_prelude() + certificate_entities() + render(R"(
upstreams:
  - name: u
    healthchecks:
      active:
        type: https
        https_sni: localhost
        http_path: /health
        timeout: 1
        healthy: {interval: 0.1, successes: 1}
        unhealthy: {interval: 0.1, http_failures: 2, tcp_failures: 2}
    targets:
      - target: "{{GOOD}}"
      - target: "{{UNTRUSTED}}"
services:
  - name: s
    url: https://u
    ca_certificates: [{{CA_ID}}]
    routes: [{name: r, paths: [/]}]
)",
                                                                           {{"GOOD", good_key},
                                                                            {"UNTRUSTED", untrusted_key},
                                                                            {"CA_ID", kCaId}}));
  auto health_of = [&](const std::string& address) -> std::string {
    Response r = fetch(gw.admin_port(), http_request("GET", "/upstreams/u/health"));
    auto v = parse_json(r.text());
    if (r.status != 200 || !v || !v->is_object()) return "";
    for (const auto& t : v->as_object().at("data").as_array()) {
      if (json_string(t, "address") == address) return json_string(t, "health").value_or("");
    }
    return "";
  };
  EXPECT_TRUE(eventually([&] { return health_of(untrusted_key) == "UNHEALTHY"; })) << gw.logs();
  EXPECT_EQ(health_of(good_key), "HEALTHY");
  ASSERT_TRUE(good.wait_for_requests(1, Millis{5000}));
  EXPECT_EQ(good.requests()[0].target, "/health");
  EXPECT_EQ(good.requests()[0].tls_sni, "localhost");
  EXPECT_EQ(untrusted.request_count(), 0u) << "a probe must not talk to an unverified target";

  health_status = 500;
  EXPECT_TRUE(eventually([&] { return health_of(good_key) == "UNHEALTHY"; })) << gw.logs();
  health_status = 200;
  EXPECT_TRUE(eventually([&] { return health_of(good_key) == "HEALTHY"; })) << gw.logs();
}

TEST(UpstreamTlsTest, HttpsProbesWithoutVerificationAcceptAnyCertificate) {
  Upstream untrusted(UpstreamTls{pki().other_server.cert, pki().other_server.key});
  const std::string key = "127.0.0.1:" + std::to_string(untrusted.port());
  Gateway gw(config_prelude() + render(R"(
upstreams:
  - name: u
    healthchecks:
      active:
        type: https
        https_verify_certificate: false
        http_path: /health
        healthy: {interval: 0.1, successes: 1}
        unhealthy: {interval: 0.1, tcp_failures: 1}
    targets: [{target: "{{KEY}}"}]
services:
  - {name: s, url: "https://u", tls_verify: false, routes: [{name: r, paths: [/]}]}
)",
                                       {{"KEY", key}}));
  ASSERT_TRUE(untrusted.wait_for_requests(2, Millis{5000})) << gw.logs();
  EXPECT_EQ(untrusted.requests()[0].target, "/health");
  EXPECT_EQ(untrusted.requests()[0].tls_sni, "") << "an IP target without https_sni sends no SNI";
}

// examples/upstream-tls.yaml as documented: PEMs from the environment, mutual TLS, https probes.
TEST(UpstreamTlsTest, ExampleConfigProxiesOverMutualTls) {
  UpstreamTls tls{pki().server.cert, pki().server.key, pki().ca.cert, true};
  Upstream up(tls);
  ::setenv("PORTICO_UPSTREAM_CA", pki().ca.cert.c_str(), 1);
  ::setenv("PORTICO_CLIENT_CERT", pki().client.cert.c_str(), 1);
  ::setenv("PORTICO_CLIENT_KEY", pki().client.key.c_str(), 1);
  std::string yaml = read_example("upstream-tls.yaml");
  const std::string target = "127.0.0.1:9443";
  auto at = yaml.find(target);
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, target.size(), "127.0.0.1:" + std::to_string(up.port()));
  GatewayOptions o;
  o.extra_args = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "1"};
  Gateway gw(yaml, o);
  Response r = get(gw, "/secure/orders");
  ASSERT_EQ(r.status, 200) << r.describe() << "\n" << gw.logs();
  ASSERT_GE(up.request_count(), 1u);
  bool proxied = false;
  for (const auto& req : up.requests()) {
    EXPECT_EQ(req.tls_sni, "localhost");
    EXPECT_NE(req.tls_client_subject.find("portico-client"), std::string::npos);
    proxied = proxied || req.target == "/orders";
  }
  EXPECT_TRUE(proxied);
}

// Load errors point at file:line:column.
TEST(UpstreamTlsTest, BadPemAndUnknownIdsAreLoadErrors) {
  CheckResult bad_pem = Gateway::check(R"(_format_version: "3.0"
ca_certificates:
  - id: 8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b10
    cert: "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"
)",
                                       "tls.yaml");
  EXPECT_EQ(bad_pem.exit_code, 1) << bad_pem.err;
  const RE2 pem_re("(?m)^" + RE2::QuoteMeta(bad_pem.config_path) + R"(:4:11: ca_certificates\[0\]\.cert: .*PEM)");
  EXPECT_TRUE(RE2::PartialMatch(bad_pem.err, pem_re)) << bad_pem.err;

  CheckResult unknown = Gateway::check(config_prelude() + certificate_entities() + R"(
services:
  - name: s
    url: https://example.com
    ca_certificates: [8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b11]
    client_certificate: 00000000-0000-4000-8000-000000000000
)",
                                       "tls.yaml");
  EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
  const RE2 ca_re("(?m)^" + RE2::QuoteMeta(unknown.config_path) +
                  R"(:\d+:\d+: services\[0\]\.ca_certificates\[0\]: no ca_certificate has id "8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b11" \(did you mean "8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b10"\?\))");
  EXPECT_TRUE(RE2::PartialMatch(unknown.err, ca_re)) << unknown.err;
  const RE2 cert_re("(?m)^" + RE2::QuoteMeta(unknown.config_path) +
                    R"(:\d+:\d+: services\[0\]\.client_certificate: no certificate has id)");
  EXPECT_TRUE(RE2::PartialMatch(unknown.err, cert_re)) << unknown.err;
}

}  // namespace
}  // namespace portico::integration
