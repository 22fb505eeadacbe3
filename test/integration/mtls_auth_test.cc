// The mtls-auth plugin through the real gateway: a TLS listener that asks for an optional client
// certificate because some route has the plugin, and a real upstream that echoes what the gateway
// told it. Valid certificates map to consumers (by username, custom_id, a subjectAltName), routes
// without the plugin work without a certificate on the same listener, untrusted / expired / absent
// certificates are refused with Kong's JSON bodies and counted in /status, `anonymous` and
// `skip_consumer_lookup` behave as in Kong, forged identity headers never reach the upstream, a
// keep-alive connection serves several requests, mtls_auth_credentials map subject names (per CA),
// the example config works as documented, and config errors name file:line:column. Also OCSP
// stapling on the TLS listener (`ocsp_stapling`), checked with `openssl s_client -status`. Every
// certificate (and OCSP response) is made at run time.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/temp_dir.h"
#include "harness/test_pki.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

constexpr const char* kCaId = "5d0e7c3a-1b2f-4e6d-9a8b-7c6d5e4f3a21";
constexpr const char* kOtherCaId = "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f";

struct Pki {
  Pki() {
    ca = make_ca("Portico mTLS CA");
    other_ca = make_ca("Portico Other CA");
    server = make_localhost_server(ca);
    alice = make_leaf(ca, "alice", {"alice.clients.test"}, {}, true);
    bob = make_leaf(ca, "bob-cert", {}, {}, true);
    by_san = make_leaf(ca, "nobody-known", {"svc.clients.test"}, {}, true);
    stranger = make_leaf(ca, "stranger", {}, {}, true);
    expired = make_leaf(ca, "alice", {}, {}, true, Validity::kExpired);
    untrusted = make_leaf(other_ca, "alice", {}, {}, true);
    carol = make_leaf(ca, "carol-device", {"carol-laptop.clients.test"}, {}, true);
    pinned_other = make_leaf(other_ca, "pinned", {}, {}, true);
    pinned_ca = make_leaf(ca, "pinned", {}, {}, true);
  }
  Pem ca, other_ca, server, alice, bob, by_san, stranger, expired, untrusted, carol, pinned_other, pinned_ca;
};

const Pki& pki() {
  static const Pki p;
  return p;
}

// Listeners: [0] plaintext, [1] TLS (the localhost certificate, as the default).
std::string config(uint16_t upstream) {
  return render(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0", "127.0.0.1:0 ssl"]
  admin_listen: "127.0.0.1:0"
  workers: 1
ca_certificates:
  - {id: {{CA_ID}}, cert: {{CA}}}
  - {id: {{OTHER_ID}}, cert: {{OTHER}}}
certificates:
  - {cert: {{SERVER}}, key: {{SERVER_KEY}}}
consumers:
  - {username: alice}
  - {username: bob, custom_id: bob-cert}
  - {username: svc.clients.test}
  - {username: guest}
  - username: carol
    mtls_auth_credentials:
      - {id: 6e5d4c3b-2a19-4807-b6a5-94837261504f, subject_name: carol-laptop.clients.test}
mtls_auth_credentials:
  - {id: 7f6e5d4c-3b2a-4918-a7b6-a59483726150, subject_name: pinned, consumer: bob,
     ca_certificate: {id: {{OTHER_ID}}}}
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - {name: open, paths: [/open]}
      - name: mtls
        paths: [/mtls]
        plugins:
          - {name: mtls-auth, config: {ca_certificates: [{{CA_ID}}]}}
      - name: by-custom-id
        paths: [/custom]
        plugins:
          - {name: mtls-auth, config: {ca_certificates: [{{CA_ID}}], consumer_by: [custom_id]}}
      - name: anonymous
        paths: [/anon]
        plugins:
          - {name: mtls-auth, config: {ca_certificates: [{{CA_ID}}], anonymous: guest}}
      - name: both-cas
        paths: [/both]
        plugins:
          - {name: mtls-auth, config: {ca_certificates: [{{CA_ID}}, {{OTHER_ID}}]}}
      - name: skip
        paths: [/skip]
        plugins:
          - {name: mtls-auth, config: {ca_certificates: [{{OTHER_ID}}, {{CA_ID}}], skip_consumer_lookup: true,
             revocation_check_mode: SKIP, send_ca_dn: true}}
)",
                {{"CA_ID", kCaId},
                 {"OTHER_ID", kOtherCaId},
                 {"CA", yaml_quoted(pki().ca.cert)},
                 {"OTHER", yaml_quoted(pki().other_ca.cert)},
                 {"SERVER", yaml_quoted(pki().server.cert)},
                 {"SERVER_KEY", yaml_quoted(pki().server.key)},
                 {"UP", std::to_string(upstream)}});
}

