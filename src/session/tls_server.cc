#include "session/tls_server.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <map>
#include <mutex>

namespace portico::session {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

std::string settings_identity(const TlsServerSettings& s) {
  std::string text;
  for (const auto& c : s.certificates) {
    text += "\n#cert\n" + c.cert_pem + c.key_pem + c.cert_alt_pem + c.key_alt_pem;
    text += c.require_client_cert ? "|required" : "|optional";
    for (const auto& ca : c.client_ca_pems) text += "\n#ca\n" + ca;
    if (c.request_client_cert) text += "|requested";
    if (!c.ocsp_response.empty()) text += "\n#ocsp\n" + c.ocsp_response;
    for (const auto& ca : c.request_ca_pems) text += "\n#dn\n" + ca;
  }
  std::map<std::string, int> sorted(s.names.begin(), s.names.end());
  for (const auto& [name, index] : sorted) text += "\n#name " + name + "=" + std::to_string(index);
  text += "\n#default " + std::to_string(s.default_certificate);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace

std::shared_ptr<const TlsServerSet> TlsServerSet::make(const TlsServerSettings& settings, std::string& error) {
  std::shared_ptr<TlsServerSet> set(new TlsServerSet());
  for (size_t i = 0; i < settings.certificates.size(); ++i) {
    auto ctx = TlsContext::make_server(settings.certificates[i], error);
    if (!ctx) {
      error = "certificate " + std::to_string(i) + ": " + error;
      return nullptr;
    }
    set->contexts_.push_back(std::move(ctx));
    const TlsServerOptions& o = settings.certificates[i];
    std::string policy;
    if (!o.client_ca_pems.empty()) {
      policy = o.require_client_cert ? "required\n" : "optional\n";
      for (const auto& pem : o.client_ca_pems) policy += pem;
    } else if (o.request_client_cert) {
      policy = "requested\n";  // asked for, judged per request: no verification to bypass
    }
    set->client_policies_.push_back(std::move(policy));
  }
  // The front context has no certificate of its own: the ClientHello callback switches every
  // connection to the selected certificate's context first thing, before a session is looked up
  // or made, so sessions carry (and resume only under) that context's session id context.
  // Session caches and ticket keys stay with the front context.
  auto front = TlsContext::make_server(TlsServerOptions{}, error);
  if (!front) return nullptr;
  SSL_CTX_set_client_hello_cb(front->native(), &TlsServerSet::on_client_hello, set.get());
  set->front_ = std::move(front);
  set->names_ = settings.names;
  set->default_ = settings.default_certificate;
  set->identity_ = settings_identity(settings);
  return set;
}

int TlsServerSet::select(std::string_view server_name) const {
  if (server_name.size() > 1 && server_name.back() == '.') server_name.remove_suffix(1);
  if (!server_name.empty() && !names_.empty()) {
    std::string name = lower(server_name);
    if (auto it = names_.find(name); it != names_.end()) return it->second;
    if (size_t dot = name.find('.'); dot != std::string::npos && dot + 1 < name.size()) {
      if (auto it = names_.find("*" + name.substr(dot)); it != names_.end()) return it->second;
    }
    if (size_t dot = name.rfind('.'); dot != std::string::npos && dot > 0) {
      if (auto it = names_.find(name.substr(0, dot) + ".*"); it != names_.end()) return it->second;
    }
  }
  return default_;
}

// The host_name entry of a server_name extension (RFC 6066 §3), or empty.
static std::string_view client_hello_server_name(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 2) return {};
  size_t list = (size_t{p[0]} << 8) | p[1];
  if (list + 2 != len) return {};
  for (size_t at = 2; at + 3 <= len;) {
    const unsigned type = p[at];
    const size_t n = (size_t{p[at + 1]} << 8) | p[at + 2];
    if (at + 3 + n > len) return {};
    if (type == TLSEXT_NAMETYPE_host_name) return {reinterpret_cast<const char*>(p + at + 3), n};
    at += 3 + n;
  }
  return {};
}

int TlsServerSet::on_client_hello(SSL* ssl, int* alert, void* arg) {
  const auto* set = static_cast<const TlsServerSet*>(arg);
  const std::string_view name = client_hello_server_name(ssl);
  // A name with a NUL or other control byte selects nothing by name (OpenSSL rejects it later).
  bool clean = true;
  for (char c : name) clean = clean && static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
  const int index = set->select(clean ? name : std::string_view());
  if (index < 0) {
    if (TlsEngine* engine = TlsEngine::from(ssl)) engine->set_error("unrecognized_name");
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  SSL_CTX* chosen = set->contexts_[static_cast<size_t>(index)]->native();
  SSL_set_SSL_CTX(ssl, chosen);
  // SSL_set_SSL_CTX switches certificates and the trust store but not what the connection asks
  // of the client: copy the chosen context's verification settings.
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(chosen), SSL_CTX_get_verify_callback(chosen));
  SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(chosen));
  return SSL_CLIENT_HELLO_SUCCESS;
}

bool TlsServerSet::same_client_policy(int a, int b) const {
  if (a == b) return true;
  if (a < 0 || b < 0) return false;
  return client_policies_[static_cast<size_t>(a)] == client_policies_[static_cast<size_t>(b)];
}

std::unique_ptr<TlsEngine> TlsServerSet::new_engine(std::string& error) const {
  return TlsEngine::make(front_, error);
}

std::shared_ptr<const TlsServerSet> shared_server_set(const TlsServerSettings& settings, std::string& error) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const TlsServerSet>> built;
  const std::string id = settings_identity(settings);
  std::lock_guard<std::mutex> lock(mu);
  for (auto it = built.begin(); it != built.end();) {
    it = it->second.expired() ? built.erase(it) : std::next(it);
  }
  if (auto it = built.find(id); it != built.end()) {
    if (auto set = it->second.lock()) return set;
  }
  auto set = TlsServerSet::make(settings, error);
  if (set) built[id] = set;
  return set;
}

}  // namespace portico::session
