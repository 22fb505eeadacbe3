// Kong `ca_certificates` and `certificates`, and the TLS fields of services and upstreams: every
// PEM is checked while loading, references resolve by id, and https services compile into
// clusters with a TLS context. Certificates are made at run time.
#include <gtest/gtest.h>

#include <string>

#include "config/snapshot.h"
#include "filters/builtin.h"
#include "harness/test_pki.h"
#include "test_util.h"

namespace portico::config {
namespace {

using integration::Pem;
using integration::yaml_quoted;
using testing::load_errors;
using testing::load_ok;

constexpr const char* kCa = "8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b10";
constexpr const char* kCert = "4a7b2c9d-1e3f-4a5b-8c6d-9e0f1a2b3c4d";

struct Pki {
  Pki() {
    ca = integration::make_ca("Test CA");
    expired_ca = integration::make_ca("Expired CA", integration::Validity::kExpired);
    leaf = integration::make_leaf(ca, "client", {}, {}, true);
    other_leaf = integration::make_leaf(ca, "other", {}, {}, true);
  }
  Pem ca, expired_ca, leaf, other_leaf;
};
const Pki& pki() {
  static const Pki p;
  return p;
}

std::string with_entities(const std::string& rest, const std::string& ca_pem = pki().ca.cert) {
  return "_format_version: \"3.0\"\nca_certificates:\n  - {id: " + std::string(kCa) + ", cert: " +
         yaml_quoted(ca_pem) + "}\ncertificates:\n  - {id: " + kCert + ", cert: " + yaml_quoted(pki().leaf.cert) +
         ", key: " + yaml_quoted(pki().leaf.key) + ", snis: [Example.COM, {name: api.example.com}]}\n" + rest;
}

TEST(LoaderCertificates, EntitiesAndReferencesLoad) {
  Config c = load_ok(with_entities(R"(
upstreams:
  - name: up
    client_certificate: )" + std::string(kCert) + R"(
services:
  - name: s
    url: https://up
    tls_verify: false
    tls_verify_depth: 3
    ca_certificates: [)" + kCa + R"(]
    client_certificate: {id: )" + kCert + R"(}
  - {name: plain, url: "https://example.com"}
)"));
  ASSERT_EQ(c.ca_certificates.size(), 1u);
  EXPECT_EQ(c.ca_certificates[0].cert_digest.size(), 64u);
  ASSERT_EQ(c.certificates.size(), 1u);
  EXPECT_EQ(c.certificates[0].snis, (std::vector<std::string>{"example.com", "api.example.com"}));
  const Service& s = c.services[0];
  EXPECT_EQ(s.protocol, "https");
  EXPECT_EQ(s.port, 443);
  EXPECT_FALSE(s.tls_verify);
  EXPECT_EQ(s.tls_verify_depth, 3);
  EXPECT_EQ(s.ca_certificates, std::vector<int>{0});
  EXPECT_EQ(s.client_certificate, 0);
  EXPECT_EQ(c.upstreams[0].client_certificate, 0);
  // Portico verifies by default.
  EXPECT_TRUE(c.services[1].tls_verify);
  EXPECT_TRUE(c.services[1].ca_certificates.empty());
}

TEST(LoaderCertificates, HttpsServicesCompileWithATlsContext) {
  filter::Registry registry;
  filters::register_builtin_plugins(registry);
  CompileResult r = build_from_string(with_entities(R"(
services:
  - {name: a, url: "https://127.0.0.1:8443", ca_certificates: [)" + std::string(kCa) + R"(]}
  - {name: b, url: "https://127.0.0.2:8443", ca_certificates: [)" + kCa + R"(]}
  - {name: c, url: "http://127.0.0.1:8080"}
  - {name: d, url: "https://127.0.0.1:8443", tls_verify: false}
)"),
                                      "kong.yaml", registry);
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  const auto& clusters = r.snapshot->clusters;
  ASSERT_TRUE(clusters[0]->tls);
  EXPECT_EQ(clusters[0]->tls, clusters[1]->tls) << "equal settings share one context";
  EXPECT_FALSE(clusters[2]->tls);
  ASSERT_TRUE(clusters[3]->tls);
  EXPECT_FALSE(clusters[3]->tls->verifies());
  EXPECT_NE(clusters[0]->tls->identity(), clusters[3]->tls->identity());
  EXPECT_EQ(clusters[0]->host_header, "127.0.0.1:8443");
}

TEST(LoaderCertificates, PemProblemsAreErrorsAtTheField) {
  const Pem not_ca = pki().leaf;
  std::string e = load_errors("_format_version: \"3.0\"\nca_certificates:\n  - cert: " + yaml_quoted(not_ca.cert) +
                              "\n  - cert: " + yaml_quoted(pki().expired_ca.cert) +
                              "\n  - cert: \"garbage\"\n  - cert: " + yaml_quoted(pki().ca.cert) +
                              "\n    cert_digest: abc\ncertificates:\n  - cert: " + yaml_quoted(pki().leaf.cert) +
                              "\n    key: " + yaml_quoted(pki().other_leaf.key) + "\n  - cert: " +
                              yaml_quoted(pki().leaf.cert) + "\n    key: nope\n  - cert: " +
                              yaml_quoted(pki().leaf.cert) + "\n    key: " + yaml_quoted(pki().leaf.key) +
                              "\n    cert_alt: " + yaml_quoted(pki().leaf.cert) + "\n");
  for (const char* want : {
           "kong.yaml:3:11: ca_certificates[0].cert: certificate \"/CN=client\" is not a CA certificate",
           "kong.yaml:4:11: ca_certificates[1].cert: CA certificate \"/CN=Expired CA\" expired on",
           "kong.yaml:5:11: ca_certificates[2].cert: not a PEM certificate",
           "kong.yaml:7:18: ca_certificates[3].cert_digest: cert_digest does not match the certificate",
           "certificates[0].cert: the key does not match the certificate in 'cert'",
           "certificates[1].key: not a PEM private key",
           "certificates[2].cert_alt: 'cert_alt' and 'key_alt' must be given together",
       }) {
    EXPECT_NE(e.find(want), std::string::npos) << "missing: " << want << "\n" << e;
  }
}

TEST(LoaderCertificates, ReferenceAndFieldErrors) {
  std::string e = load_errors(with_entities(R"(
services:
  - name: s
    url: https://example.com
    tls_verify_depth: 65
    ca_certificates: [8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b1f, 7]
    client_certificate: {name: x}
  - name: plain
    url: http://example.com
    tls_verify: false
    client_certificate: )" + std::string(kCert) + R"(
upstreams:
  - {name: up, client_certificate: 00000000-0000-4000-8000-000000000000}
)"));
  for (const char* want : {
           "services[0].tls_verify_depth: value 65 is out of range",
           "services[0].ca_certificates[0]: no ca_certificate has id \"8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b1f\" (did "
           "you mean \"8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b10\"?)",
           "services[0].ca_certificates[1]: no ca_certificate has id \"7\"",
           "services[0].client_certificate.name: unknown field 'name'",
           "services[1].tls_verify: 'tls_verify' can only be set when protocol is 'https' (it is 'http')",
           "services[1].client_certificate: 'client_certificate' can only be set when protocol is 'https'",
           "upstreams[0].client_certificate: no certificate has id \"00000000-0000-4000-8000-000000000000\"",
       }) {
    EXPECT_NE(e.find(want), std::string::npos) << "missing: " << want << "\n" << e;
  }
}

}  // namespace
}  // namespace portico::config

namespace portico::config {
namespace {

// TLS listeners: Kong's top-level `snis`, the default certificate, Portico's `client_certificate`
// (mutual TLS) on a certificate, and the default listen list.
TEST(LoaderCertificates, ServedCertificatesSnisAndDefault) {
  const std::string other = "5b8c3d0e-2f4a-4b6c-9d7e-0f1a2b3c4d5e";
  Config c = load_ok(with_entities(R"(  - id: )" + other + R"(
    cert: )" + yaml_quoted(pki().other_leaf.cert) + R"(
    key: )" + yaml_quoted(pki().other_leaf.key) + R"(
    client_certificate: {required: false, ca_certificates: [)" + kCa + R"(]}
snis:
  - {name: "*.Wild.example", certificate: {id: )" + other + R"(}}
  - {name: shop.*, certificate: )" + kCert + R"(}
)"));
  ASSERT_EQ(c.certificates.size(), 2u);
  EXPECT_EQ(c.certificates[0].snis, (std::vector<std::string>{"example.com", "api.example.com", "shop.*"}));
  EXPECT_EQ(c.certificates[1].snis, (std::vector<std::string>{"*.wild.example"}));
  EXPECT_TRUE(c.certificates[1].verify_clients);
  EXPECT_FALSE(c.certificates[1].client_certificate_required);
  EXPECT_EQ(c.certificates[1].client_ca_certificates, std::vector<int>{0});
  EXPECT_FALSE(c.certificates[0].verify_clients);
  EXPECT_EQ(c.default_certificate, -1) << "every certificate has SNIs: no default";
  // Served certificates and no `listen`: Kong's 8443 with TLS joins 8000.
  ASSERT_EQ(c.portico.listen.size(), 2u);
  EXPECT_EQ(c.portico.listen[1], (Listen{"0.0.0.0", 8443, true}));
  filter::Registry registry;
  filters::register_builtin_plugins(registry);
  auto built = compile(std::make_shared<const Config>(c), registry);
  ASSERT_TRUE(built.ok()) << built.errors.to_string();
  ASSERT_TRUE(built.snapshot->tls);
  EXPECT_EQ(built.snapshot->tls->select("x.wild.example"), 1);
  EXPECT_EQ(built.snapshot->tls->select("shop.example"), 0);
  EXPECT_EQ(built.snapshot->tls->select("nothing.example"), -1);
}

TEST(LoaderCertificates, DefaultCertificateRules) {
  const std::string base = "_format_version: \"3.0\"\ncertificates:\n";
  auto cert = [](const Pem& p, const std::string& extra) {
    return "  - {cert: " + yaml_quoted(p.cert) + ", key: " + yaml_quoted(p.key) + extra + "}\n";
  };
  // The first certificate without SNIs.
  Config a = load_ok(base + cert(pki().leaf, ", snis: [a.example]") + cert(pki().other_leaf, ""));
  EXPECT_EQ(a.default_certificate, 1);
  // SNI "*" wins.
  Config b = load_ok(base + cert(pki().leaf, "") + cert(pki().other_leaf, ", snis: [\"*\"]"));
  EXPECT_EQ(b.default_certificate, 1);
  // A certificate that a service presents upstream is not served by default; no certificate is
  // served, so the listen list stays as it was.
  Config d = load_ok(base + "  - {id: " + std::string(kCert) + ", cert: " + yaml_quoted(pki().leaf.cert) +
                     ", key: " + yaml_quoted(pki().leaf.key) +
                     "}\nservices:\n  - {name: s, url: \"https://example.com\", client_certificate: " + kCert + "}\n");
  EXPECT_EQ(d.default_certificate, -1);
  ASSERT_EQ(d.portico.listen.size(), 1u);
  // An explicit listen list is kept as written.
  Config e = load_ok(base + cert(pki().leaf, "") + "portico: {listen: [\"127.0.0.1:9000\"]}\n");
  EXPECT_EQ(e.portico.listen.size(), 1u);
}

TEST(LoaderCertificates, SnisEntityAndClientCertificateErrors) {
  EXPECT_EQ(load_errors(with_entities(R"(snis:
  - {name: example.com, certificate: {id: )" + std::string(kCert) + R"(}}
  - {name: x.example, certificate: 00000000-0000-4000-8000-000000000000}
  - {name: "bad name", certificate: )" + kCert + R"(}
)")),
            "kong.yaml:7:12: snis[0].name: duplicate sni \"example.com\" (first defined at line 5)\n"
            "kong.yaml:8:36: snis[1].certificate: no certificate has id \"00000000-0000-4000-8000-000000000000\"\n"
            "kong.yaml:9:12: snis[2].name: sni \"bad name\" is not a valid server name");
  const std::string errors = load_errors("_format_version: \"3.0\"\ncertificates:\n  - {cert: " +
                                         yaml_quoted(pki().leaf.cert) + ", key: " + yaml_quoted(pki().leaf.key) +
                                         ", client_certificate: {required: true, ca_certificates: [" + kCa + "]}}\n");
  EXPECT_NE(errors.find("certificates[0].client_certificate.ca_certificates[0]: no ca_certificate has id"),
            std::string::npos)
      << errors;
}

}  // namespace
}  // namespace portico::config