// The upstream answers with the identity headers it received, one per line.
void echo_identity(Upstream& up) {
  up.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    for (const char* name : {"X-Consumer-Username", "X-Consumer-Custom-ID", "X-Credential-Identifier",
                             "X-Anonymous-Consumer", "X-Client-Cert-DN", "X-Client-Cert-San",
                             "X-Forwarded-Client-Cert"}) {
      resp.body += std::string(name) + "=" + r.header(name).value_or("") + " (" +
                   std::to_string(r.header_count(name)) + ")\n";
    }
    return resp;
  });
}

// A blocking OpenSSL client: one connection, one request at a time (keep-alive), optionally
// presenting a client certificate.
class TlsClient {
 public:
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool connect(uint16_t port, const Pem* client) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), read_cert(pki().ca.cert).get());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (client != nullptr) {
      BIO* kb = BIO_new_mem_buf(client->key.data(), static_cast<int>(client->key.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
      BIO_free(kb);
      SSL_CTX_use_certificate(ctx_, read_cert(client->cert).get());
      SSL_CTX_use_PrivateKey(ctx_, key);
      EVP_PKEY_free(key);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("connect failed");
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    SSL_set1_host(ssl_, "localhost");
    if (SSL_connect(ssl_) != 1) return fail("handshake failed");
    return true;
  }
  // GET `path` (with `extra` header lines); the status (0 when the connection failed) and body.
  int get(const std::string& path, std::string& body, const std::string& extra = "") {
    const std::string raw = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
    if (SSL_write(ssl_, raw.data(), static_cast<int>(raw.size())) <= 0) return 0;
    std::string in;
    char buf[16384];
    for (;;) {
      const size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = in.substr(0, end);
        for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t length = 0;
        if (size_t at = head.find("content-length:"); at != std::string::npos) length = std::stoul(head.substr(at + 15));
        if (in.size() >= end + 4 + length) {
          body = in.substr(end + 4, length);
          return std::stoi(in.substr(9, 3));
        }
      }
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return 0;
      in.append(buf, static_cast<size_t>(n));
    }
  }
  const std::string& error() const { return error_; }

 private:
  struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
  };
  static std::unique_ptr<X509, X509Free> read_cert(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return std::unique_ptr<X509, X509Free>(x);
  }
  bool fail(const char* what) {
    char buf[256] = {0};
    unsigned long code = ERR_get_error();
    if (code != 0) ERR_error_string_n(code, buf, sizeof buf);
    ERR_clear_error();
    error_ = std::string(what) + ": " + buf;
    return false;
  }
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
};

class MtlsAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_identity(up_);
    gw_ = std::make_unique<Gateway>(config(up_.port()));
  }
  uint16_t tls_port() const { return gw_->port(1); }
  // One request on a new connection presenting `client` (null: none).
  int get(const Pem* client, const std::string& path, std::string& body, const std::string& extra = "") {
    TlsClient c;
    if (!c.connect(tls_port(), client)) {
      body = c.error();
      return 0;
    }
    return c.get(path, body, extra);
  }

  Upstream up_;
  std::unique_ptr<Gateway> gw_;
};

