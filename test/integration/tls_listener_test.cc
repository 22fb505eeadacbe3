// The TLS listener through the real gateway, with real clients (curl, openssl s_client) and a small
// OpenSSL client of our own for keep-alive and client-certificate cases: SNI picks the certificate
// (exact, wildcard, default), RSA or ECDSA by client capability, TLS 1.1 and h2-only ALPN refused,
// session resumption, a reload that changes the certificate (new connections get the new one, an
// open connection keeps working), route `snis` and `protocols: [https]`, mutual TLS (missing,
// untrusted, expired and valid client certificates), X-Forwarded-Client-Cert forwarded and forged
// ones stripped, garbage handshakes, and the /status counters. Every certificate is made at run
// time.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
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

constexpr const char* kCaId = "8f0c1a52-6b0e-4c7a-9d59-3f4c1e2a7b10";

struct Pki {
  Pki() {
    ca = make_ca("Portico Test CA");
    other_ca = make_ca("Some Other CA");
    a = make_leaf(ca, "a.portico.test", {"a.portico.test"}, {});
    a_new = make_leaf(ca, "a-renewed.portico.test", {"a.portico.test"}, {});
    wild = make_leaf(ca, "wild.portico.test", {"*.wild.portico.test"}, {});
    dual_rsa = make_leaf(ca, "dual-rsa", {"dual.portico.test"}, {}, false, Validity::kValid, KeyType::kRsa);
    dual_ec = make_leaf(ca, "dual-ec", {"dual.portico.test"}, {});
    mtls = make_leaf(ca, "m.portico.test", {"m.portico.test", "o.portico.test"}, {});
    fallback = make_leaf(ca, "default.portico.test", {"localhost"}, {"127.0.0.1"});
    client = make_leaf(ca, "portico-client", {"client.portico.test"}, {}, true);
    expired_client = make_leaf(ca, "expired-client", {}, {}, true, Validity::kExpired);
    untrusted_client = make_leaf(other_ca, "untrusted-client", {}, {}, true);
  }
  Pem ca, other_ca, a, a_new, wild, dual_rsa, dual_ec, mtls, fallback, client, expired_client, untrusted_client;
};

const Pki& pki() {
  static const Pki p;
  return p;
}

std::string cert_entry(const Pem& p, const std::string& extra) {
  return "  - {cert: " + yaml_quoted(p.cert) + ", key: " + yaml_quoted(p.key) + extra + "}\n";
}

// Listeners: [0] plaintext, [1] TLS. The upstream echoes what it was told about the connection.
std::string config(uint16_t upstream, const Pem& a = pki().a) {
  std::string mtls = yaml_quoted(pki().mtls.cert);
  std::string mtls_key = yaml_quoted(pki().mtls.key);
  return render(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0", "127.0.0.1:0 ssl"]
  admin_listen: "127.0.0.1:0"
  workers: 1
ca_certificates:
  - {id: {{CA_ID}}, cert: {{CA}}}
certificates:
)",
                {{"CA_ID", kCaId}, {"CA", yaml_quoted(pki().ca.cert)}}) +
         cert_entry(a, ", snis: [a.portico.test]") + cert_entry(pki().wild, ", snis: [\"*.wild.portico.test\"]") +
         "  - {cert: " + yaml_quoted(pki().dual_rsa.cert) + ", key: " + yaml_quoted(pki().dual_rsa.key) +
         ", cert_alt: " + yaml_quoted(pki().dual_ec.cert) + ", key_alt: " + yaml_quoted(pki().dual_ec.key) +
         ", snis: [dual.portico.test]}\n" +
         "  - {cert: " + mtls + ", key: " + mtls_key + ", snis: [m.portico.test], client_certificate: {ca_certificates: [" +
         kCaId + "]}}\n" + "  - {cert: " + mtls + ", key: " + mtls_key +
         ", client_certificate: {required: false, ca_certificates: [" + kCaId + "]}}\n" +
         cert_entry(pki().fallback, "") + render(R"(snis:
  - {name: o.portico.test, certificate: {id: 3b6c1d2e-4f5a-4b7c-8d9e-0a1b2c3d4e5f}}
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - {name: all, paths: [/]}
      - {name: secure, paths: [/secure], protocols: [https], strip_path: false}
  - name: by-sni
    url: http://127.0.0.1:{{UP}}/via-sni
    routes:
      - {name: sni, paths: [/sni], snis: [a.portico.test]}
)",
                                                 {{"UP", std::to_string(upstream)}});
}

