// TlsServerSet: certificate selection by server name (exact, wildcards, default, none), and real
// handshakes between in-memory engines: the certificate served, unrecognized_name, ALPN.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "harness/test_pki.h"
#include "session/tls_server.h"

namespace portico::session {
namespace {

using integration::Pem;

struct Pki {
  Pki() {
    ca = integration::make_ca("Portico Test CA");
    exact = integration::make_leaf(ca, "exact", {"api.example.com"}, {});
    wild = integration::make_leaf(ca, "wild", {"*.example.org"}, {});
    fallback = integration::make_leaf(ca, "fallback", {"default.test"}, {});
  }
  Pem ca, exact, wild, fallback;
};
const Pki& pki() {
  static const Pki p;
  return p;
}

TlsServerOptions options(const Pem& p) {
  TlsServerOptions o;
  o.cert_pem = p.cert;
  o.key_pem = p.key;
  return o;
}

std::shared_ptr<const TlsServerSet> make_set(bool with_default) {
  TlsServerSettings s;
  s.certificates = {options(pki().exact), options(pki().wild), options(pki().fallback)};
  s.names = {{"api.example.com", 0}, {"*.example.org", 1}, {"shop.*", 0}};
  s.default_certificate = with_default ? 2 : -1;
  std::string error;
  auto set = TlsServerSet::make(s, error);
  EXPECT_TRUE(set) << error;
  return set;
}

TEST(TlsServerSet, SelectsExactThenWildcardsThenDefault) {
  auto set = make_set(true);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->select("api.example.com"), 0);
  EXPECT_EQ(set->select("API.Example.COM."), 0) << "case and a trailing dot do not matter";
  EXPECT_EQ(set->select("www.example.org"), 1);
  EXPECT_EQ(set->select("a.b.example.org"), 2) << "a wildcard stands for one label";
  EXPECT_EQ(set->select("example.org"), 2);
  EXPECT_EQ(set->select("shop.de"), 0);
  EXPECT_EQ(set->select("shop.co.uk"), 2);
  EXPECT_EQ(set->select(""), 2) << "no SNI: the default";
  auto strict = make_set(false);
  ASSERT_TRUE(strict);
  EXPECT_EQ(strict->select("unknown.test"), -1);
  EXPECT_EQ(strict->select(""), -1);
}

// Drives a client and a server engine against each other in memory.
struct Handshake {
  std::unique_ptr<TlsEngine> client, server;
  TlsStatus client_status = TlsStatus::kWantRead, server_status = TlsStatus::kWantRead;

  static void pump(TlsEngine& from, TlsEngine& to) {
    const char* data = nullptr;
    while (size_t n = from.cipher_out_pending(&data)) {
      char* at = nullptr;
      size_t room = to.cipher_in_space(&at);
      if (room == 0) return;
      n = std::min(n, room);
      std::memcpy(at, data, n);
      to.cipher_in_commit(n);
      from.cipher_out_consume(n);
    }
  }
  bool run() {
    for (int i = 0; i < 20; ++i) {
      if (client_status != TlsStatus::kOk) client_status = client->handshake();
      pump(*client, *server);
      if (server_status != TlsStatus::kOk) server_status = server->handshake();
      pump(*server, *client);
      if (server_status == TlsStatus::kError && client_status != TlsStatus::kError) {
        client_status = client->handshake();  // reads the server's alert
      }
      if (client_status == TlsStatus::kError || server_status == TlsStatus::kError) return false;
      if (client_status == TlsStatus::kOk && server_status == TlsStatus::kOk) return true;
    }
    return false;
  }
  std::string served_subject() const {
    X509* cert = SSL_get0_peer_certificate(client->native());
    if (cert == nullptr) return {};
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return buf;
  }
};

Handshake start(const TlsServerSet& set, const std::string& sni, const unsigned char* alpn = nullptr,
                unsigned alpn_len = 0) {
  TlsClientOptions co;
  co.ca_pems = {pki().ca.cert};
  std::string error;
  auto client_ctx = TlsContext::make_client(co, error);
  EXPECT_TRUE(client_ctx) << error;
  Handshake h;
  h.client = TlsEngine::make(client_ctx, error);
  h.server = set.new_engine(error);
  EXPECT_TRUE(h.client->set_peer_name(sni, ""));
  if (alpn) SSL_set_alpn_protos(h.client->native(), alpn, alpn_len);
  return h;
}

TEST(TlsServerSet, HandshakeServesTheSelectedCertificate) {
  auto set = make_set(true);
  ASSERT_TRUE(set);
  for (auto [sni, cn] : {std::pair<std::string, std::string>{"api.example.com", "exact"},
                         {"x.example.org", "wild"},
                         {"other.test", "fallback"},
                         {"", "fallback"}}) {
    Handshake h = start(*set, sni);
    ASSERT_TRUE(h.run()) << sni << ": " << h.client->error() << " / " << h.server->error();
    EXPECT_NE(h.served_subject().find("CN=" + cn), std::string::npos) << sni << " → " << h.served_subject();
    EXPECT_EQ(h.server->server_name(), sni);
  }
}

TEST(TlsServerSet, NoCertificateForTheNameIsUnrecognizedName) {
  auto set = make_set(false);
  ASSERT_TRUE(set);
  Handshake h = start(*set, "unknown.test");
  EXPECT_FALSE(h.run());
  EXPECT_EQ(h.server->error(), "unrecognized_name");
  EXPECT_NE(h.client->error().find("unrecognized name"), std::string::npos) << h.client->error();
}

TEST(TlsServerSet, AlpnIsHttp11Only) {
  auto set = make_set(true);
  ASSERT_TRUE(set);
  static const unsigned char kBoth[] = "\x02h2\x08http/1.1";
  Handshake both = start(*set, "api.example.com", kBoth, sizeof kBoth - 1);
  ASSERT_TRUE(both.run());
  const unsigned char* chosen = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(both.client->native(), &chosen, &len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(chosen), len), "http/1.1");
  static const unsigned char kH2[] = "\x02h2";
  Handshake h2 = start(*set, "api.example.com", kH2, sizeof kH2 - 1);
  EXPECT_FALSE(h2.run());
  EXPECT_NE(h2.client->error().find("no application protocol"), std::string::npos) << h2.client->error();
}

}  // namespace
}  // namespace portico::session