bool has(const std::string& body, const std::string& line) { return body.find(line + "\n") != std::string::npos; }

TEST_F(MtlsAuthTest, TrustedCertificateMapsToConsumerByUsernameOnKeepAlive) {
  TlsClient c;
  ASSERT_TRUE(c.connect(tls_port(), &pki().alice)) << c.error() << gw_->logs();
  std::string body;
  // Forged identity headers and XFCC from the client are dropped; the plugin states the consumer.
  ASSERT_EQ(c.get("/mtls", body,
                  "X-Consumer-Username: admin\r\nX-Forwarded-Client-Cert: Hash=x;Subject=\"CN=admin\"\r\n"
                  "X-Client-Cert-DN: CN=admin\r\n"),
            200)
      << body << gw_->logs();
  EXPECT_TRUE(has(body, "X-Consumer-Username=alice (1)")) << body;
  EXPECT_TRUE(has(body, "X-Anonymous-Consumer= (0)")) << body;
  EXPECT_TRUE(has(body, "X-Forwarded-Client-Cert= (0)")) << "judged per route, not by the listener:\n" << body;
  EXPECT_TRUE(has(body, "X-Client-Cert-DN= (0)")) << body;
  // The same connection again (the verdict is cached per connection), then a route without it.
  ASSERT_EQ(c.get("/mtls", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username=alice (1)")) << body;
  ASSERT_EQ(c.get("/open", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username= (0)")) << body;
  EXPECT_EQ(up_.request_count(), 3u);
}

TEST_F(MtlsAuthTest, SubjectAltNameAndCustomId) {
  std::string body;
  ASSERT_EQ(get(&pki().by_san, "/mtls", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username=svc.clients.test (1)")) << "CN unknown, SAN DNS matches:\n" << body;

  ASSERT_EQ(get(&pki().bob, "/custom", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username=bob (1)")) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Custom-ID=bob-cert (1)")) << body;

  // consumer_by [custom_id]: a username does not match there.
  EXPECT_EQ(get(&pki().alice, "/custom", body), 401);
  EXPECT_NE(body.find("\"message\":\"No consumer found for the presented certificate\""), std::string::npos) << body;
  EXPECT_EQ(get(&pki().stranger, "/mtls", body), 401);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.mtls-auth.no_consumer"), 2u);
}

TEST_F(MtlsAuthTest, MtlsAuthCredentialsMapSubjectNamesPerCa) {
  std::string body;
  // A nested credential: the certificate's SAN is its subject_name.
  ASSERT_EQ(get(&pki().carol, "/mtls", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username=carol (1)")) << body;
  EXPECT_TRUE(has(body, "X-Credential-Identifier=6e5d4c3b-2a19-4807-b6a5-94837261504f (1)")) << body;
  // A top-level credential tied to one CA: it matches a chain ending at that CA only.
  ASSERT_EQ(get(&pki().pinned_other, "/both", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username=bob (1)")) << body;
  EXPECT_TRUE(has(body, "X-Credential-Identifier=7f6e5d4c-3b2a-4918-a7b6-a59483726150 (1)")) << body;
  EXPECT_EQ(get(&pki().pinned_ca, "/both", body), 401) << body;
  EXPECT_NE(body.find("No consumer found for the presented certificate"), std::string::npos) << body;
  // /mtls trusts only the first CA: the other CA's certificate does not verify there.
  EXPECT_EQ(get(&pki().pinned_other, "/mtls", body), 401) << body;
  EXPECT_NE(body.find("TLS certificate failed verification"), std::string::npos) << body;
}

TEST_F(MtlsAuthTest, UntrustedAndExpiredCertificatesRefused) {
  std::string body;
  EXPECT_EQ(get(&pki().untrusted, "/mtls", body), 401) << body;
  EXPECT_NE(body.find("\"message\":\"TLS certificate failed verification\""), std::string::npos) << body;
  EXPECT_EQ(get(&pki().expired, "/mtls", body), 401) << body;
  EXPECT_NE(body.find("\"message\":\"TLS certificate failed verification\""), std::string::npos) << body;
  // The untrusted certificate still reaches routes without the plugin.
  EXPECT_EQ(get(&pki().untrusted, "/open", body), 200) << body;
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.mtls-auth.invalid"), 2u);
  EXPECT_EQ(up_.request_count(), 1u);
}

TEST_F(MtlsAuthTest, NoCertificateRefusedOnlyWhereThePluginIs) {
  std::string body;
  TlsClient c;
  ASSERT_TRUE(c.connect(tls_port(), nullptr)) << c.error() << gw_->logs();
  EXPECT_EQ(c.get("/open", body), 200) << body;
  EXPECT_EQ(c.get("/mtls", body), 401) << body;
  EXPECT_NE(body.find("\"message\":\"No required TLS certificate was sent\""), std::string::npos) << body;
  // Plain HTTP: no certificate at all.
  Response plain = fetch(gw_->port(0), http_request("GET", "/mtls"));
  EXPECT_EQ(plain.status, 401) << plain.describe();
  EXPECT_NE(plain.text().find("No required TLS certificate was sent"), std::string::npos) << plain.text();
  EXPECT_EQ(fetch(gw_->port(0), http_request("GET", "/open")).status, 200);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.mtls-auth.missing"), 2u);
}

TEST_F(MtlsAuthTest, AnonymousFallback) {
  std::string body;
  ASSERT_EQ(get(nullptr, "/anon", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username=guest (1)")) << body;
  EXPECT_TRUE(has(body, "X-Anonymous-Consumer=true (1)")) << body;
  ASSERT_EQ(get(&pki().untrusted, "/anon", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Anonymous-Consumer=true (1)")) << body;
  ASSERT_EQ(get(&pki().alice, "/anon", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username=alice (1)")) << body;
  EXPECT_TRUE(has(body, "X-Anonymous-Consumer= (0)")) << body;
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.mtls-auth.missing"), 0u);
}

TEST_F(MtlsAuthTest, SkipConsumerLookupSendsCertificateNames) {
  std::string body;
  ASSERT_EQ(get(&pki().stranger, "/skip", body, "X-Client-Cert-DN: CN=admin\r\nX-Client-Cert-San: admin\r\n"), 200)
      << body;
  EXPECT_TRUE(has(body, "X-Client-Cert-DN=CN=stranger (1)")) << body;
  EXPECT_TRUE(has(body, "X-Client-Cert-San= (0)")) << "no SAN in that certificate:\n" << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username= (0)")) << body;
  ASSERT_EQ(get(&pki().alice, "/skip", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Client-Cert-DN=CN=alice (1)")) << body;
  EXPECT_TRUE(has(body, "X-Client-Cert-San=alice.clients.test (1)")) << body;
  EXPECT_EQ(get(&pki().expired, "/skip", body), 401) << body;
  EXPECT_EQ(get(nullptr, "/skip", body), 401) << body;
}

// examples/mtls-auth.yaml as documented: its PEMs from the environment, its upstream here.
TEST(MtlsAuthExampleTest, ExampleAuthenticatesPartnersAndLeavesHealthOpen) {
  const Pem partner_a = make_leaf(pki().ca, "partner-a", {}, {}, true);
  const Pem partner_b = make_leaf(pki().ca, "b-gw-01", {"gateway.partner-b.example"}, {}, true);
  ::setenv("PORTICO_TLS_CERT", pki().server.cert.c_str(), 1);
  ::setenv("PORTICO_TLS_KEY", pki().server.key.c_str(), 1);
  ::setenv("PORTICO_CLIENT_CA", pki().ca.cert.c_str(), 1);
  Upstream up;
  echo_identity(up);
  std::string yaml = read_example("mtls-auth.yaml");
  const auto at = yaml.find("url: http://127.0.0.1:9000");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at + 12, 14, "127.0.0.1:" + std::to_string(up.port()));
  GatewayOptions options;
  options.extra_args = {"--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0 ssl", "--admin-listen", "127.0.0.1:0",
                        "--workers", "1"};
  Gateway gw(yaml, options);
  auto get = [&](const Pem* client, const std::string& path, std::string& body) {
    TlsClient c;
    if (!c.connect(gw.port(1), client)) {
      body = c.error();
      return 0;
    }
    return c.get(path, body);
  };
  std::string body;
  EXPECT_EQ(get(nullptr, "/health", body), 200) << body;
  EXPECT_EQ(get(nullptr, "/partners", body), 401) << body;
  ASSERT_EQ(get(&partner_a, "/partners", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username=partner-a (1)")) << body;
  ASSERT_EQ(get(&partner_b, "/partners", body), 200) << body;
  EXPECT_TRUE(has(body, "X-Consumer-Username=partner-b (1)")) << body;
  EXPECT_EQ(get(&pki().untrusted, "/partners", body), 401) << body;
}

struct Shell {
  int exit_code = -1;
  std::string out;
};

Shell sh(const std::string& command) {
  Shell r;
  FILE* p = ::popen(("timeout 20 sh -c '" + command + "' 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// OCSP stapling on the TLS listener: a response made now by `openssl ocsp` (the CA signs it),
// served to `openssl s_client -status`; a client that does not ask gets none; a file that is not
// an OCSP response is a load error at the field.
TEST(OcspStaplingTest, StapledResponseServedToClientsThatAsk) {
  TempDir dir;
  const std::string ca = dir.write_file("ca.pem", pki().ca.cert);
  const std::string ca_key = dir.write_file("ca.key", pki().ca.key);
  const std::string server = dir.write_file("server.pem", pki().server.cert);
  const std::string d = ca.substr(0, ca.rfind('/'));
  Shell serial = sh("openssl x509 -in " + server + " -noout -serial");
  ASSERT_EQ(serial.exit_code, 0) << serial.out;
  std::string hex = serial.out.substr(serial.out.find('=') + 1);
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  dir.write_file("index.txt", "V\t301231235959Z\t\t" + hex + "\tunknown\t/CN=localhost\n");
  Shell made = sh("cd " + d + " && openssl ocsp -issuer ca.pem -cert server.pem -no_nonce -reqout req.der && "
                  "openssl ocsp -index index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -reqin req.der "
                  "-respout resp.der -ndays 2");
  ASSERT_EQ(made.exit_code, 0) << made.out;
  (void)ca_key;
  (void)server;
  const std::string yaml = render(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0 ssl"]
  admin_listen: "127.0.0.1:0"
  workers: 1
certificates:
  - {cert: {{SERVER}}, key: {{SERVER_KEY}}, ocsp_stapling: {{RESP}}}
routes:
  - {name: r, paths: [/]}
)",
                                  {{"SERVER", yaml_quoted(pki().server.cert)},
                                   {"SERVER_KEY", yaml_quoted(pki().server.key)},
                                   {"RESP", d + "/resp.der"}});
  Gateway gw(yaml);
  const std::string connect = "echo | openssl s_client -connect 127.0.0.1:" + std::to_string(gw.port(0)) +
                              " -servername localhost -CAfile " + ca;
  Shell asked = sh(connect + " -status");
  EXPECT_NE(asked.out.find("OCSP Response Status: successful"), std::string::npos) << asked.out;
  EXPECT_NE(asked.out.find("Cert Status: good"), std::string::npos) << asked.out;
  Shell plain = sh(connect);
  EXPECT_EQ(plain.out.find("OCSP Response Status"), std::string::npos) << plain.out;

  const std::string bad = dir.write_file("bad.der", "not an ocsp response");
  CheckResult r = Gateway::check(render(R"(_format_version: "3.0"
certificates:
  - {cert: {{SERVER}}, key: {{SERVER_KEY}}, ocsp_stapling: {{BAD}}}
)",
                                        {{"SERVER", yaml_quoted(pki().server.cert)},
                                         {"SERVER_KEY", yaml_quoted(pki().server.key)},
                                         {"BAD", bad}}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.err + r.out).find("certificates[0].ocsp_stapling"), std::string::npos) << r.err << r.out;
  EXPECT_NE((r.err + r.out).find("is not a DER OCSP response"), std::string::npos) << r.err << r.out;
}

// send_ca_dn on one instance: every handshake's certificate request lists that instance's CAs.
TEST_F(MtlsAuthTest, SendCaDnListsTheCasInTheCertificateRequest) {
  Shell r = sh("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(tls_port()) + " -servername localhost");
  const auto at = r.out.find("Acceptable client certificate CA names");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CN = Portico mTLS CA", at), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CN = Portico Other CA", at), std::string::npos) << r.out;
}

// `portico check` on a config; the first line of its errors.
std::string check_error(const std::string& plugin_config) {
  const std::string yaml = render(R"(_format_version: "3.0"
ca_certificates:
  - {id: {{CA_ID}}, cert: {{CA}}}
services:
  - name: s
    url: http://127.0.0.1:9
    routes:
      - name: r
        paths: [/]
        plugins:
          - name: mtls-auth
            config: )",
                                  {{"CA_ID", kCaId}, {"CA", yaml_quoted(pki().ca.cert)}}) +
                           plugin_config + "\n";
  CheckResult r = Gateway::check(yaml);
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  return r.err + r.out;
}

TEST(MtlsAuthConfigTest, ErrorsNameFileLineAndColumn) {
  std::string e = check_error("{ca_certificates: [1f2e3d4c-0000-4000-8000-000000000000]}");
  EXPECT_NE(e.find("portico.yaml:12:"), std::string::npos) << e;
  EXPECT_NE(e.find("no ca_certificate has id \"1f2e3d4c-0000-4000-8000-000000000000\""), std::string::npos) << e;

  e = check_error(std::string("{ca_certificates: [") + kCaId + "], consumer_by: [username, email]}");
  EXPECT_NE(e.find("portico.yaml:12:"), std::string::npos) << e;
  EXPECT_NE(e.find("consumer_by[1]"), std::string::npos) << e;
  EXPECT_NE(e.find("expected one of: username, custom_id"), std::string::npos) << e;

  e = check_error(std::string("{ca_certificates: [") + kCaId + "], revocation_check_mode: STRICT}");
  EXPECT_NE(e.find("STRICT is not supported"), std::string::npos) << e;

  e = check_error("{consumer_by: [username]}");
  EXPECT_NE(e.find("missing required field 'ca_certificates'"), std::string::npos) << e;

  e = check_error(std::string("{ca_certificates: [") + kCaId + "], http_proxy_host: proxy.local}");
  EXPECT_NE(e.find("http_proxy_host"), std::string::npos) << e;

  e = check_error(std::string("{ca_certificates: [") + kCaId + "], default_consumer: nobody}");
  EXPECT_NE(e.find("default_consumer \"nobody\" not found"), std::string::npos) << e;

  const std::string yaml = std::string(R"(_format_version: "3.0"
consumers:
  - username: a
    mtls_auth_credentials:
      - {subject_name: a, ca_certificate: 11111111-2222-4333-8444-555555555555}
)");
  CheckResult r = Gateway::check(yaml);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.err + r.out).find("portico.yaml:5:43"), std::string::npos) << r.err << r.out;
  EXPECT_NE((r.err + r.out).find("no ca_certificate has id \"11111111-2222-4333-8444-555555555555\""),
            std::string::npos)
      << r.err << r.out;
}

}  // namespace
}  // namespace portico::integration