// The optional-mTLS certificate needs an id for the top-level `snis` entity.
std::string with_ids(std::string yaml) {
  const std::string marker = ", client_certificate: {required: false";
  auto at = yaml.find(marker);
  // "  - {cert: ..." of that entry: give it the id the snis entity names.
  auto start = yaml.rfind("  - {cert: ", at);
  yaml.insert(start + 5, "id: 3b6c1d2e-4f5a-4b7c-8d9e-0a1b2c3d4e5f, ");
  return yaml;
}

void echo_handler(Upstream& up) {
  up.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.body = "target=" + r.target + "\nproto=" + r.header("X-Forwarded-Proto").value_or("") +
                "\nxfcc=" + r.header("X-Forwarded-Client-Cert").value_or("") +
                "\nxfcc_count=" + std::to_string(r.header_count("X-Forwarded-Client-Cert")) + "\n";
    return resp;
  });
}

struct Shell {
  int exit_code = -1;
  std::string out;
};

Shell sh(const std::string& command) {
  Shell r;
  FILE* p = ::popen(("timeout 20 " + command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// `openssl s_client` against the TLS listener; stdin is one empty line, so it closes at once.
Shell s_client(uint16_t port, const std::string& args) {
  return sh("sh -c 'echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " + args + "'");
}

// s_client sending one request and reading until the gateway closes (so that TLS 1.3 session
// tickets, which follow the handshake, have arrived before it exits).
// The request's Host is the -servername of `args` (a.portico.test without one): Host and SNI agree.
Shell s_client_request(uint16_t port, const std::string& args) {
  std::string host = "a.portico.test";
  if (auto at = args.find("-servername "); at != std::string::npos) {
    at += 12;
    host = args.substr(at, args.find(' ', at) - at);
  }
  return sh("sh -c 'printf \"GET / HTTP/1.1\\r\\nHost: " + host + "\\r\\nConnection: close\\r\\n\\r\\n\" | "
            "openssl s_client -ign_eof -connect 127.0.0.1:" +
            std::to_string(port) + " " + args + "'");
}

// The served certificate's subject line from s_client's output.
std::string served_subject(const Shell& s) {
  auto at = s.out.find("subject=");
  if (at == std::string::npos) return "";
  return s.out.substr(at, s.out.find('\n', at) - at);
}

// A blocking TLS client on OpenSSL: one connection, requests one at a time, for keep-alive and
// client-certificate scenarios.
class TlsConn {
 public:
  ~TlsConn() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  // False with error() set when the TCP connect or the handshake fails.
  bool connect(uint16_t port, const std::string& sni, const Pem* client = nullptr) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    BIO* bio = BIO_new_mem_buf(pki().ca.cert.data(), static_cast<int>(pki().ca.cert.size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (client != nullptr) {
      BIO* cb = BIO_new_mem_buf(client->cert.data(), static_cast<int>(client->cert.size()));
      X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
      BIO_free(cb);
      BIO* kb = BIO_new_mem_buf(client->key.data(), static_cast<int>(client->key.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
      BIO_free(kb);
      SSL_CTX_use_certificate(ctx_, cert);
      SSL_CTX_use_PrivateKey(ctx_, key);
      X509_free(cert);
      EVP_PKEY_free(key);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = "connect failed";
      return false;
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, sni.c_str());
    SSL_set1_host(ssl_, sni.c_str());
    if (SSL_connect(ssl_) != 1) {
      error_ = take_error();
      return false;
    }
    return true;
  }
  // Sends `raw` and reads one response (Content-Length framing); status 0 when the connection
  // failed (error() says why).
  int request(const std::string& raw, std::string* body = nullptr) {
    if (SSL_write(ssl_, raw.data(), static_cast<int>(raw.size())) <= 0) {
      error_ = take_error();
      return 0;
    }
    std::string in;
    char buf[16384];
    for (;;) {
      auto head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::string head = to_lower(in.substr(0, head_end));
        size_t length = 0;
        if (auto cl = head.find("content-length:"); cl != std::string::npos) {
          length = std::stoul(head.substr(cl + 15));
        }
        if (in.size() >= head_end + 4 + length) {
          if (body) *body = in.substr(head_end + 4, length);
          return std::stoi(in.substr(9, 3));
        }
      }
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) {
        error_ = take_error();
        return 0;
      }
      in.append(buf, static_cast<size_t>(n));
    }
  }
  std::string peer_subject() const {
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (cert == nullptr) return "";
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return buf;
  }
  const std::string& error() const { return error_; }

 private:
  std::string take_error() {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "connection closed";
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    return buf;
  }
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
};

std::string sha256_of(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(x, EVP_sha256(), md, &len);
  X509_free(x);
  std::string out;
  char hex[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", md[i]);
    out += hex;
  }
  return out;
}

class TlsListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_handler(up_);
    gw_ = std::make_unique<Gateway>(with_ids(config(up_.port())));
    ca_file_ = dir_.write_file("ca.pem", pki().ca.cert);
  }
  uint16_t tls_port() const { return gw_->port(1); }
  std::string curl(const std::string& name, const std::string& path, const std::string& extra = "--http1.1") {
    const std::string port = std::to_string(tls_port());
    return "curl -sS -v " + extra + " --cacert " + ca_file_ + " --resolve " + name + ":" + port +
           ":127.0.0.1 https://" + name + ":" + port + path;
  }

  Upstream up_;
  std::unique_ptr<Gateway> gw_;
  TempDir dir_;
  std::string ca_file_;
};

TEST_F(TlsListenerTest, CurlHttpsWithSniPickingTheCertificate) {
  Shell r = sh(curl("a.portico.test", "/hello"));
  ASSERT_EQ(r.exit_code, 0) << r.out << gw_->logs();
  EXPECT_NE(r.out.find("subject: CN=a.portico.test"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("< HTTP/1.1 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("target=/hello\nproto=https\nxfcc=\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ALPN: server accepted http/1.1"), std::string::npos) << r.out;

  EXPECT_NE(served_subject(s_client(tls_port(), "-servername x.wild.portico.test")).find("CN = wild.portico.test"),
            std::string::npos);
  EXPECT_NE(served_subject(s_client(tls_port(), "-servername a.b.wild.portico.test")).find("CN = default.portico.test"),
            std::string::npos)
      << "a wildcard stands for one label; no match: the default certificate";
  EXPECT_NE(served_subject(s_client(tls_port(), "-servername unknown.test")).find("CN = default.portico.test"),
            std::string::npos);
  EXPECT_NE(served_subject(s_client(tls_port(), "-noservername")).find("CN = default.portico.test"),
            std::string::npos);
  EXPECT_GE(status_counter(*gw_, "tls_handshakes"), 5u);
}

TEST_F(TlsListenerTest, RsaOrEcdsaByClientCapability) {
  Shell rsa = s_client(tls_port(), "-servername dual.portico.test -sigalgs rsa_pss_rsae_sha256:rsa_pkcs1_sha256");
  EXPECT_NE(served_subject(rsa).find("CN = dual-rsa"), std::string::npos) << rsa.out;
  Shell ec = s_client(tls_port(), "-servername dual.portico.test -sigalgs ecdsa_secp256r1_sha256");
  EXPECT_NE(served_subject(ec).find("CN = dual-ec"), std::string::npos) << ec.out;
  Shell rsa12 = s_client(tls_port(), "-tls1_2 -servername dual.portico.test -cipher ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_NE(served_subject(rsa12).find("CN = dual-rsa"), std::string::npos) << rsa12.out;
  Shell ec12 = s_client(tls_port(), "-tls1_2 -servername dual.portico.test -cipher ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_NE(served_subject(ec12).find("CN = dual-ec"), std::string::npos) << ec12.out;
}

TEST_F(TlsListenerTest, OldProtocolsWeakCiphersAndH2OnlyAlpnAreRefused) {
  const uint64_t before = status_counter(*gw_, "tls_handshake_failures.protocol");
  Shell old = s_client(tls_port(), "-tls1_1 -cipher DEFAULT@SECLEVEL=0 -servername a.portico.test");
  EXPECT_EQ(served_subject(old), "") << old.out;
  EXPECT_NE(old.out.find("alert protocol version"), std::string::npos) << old.out;
  Shell cbc = s_client(tls_port(), "-tls1_2 -cipher AES128-SHA -servername a.portico.test");
  EXPECT_EQ(served_subject(cbc), "") << "TLS 1.2 without ECDHE and AEAD: " << cbc.out;
  Shell h2 = s_client(tls_port(), "-alpn h2 -servername a.portico.test");
  EXPECT_NE(h2.out.find("no application protocol"), std::string::npos) << h2.out;
  EXPECT_TRUE(eventually([&] { return status_counter(*gw_, "tls_handshake_failures.protocol") >= before + 3; }));
  // A client that offers h2 and http/1.1 gets http/1.1.
  Shell both = sh(curl("a.portico.test", "/", "--http2"));
  ASSERT_EQ(both.exit_code, 0) << both.out;
  EXPECT_NE(both.out.find("ALPN: server accepted http/1.1"), std::string::npos) << both.out;
  EXPECT_NE(both.out.find("< HTTP/1.1 200"), std::string::npos) << both.out;
}

TEST_F(TlsListenerTest, SessionResumption) {
  for (const std::string version : {"-tls1_3", "-tls1_2"}) {
    const std::string file = dir_.file("session" + version + ".pem");
    Shell first = s_client_request(tls_port(), version + " -servername a.portico.test -sess_out " + file);
    EXPECT_NE(first.out.find("New, TLSv1."), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("HTTP/1.1 200"), std::string::npos) << first.out;
    Shell second = s_client_request(tls_port(), version + " -servername a.portico.test -sess_in " + file);
    EXPECT_NE(second.out.find("Reused, TLSv1."), std::string::npos) << version << ": " << second.out;
  }
  // A session made where no client certificate was needed does not resume where one is required.
  for (const std::string version : {"-tls1_3", "-tls1_2"}) {
    const std::string file = dir_.file("optional" + version + ".pem");
    Shell first = s_client_request(tls_port(), version + " -servername o.portico.test -sess_out " + file);
    EXPECT_NE(first.out.find("HTTP/1.1 200"), std::string::npos) << first.out;
    Shell other = s_client_request(tls_port(), version + " -servername m.portico.test -sess_in " + file);
    EXPECT_EQ(other.out.find("Reused, TLSv1."), std::string::npos) << version << ": " << other.out;
    EXPECT_EQ(other.out.find("HTTP/1.1 200"), std::string::npos) << version << ": " << other.out;
  }
}

TEST_F(TlsListenerTest, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  TlsConn open;
  ASSERT_TRUE(open.connect(tls_port(), "a.portico.test")) << open.error();
  EXPECT_NE(open.peer_subject().find("CN=a.portico.test"), std::string::npos);
  ASSERT_EQ(open.request(http_request("GET", "/before", {}, {}, "a.portico.test")), 200) << open.error();

  Headers h{{"Content-Type", "application/x-yaml"}};
  Response posted = fetch(gw_->admin_port(), http_request("POST", "/config", h, with_ids(config(up_.port(), pki().a_new))),
                          {.timeout = Millis{15000}});
  ASSERT_EQ(posted.status, 201) << posted.text();

  EXPECT_NE(served_subject(s_client(tls_port(), "-servername a.portico.test")).find("CN = a-renewed.portico.test"),
            std::string::npos);
  std::string body;
  ASSERT_EQ(open.request(http_request("GET", "/after", {}, {}, "a.portico.test"), &body), 200) << open.error();
  EXPECT_NE(body.find("target=/after"), std::string::npos);
  EXPECT_NE(open.peer_subject().find("CN=a.portico.test"), std::string::npos);
}

TEST_F(TlsListenerTest, RouteSnisAndHttpsOnlyRoutes) {
  Shell by_sni = sh(curl("a.portico.test", "/sni/x"));
  EXPECT_NE(by_sni.out.find("target=/via-sni/x"), std::string::npos) << by_sni.out;
  Shell other = sh(curl("x.wild.portico.test", "/sni/x"));
  EXPECT_NE(other.out.find("target=/sni/x"), std::string::npos) << "route snis do not match: " << other.out;
  // Plaintext: the route's `snis` are ignored (Kong), and https-only routes answer 426.
  Response plain = fetch(gw_->port(0), http_request("GET", "/secure"));
  EXPECT_EQ(plain.status, 426) << plain.describe();
  EXPECT_EQ(fetch(gw_->port(0), http_request("GET", "/sni/x")).text().find("target=/via-sni/x"), 0u);
  Shell secure = sh(curl("a.portico.test", "/secure"));
  EXPECT_NE(secure.out.find("< HTTP/1.1 200"), std::string::npos) << secure.out;
  EXPECT_NE(secure.out.find("target=/secure"), std::string::npos) << secure.out;
}

TEST_F(TlsListenerTest, MutualTls) {
  const uint64_t before = status_counter(*gw_, "tls_handshake_failures.client_certificate");
  const Headers forged{{"X-Forwarded-Client-Cert", "Hash=forged;Subject=\"CN=admin\""}};
  {
    TlsConn none;
    bool ok = none.connect(tls_port(), "m.portico.test") &&
              none.request(http_request("GET", "/", {}, {}, "m.portico.test")) == 200;
    EXPECT_FALSE(ok) << "no client certificate where one is required";
  }
  for (const Pem* bad : {&pki().untrusted_client, &pki().expired_client}) {
    TlsConn conn;
    bool ok = conn.connect(tls_port(), "m.portico.test", bad) &&
              conn.request(http_request("GET", "/", {}, {}, "m.portico.test")) == 200;
    EXPECT_FALSE(ok);
  }
  EXPECT_TRUE(eventually(
      [&] { return status_counter(*gw_, "tls_handshake_failures.client_certificate") >= before + 3; }));

  TlsConn good;
  ASSERT_TRUE(good.connect(tls_port(), "m.portico.test", &pki().client)) << good.error();
  std::string body;
  ASSERT_EQ(good.request(http_request("GET", "/", forged, {}, "m.portico.test"), &body), 200) << good.error();
  const std::string xfcc = "Hash=" + sha256_of(pki().client.cert) +
                           ";Subject=\"CN=portico-client\";DNS=client.portico.test";
  EXPECT_NE(body.find("xfcc=" + xfcc + "\nxfcc_count=1\n"), std::string::npos) << body;

  // curl with a client certificate.
  const std::string cert = dir_.write_file("client.pem", pki().client.cert);
  const std::string key = dir_.write_file("client.key", pki().client.key);
  Shell with_curl = sh(curl("m.portico.test", "/curl", "--http1.1 --cert " + cert + " --key " + key));
  EXPECT_NE(with_curl.out.find("xfcc=" + xfcc), std::string::npos) << with_curl.out;

  // Optional verification (the `snis` entity names that certificate): no certificate is fine,
  // and a forged header is dropped.
  TlsConn optional;
  ASSERT_TRUE(optional.connect(tls_port(), "o.portico.test")) << optional.error();
  ASSERT_EQ(optional.request(http_request("GET", "/", forged, {}, "o.portico.test"), &body), 200);
  EXPECT_NE(body.find("xfcc=\nxfcc_count=0\n"), std::string::npos) << body;
  TlsConn optional_untrusted;
  bool ok = optional_untrusted.connect(tls_port(), "o.portico.test", &pki().untrusted_client) &&
            optional_untrusted.request(http_request("GET", "/", {}, {}, "o.portico.test")) == 200;
  EXPECT_FALSE(ok) << "an optional certificate must still verify when given";
}

// A connection handshaken for a name without mTLS cannot carry requests for a name that requires
// it: the Host selects another client-certificate policy than the SNI did → 421, counted, and the
// connection closes. The same name (or one with the same client checks) is served.
TEST_F(TlsListenerTest, HostAskingForStricterClientChecksThanTheSniIsMisdirected) {
  const uint64_t before = status_counter(*gw_, "tls_misdirected");
  TlsConn sneaky;
  ASSERT_TRUE(sneaky.connect(tls_port(), "a.portico.test")) << sneaky.error();
  std::string body;
  EXPECT_EQ(sneaky.request(http_request("GET", "/", {}, {}, "m.portico.test"), &body), 421) << body;
  EXPECT_NE(body.find("Misdirected Request"), std::string::npos) << body;
  // With a port and a trailing dot, and on the optional-mTLS name: all misdirected.
  for (const char* host : {"m.portico.test:8443", "m.portico.test.", "o.portico.test"}) {
    TlsConn conn;
    ASSERT_TRUE(conn.connect(tls_port(), "a.portico.test")) << conn.error();
    EXPECT_EQ(conn.request(http_request("GET", "/", {}, {}, host)), 421) << host;
  }
  EXPECT_TRUE(eventually([&] { return status_counter(*gw_, "tls_misdirected") >= before + 4; }));
  // The connection's own name is served.
  TlsConn fine;
  ASSERT_TRUE(fine.connect(tls_port(), "a.portico.test")) << fine.error();
  EXPECT_EQ(fine.request(http_request("GET", "/", {}, {}, "a.portico.test")), 200);
  // A verified m.portico.test connection serves its own name, with a trailing dot too.
  TlsConn verified;
  ASSERT_TRUE(verified.connect(tls_port(), "m.portico.test", &pki().client)) << verified.error();
  EXPECT_EQ(verified.request(http_request("GET", "/", {}, {}, "m.portico.test.")), 200);
}

TEST_F(TlsListenerTest, ForgedXfccFromPlaintextIsStripped) {
  Response r = fetch(gw_->port(0), http_request("GET", "/plain", {{"X-Forwarded-Client-Cert", "Hash=forged"},
                                                                   {"x-forwarded-client-cert", "By=x"}}));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_NE(r.text().find("proto=http\nxfcc=\nxfcc_count=0\n"), std::string::npos) << r.text();
}

TEST_F(TlsListenerTest, GarbageAndStalledHandshakesDoNotAffectOthers) {
  const uint64_t before = status_counter(*gw_, "tls_handshake_failures.protocol");
  // A client that connects and says nothing, kept open meanwhile.
  Client idle(tls_port());
  {
    Client garbage(tls_port());
    std::string junk(4096, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 7919 + 13) & 0xff);
    junk[0] = 0x16;  // looks like a handshake record, then nonsense
    garbage.send(junk);
    garbage.wait_closed(Millis{5000});
  }
  Shell ok = sh(curl("a.portico.test", "/after-garbage"));
  EXPECT_NE(ok.out.find("< HTTP/1.1 200"), std::string::npos) << ok.out;
  EXPECT_TRUE(eventually([&] { return status_counter(*gw_, "tls_handshake_failures.protocol") >= before + 1; }));
  Shell plain_on_tls = sh("curl -sS -v http://127.0.0.1:" + std::to_string(tls_port()) + "/");
  EXPECT_NE(plain_on_tls.exit_code, 0) << plain_on_tls.out;
  Shell again = sh(curl("a.portico.test", "/again"));
  EXPECT_NE(again.out.find("< HTTP/1.1 200"), std::string::npos) << again.out;
}

TEST(TlsListenerConfigTest, NoMatchAndNoDefaultIsUnrecognizedNameAndStalledHandshakesTimeOut) {
  Upstream up;
  Gateway gw(render(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0 ssl"]
  admin_listen: "127.0.0.1:0"
  workers: 1
  timeouts: {client_header: 300}
certificates:
)",
                    {}) +
                 cert_entry(pki().a, ", snis: [a.portico.test]") +
                 render("services: [{name: s, url: \"http://127.0.0.1:{{UP}}\", routes: [{paths: [/]}]}]\n",
                        {{"UP", std::to_string(up.port())}}));
  Shell unknown = s_client(gw.port(), "-servername unknown.test");
  EXPECT_NE(unknown.out.find("unrecognized name"), std::string::npos) << unknown.out;
  Shell none = s_client(gw.port(), "-noservername");
  EXPECT_NE(none.out.find("unrecognized name"), std::string::npos) << none.out;
  EXPECT_TRUE(eventually([&] { return status_counter(gw, "tls_handshake_failures.unrecognized_name") >= 2; }));
  EXPECT_NE(served_subject(s_client(gw.port(), "-servername a.portico.test")).find("CN = a.portico.test"),
            std::string::npos);
  // A client that never starts its handshake is closed after client_header.
  Client silent(gw.port());
  EXPECT_TRUE(silent.wait_closed(Millis{3000}));
  EXPECT_TRUE(eventually([&] { return status_counter(gw, "tls_handshake_failures.timeout") >= 1; }));
}

// examples/tls.yaml as documented: PEMs from the environment.
TEST(TlsListenerConfigTest, ExampleConfigServesHttpsWithMutualTls) {
  Upstream up;
  echo_handler(up);
  const Pem server = make_leaf(pki().ca, "api.example.com", {"api.example.com"}, {});
  ::setenv("PORTICO_TLS_CERT", server.cert.c_str(), 1);
  ::setenv("PORTICO_TLS_KEY", server.key.c_str(), 1);
  ::setenv("PORTICO_CLIENT_CA", pki().ca.cert.c_str(), 1);
  std::string yaml = read_example("tls.yaml");
  const std::string target = "127.0.0.1:9000";
  auto at = yaml.find(target);
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, target.size(), "127.0.0.1:" + std::to_string(up.port()));
  GatewayOptions o;
  o.extra_args = {"--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0 ssl", "--admin-listen", "127.0.0.1:0",
                  "--workers", "1"};
  Gateway gw(yaml, o);
  TlsConn conn;
  ASSERT_TRUE(conn.connect(gw.port(1), "api.example.com", &pki().client)) << conn.error() << gw.logs();
  std::string body;
  ASSERT_EQ(conn.request(http_request("GET", "/orders", {}, {}, "api.example.com"), &body), 200) << gw.logs();
  EXPECT_NE(body.find("target=/orders\nproto=https"), std::string::npos) << body;
  EXPECT_NE(body.find("xfcc=Hash="), std::string::npos) << body;
  TlsConn anonymous;
  EXPECT_FALSE(anonymous.connect(gw.port(1), "api.example.com") &&
               anonymous.request(http_request("GET", "/orders", {}, {}, "api.example.com")) == 200);
  EXPECT_EQ(fetch(gw.port(0), http_request("GET", "/orders")).status, 426);
}

}  // namespace
}  // namespace portico::integration
