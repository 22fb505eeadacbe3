#include "session/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

namespace portico::session {
namespace {

// Each direction of the BIO pair holds a little more than two full TLS records, so SSL_read
// always finds a whole record once the peer sent one, and SSL_write can queue a record while the
// previous one is still being flushed.
constexpr size_t kCipherBuffer = 40 * 1024;

// TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 uses OpenSSL's defaults (all AEAD).
constexpr const char* kCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

int engine_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The first error on OpenSSL's queue as "reason" (or `fallback`), and clears the queue.
std::string take_openssl_error(std::string_view fallback) {
  unsigned long code = ERR_get_error();
  std::string out;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    if (reason != nullptr) {
      out = reason;
    } else {
      char buf[256];
      ERR_error_string_n(code, buf, sizeof buf);
      out = buf;
    }
  } else {
    out = fallback;
  }
  ERR_clear_error();
  return out;
}

// Reads every certificate of a PEM string, in order; false with `error` on garbage or none.
bool read_certs(const std::string& pem, std::vector<X509*>& out, std::string& error) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    error = "out of memory";
    return false;
  }
  for (;;) {
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    out.push_back(cert);
  }
  BIO_free(bio);
  unsigned long last = ERR_peek_last_error();
  // The loop ends with "no start line" once the input is used up: that is not an error.
  if (ERR_GET_REASON(last) == PEM_R_NO_START_LINE && !out.empty()) {
    ERR_clear_error();
    return true;
  }
  if (out.empty()) {
    error = "no PEM certificate found (" + take_openssl_error("empty") + ")";
    return false;
  }
  error = "invalid PEM certificate: " + take_openssl_error("garbage after the certificates");
  for (X509* c : out) X509_free(c);
  out.clear();
  return false;
}

bool add_cas(SSL_CTX* ctx, const std::vector<std::string>& pems, std::string& error) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const std::string& pem : pems) {
    std::vector<X509*> certs;
    if (!read_certs(pem, certs, error)) return false;
    for (X509* c : certs) {
      X509_STORE_add_cert(store, c);  // takes its own reference
      X509_free(c);
    }
  }
  ERR_clear_error();
  return true;
}

bool use_cert_and_key(SSL_CTX* ctx, const std::string& cert_pem, const std::string& key_pem, std::string& error) {
  std::vector<X509*> chain;
  if (!read_certs(cert_pem, chain, error)) return false;
  bool ok = SSL_CTX_use_certificate(ctx, chain[0]) == 1;
  for (size_t i = 1; ok && i < chain.size(); ++i) ok = SSL_CTX_add1_chain_cert(ctx, chain[i]) == 1;
  for (X509* c : chain) X509_free(c);
  if (!ok) {
    error = "certificate not usable: " + take_openssl_error("?");
    return false;
  }
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (key == nullptr) {
    error = "invalid PEM private key: " + take_openssl_error("?");
    return false;
  }
  ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) {
    error = "the private key does not match the certificate (" + take_openssl_error("?") + ")";
    return false;
  }
  return true;
}

SSL_CTX* new_base_context(bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_cipher_list(ctx, kCipherList);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Partial writes: SSL_write accepts whole records as the ciphertext buffer takes them; a retry
  // after WANT_WRITE may come from another buffer with the same bytes.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

std::string hex(const unsigned char* data, unsigned int len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

// The first 8 bytes of the SHA-256 of `text`, in hex.
std::string digest_hex(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  return hex(md, std::min(len, 8u));
}

bool is_ip_literal(std::string_view host) {
  char buf[64];
  if (host.empty() || host.size() >= sizeof buf) return false;
  std::memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';
  unsigned char out[16];
  return inet_pton(AF_INET, buf, out) == 1 || inet_pton(AF_INET6, buf, out) == 1;
}

// ALPN, server side: HTTP/1.1 only. A client that offers ALPN without http/1.1 (h2 only) gets the
// no_application_protocol alert (RFC 7301 §3.2); a client that offers none is served HTTP/1.1.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static constexpr std::string_view kHttp11 = "http/1.1";
  for (unsigned int i = 0; i < inlen;) {
    const unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == kHttp11) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// Server side, the client asked for the certificate's status: staple the configured OCSP response
// (OpenSSL takes ownership of the copy).
int staple_ocsp_response(SSL* ssl, void* arg) {
  const auto* der = static_cast<const std::string*>(arg);
  if (der == nullptr || der->empty()) return SSL_TLSEXT_ERR_NOACK;
  void* copy = OPENSSL_memdup(der->data(), der->size());
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  SSL_set_tlsext_status_ocsp_resp(ssl, static_cast<unsigned char*>(copy), static_cast<long>(der->size()));
  return SSL_TLSEXT_ERR_OK;
}

// Server side, client certificate asked for but judged at request time: any chain (or none) is
// accepted; the verification result OpenSSL records stays, so peer_verified() reports false.
int accept_any_client_cert(int, X509_STORE_CTX*) { return 1; }

}  // namespace

std::shared_ptr<const TlsContext> TlsContext::make_client(const TlsClientOptions& o, std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = new_base_context(false);
  if (ctx == nullptr) {
    error = "cannot create a TLS context: " + take_openssl_error("?");
    return nullptr;
  }
  std::shared_ptr<const TlsContext> owner;
  std::string identity_text = "client|" + std::to_string(o.verify) + "|" + std::to_string(o.verify_depth);
  SSL_CTX_set_verify(ctx, o.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (o.verify_depth >= 0) SSL_CTX_set_verify_depth(ctx, o.verify_depth);
  if (o.verify) {
    if (o.ca_pems.empty()) {
      SSL_CTX_set_default_verify_paths(ctx);
      ERR_clear_error();  // a system without a store still loads; verification then fails
    } else if (!add_cas(ctx, o.ca_pems, error)) {
      SSL_CTX_free(ctx);
      return nullptr;
    }
  }
  for (const auto& pem : o.ca_pems) identity_text += "|ca:" + pem;
  if (!o.cert_pem.empty() || !o.key_pem.empty()) {
    if (!use_cert_and_key(ctx, o.cert_pem, o.key_pem, error)) {
      SSL_CTX_free(ctx);
      return nullptr;
    }
    identity_text += "|cert:" + o.cert_pem + "|key:" + o.key_pem;
  }
  // Sessions go to the engine's callback, which hands them to the caller's cache; OpenSSL keeps
  // no client cache of its own.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &TlsEngine::on_new_session);
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx, false, o.verify, digest_hex(identity_text)));
}

std::shared_ptr<const TlsContext> TlsContext::make_server(const TlsServerOptions& o, std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = new_base_context(true);
  if (ctx == nullptr) {
    error = "cannot create a TLS context: " + take_openssl_error("?");
    return nullptr;
  }
  if (!o.cert_pem.empty() && !use_cert_and_key(ctx, o.cert_pem, o.key_pem, error)) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (!o.cert_alt_pem.empty() && !use_cert_and_key(ctx, o.cert_alt_pem, o.key_alt_pem, error)) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, nullptr);
  // Clients choose their preferred suite among ours only when ours are all equally strong.
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  bool verify = !o.client_ca_pems.empty();
  if (verify) {
    if (!add_cas(ctx, o.client_ca_pems, error)) {
      SSL_CTX_free(ctx);
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (o.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       nullptr);
  } else if (o.request_client_cert) {
    // Asked for, never required, never judged here: the chain is kept on the connection for the
    // request-time checks of the routes that want one.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &accept_any_client_cert);
  }
  if (!o.request_ca_pems.empty() && (verify || o.request_client_cert)) {
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (const std::string& pem : o.request_ca_pems) {
      std::vector<X509*> certs;
      if (!read_certs(pem, certs, error)) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        SSL_CTX_free(ctx);
        return nullptr;
      }
      for (X509* c : certs) {
        if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(c))) sk_X509_NAME_push(names, name);
        X509_free(c);
      }
    }
    SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  }
  std::string identity_text = "server|" + o.cert_pem + "|" + o.cert_alt_pem + "|" + std::to_string(o.require_client_cert);
  for (const auto& pem : o.client_ca_pems) identity_text += "|ca:" + pem;
  if (!verify && o.request_client_cert) identity_text += "|requested";
  for (const auto& pem : o.request_ca_pems) identity_text += "|dn:" + pem;
  if (!o.ocsp_response.empty()) identity_text += "|ocsp:" + o.ocsp_response;
  std::string identity = digest_hex(identity_text);
  // Sessions resume only with the settings that made them (OpenSSL compares this context): a
  // session from a connection that needed no client certificate never resumes on one that does.
  SSL_CTX_set_session_id_context(ctx, reinterpret_cast<const unsigned char*>(identity.data()),
                                 static_cast<unsigned int>(identity.size()));
  std::shared_ptr<TlsContext> context(new TlsContext(ctx, true, verify, std::move(identity)));
  if (!o.ocsp_response.empty()) {
    context->ocsp_response_ = o.ocsp_response;
    SSL_CTX_set_tlsext_status_cb(ctx, &staple_ocsp_response);
    SSL_CTX_set_tlsext_status_arg(ctx, &context->ocsp_response_);
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<TlsEngine> TlsEngine::make(std::shared_ptr<const TlsContext> context, std::string& error) {
  ERR_clear_error();
  SSL* ssl = SSL_new(context->native());
  if (ssl == nullptr) {
    error = "cannot create a TLS connection: " + take_openssl_error("?");
    return nullptr;
  }
  BIO* internal = nullptr;
  BIO* network = nullptr;
  if (BIO_new_bio_pair(&internal, kCipherBuffer, &network, kCipherBuffer) != 1) {
    SSL_free(ssl);
    error = "cannot create a TLS connection: " + take_openssl_error("?");
    return nullptr;
  }
  SSL_set_bio(ssl, internal, internal);
  if (context->is_server()) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
  }
  std::unique_ptr<TlsEngine> engine(new TlsEngine(std::move(context), ssl, network));
  SSL_set_ex_data(ssl, engine_index(), engine.get());
  return engine;
}

TlsEngine::TlsEngine(std::shared_ptr<const TlsContext> context, SSL* ssl, BIO* network)
    : context_(std::move(context)), ssl_(ssl), network_(network) {}

TlsEngine::~TlsEngine() {
  SSL_set_ex_data(ssl_, engine_index(), nullptr);
  SSL_free(ssl_);  // frees the internal half of the pair
  BIO_free(network_);
  if (latest_session_ != nullptr) SSL_SESSION_free(latest_session_);
}

int TlsEngine::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* engine = static_cast<TlsEngine*>(SSL_get_ex_data(ssl, engine_index()));
  if (engine == nullptr) return 0;
  if (engine->latest_session_ != nullptr) SSL_SESSION_free(engine->latest_session_);
  engine->latest_session_ = session;  // returning 1 keeps OpenSSL's reference for us
  return 1;
}

bool TlsEngine::set_peer_host(std::string_view host) {
  return set_peer_name(is_ip_literal(host) ? std::string_view() : host, host);
}

bool TlsEngine::set_peer_name(std::string_view sni, std::string_view verify_host) {
  if (!sni.empty()) {
    std::string name(sni);
    if (SSL_set_tlsext_host_name(ssl_, name.c_str()) != 1) {
      error_ = "invalid TLS server name \"" + name + "\"";
      ERR_clear_error();
      return false;
    }
  }
  if (!context_->verifies() || verify_host.empty()) return true;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
  std::string host(verify_host);
  int ok = 0;
  if (is_ip_literal(host)) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  }
  if (ok != 1) {
    error_ = "invalid name to verify \"" + host + "\"";
    ERR_clear_error();
    return false;
  }
  return true;
}

void TlsEngine::set_session(SSL_SESSION* session) {
  if (session != nullptr) SSL_set_session(ssl_, session);
}

SSL_SESSION* TlsEngine::take_session() {
  SSL_SESSION* s = latest_session_;
  latest_session_ = nullptr;
  if (s == nullptr) return nullptr;
  // A copy: OpenSSL marks the connection's own session object not resumable when the
  // connection ends without close_notify, which must not spoil the cached one.
  SSL_SESSION* copy = SSL_SESSION_dup(s);
  SSL_SESSION_free(s);
  return copy;
}

TlsStatus TlsEngine::fail(int ret, const char* what) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ: return TlsStatus::kWantRead;
    case SSL_ERROR_WANT_WRITE: return TlsStatus::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return TlsStatus::kClosed;
    default: break;
  }
  const long verify = SSL_get_verify_result(ssl_);
  if (error_ == "unrecognized_name") {  // set by a server-name callback that found no certificate
    ERR_clear_error();
    return TlsStatus::kError;
  }
  std::string reason = take_openssl_error(what);
  if (verify != X509_V_OK && !handshake_done_) {
    reason = "certificate verify failed: ";
    reason += X509_verify_cert_error_string(verify);
  }
  error_ = std::move(reason);
  return TlsStatus::kError;
}

TlsStatus TlsEngine::handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    handshake_done_ = true;
    return TlsStatus::kOk;
  }
  return fail(r, "TLS handshake failed");
}

TlsStatus TlsEngine::read(char* data, size_t size, size_t& n) {
  n = 0;
  ERR_clear_error();
  if (SSL_read_ex(ssl_, data, size, &n) == 1) {
    handshake_done_ = true;
    return TlsStatus::kOk;
  }
  return fail(0, "TLS read failed");
}

TlsStatus TlsEngine::write(const char* data, size_t size, size_t& n) {
  n = 0;
  ERR_clear_error();
  if (SSL_write_ex(ssl_, data, size, &n) == 1) return TlsStatus::kOk;
  return fail(0, "TLS write failed");
}

void TlsEngine::shutdown() {
  if (!handshake_done_ || (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) != 0) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

size_t TlsEngine::cipher_in_space(char** at) {
  int n = BIO_nwrite0(network_, at);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

void TlsEngine::cipher_in_commit(size_t n) {
  char* ignored = nullptr;
  BIO_nwrite(network_, &ignored, static_cast<int>(n));
}

size_t TlsEngine::cipher_out_pending(const char** at) {
  char* p = nullptr;
  int n = BIO_nread0(network_, &p);
  *at = p;
  return n > 0 ? static_cast<size_t>(n) : 0;
}

void TlsEngine::cipher_out_consume(size_t n) {
  char* ignored = nullptr;
  BIO_nread(network_, &ignored, static_cast<int>(n));
}

bool TlsEngine::has_cipher_out() const { return BIO_ctrl_pending(network_) > 0; }

bool TlsEngine::has_buffered_plaintext() const { return SSL_pending(ssl_) > 0; }

bool TlsEngine::peer_closed() const { return (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0; }

bool TlsEngine::session_reused() const { return SSL_session_reused(ssl_) == 1; }

std::string_view TlsEngine::server_name() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name ? std::string_view(name) : std::string_view();
}

bool TlsEngine::peer_verified() const {
  if (!handshake_done_ || SSL_get_verify_result(ssl_) != X509_V_OK) return false;
  return SSL_get0_peer_certificate(ssl_) != nullptr;
}

std::string TlsEngine::forwarded_client_cert() const {
  if (!peer_verified()) return {};
  X509* cert = SSL_get0_peer_certificate(ssl_);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  std::string out = "Hash=" + hex(md, len);
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    out += ";Subject=\"";
    for (long i = 0; i < n; ++i) {
      if (data[i] == '"' || data[i] == '\\') out += '\\';
      out += data[i];
    }
    out += '"';
    BIO_free(bio);
  }
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (const char* kind : {"URI", "DNS"}) {
      const int type = kind[0] == 'U' ? GEN_URI : GEN_DNS;
      for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type != type) continue;
        const ASN1_IA5STRING* v = type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName;
        std::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                              static_cast<size_t>(ASN1_STRING_length(v)));
        // Separators inside a value would forge extra elements: such names are left out.
        if (text.find_first_of(";,\"= \r\n") != std::string_view::npos) continue;
        out += ';';
        out += kind;
        out += '=';
        out += text;
      }
    }
    GENERAL_NAMES_free(names);
  }
  return out;
}

const char* TlsEngine::version() const { return SSL_get_version(ssl_); }

void PeerCertificate::reset(const TlsEngine* engine) {
  engine_ = engine;
  names_read_ = false;
  names_ = PeerNames{};
  verdicts_.clear();
}

bool PeerCertificate::present() const {
  return engine_ != nullptr && SSL_get0_peer_certificate(engine_->native()) != nullptr;
}

const PeerNames& PeerCertificate::names() {
  if (names_read_) return names_;
  names_read_ = true;
  if (!present()) return names_;
  X509* cert = SSL_get0_peer_certificate(engine_->native());
  const X509_NAME* subject = X509_get_subject_name(cert);
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(bio, subject, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) names_.subject.assign(data, static_cast<size_t>(n));
    BIO_free(bio);
  }
  for (int at = -1;;) {
    at = X509_NAME_get_index_by_NID(subject, NID_commonName, at);
    if (at < 0) break;
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, value);
    if (len >= 0) names_.common_name.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  auto* alt = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (alt != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(alt); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt, i);
      const ASN1_IA5STRING* v = nullptr;
      std::vector<std::string>* to = nullptr;
      if (name->type == GEN_DNS) {
        v = name->d.dNSName;
        to = &names_.dns;
      } else if (name->type == GEN_EMAIL) {
        v = name->d.rfc822Name;
        to = &names_.email;
      } else if (name->type == GEN_URI) {
        v = name->d.uniformResourceIdentifier;
        to = &names_.uri;
      }
      if (to == nullptr) continue;
      to->emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                       static_cast<size_t>(ASN1_STRING_length(v)));
    }
    GENERAL_NAMES_free(alt);
  }
  ERR_clear_error();
  return names_;
}

const PeerCertificate::Verdict* PeerCertificate::verdict(uint64_t checker) const {
  for (const auto& [key, v] : verdicts_) {
    if (key == checker) return &v;
  }
  return nullptr;
}

void PeerCertificate::remember(uint64_t checker, Verdict verdict) {
  // Reloads make new checkers: a long-lived connection forgets old ones rather than growing.
  if (verdicts_.size() >= 16) verdicts_.erase(verdicts_.begin());
  verdicts_.emplace_back(checker, verdict);
}

std::shared_ptr<const TrustStore> TrustStore::make(const std::vector<std::string>& ca_pems, std::string& error) {
  ERR_clear_error();
  std::shared_ptr<TrustStore> trust(new TrustStore());
  trust->store_ = X509_STORE_new();
  if (trust->store_ == nullptr) {
    error = "out of memory";
    return nullptr;
  }
  for (size_t i = 0; i < ca_pems.size(); ++i) {
    std::vector<X509*> certs;
    if (!read_certs(ca_pems[i], certs, error)) return nullptr;
    for (X509* c : certs) {
      X509_STORE_add_cert(trust->store_, c);
      trust->anchors_.emplace_back(c, static_cast<int>(i));  // keeps read_certs' reference
    }
  }
  ERR_clear_error();
  return trust;
}

TrustStore::~TrustStore() {
  for (auto& [cert, unused] : anchors_) X509_free(cert);
  X509_STORE_free(store_);
}

PeerCertificate::Verdict TrustStore::verify(const PeerCertificate& peer, bool allow_partial_chain) const {
  PeerCertificate::Verdict out;
  const TlsEngine* engine = peer.engine();
  X509* leaf = engine ? SSL_get0_peer_certificate(engine->native()) : nullptr;
  if (leaf == nullptr) {
    out.error = X509_V_ERR_UNSPECIFIED;
    return out;
  }
  // Server side, the peer chain holds what the client sent after its leaf: untrusted helpers.
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(engine->native());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  if (ctx == nullptr || X509_STORE_CTX_init(ctx, store_, leaf, sent) != 1) {
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    out.error = X509_V_ERR_OUT_OF_MEM;
    return out;
  }
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  if (allow_partial_chain) X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
  if (X509_verify_cert(ctx) == 1) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
    X509* top = chain ? sk_X509_value(chain, sk_X509_num(chain) - 1) : nullptr;
    for (const auto& [cert, index] : anchors_) {
      if (top != nullptr && X509_cmp(cert, top) == 0) {
        out.anchor = index;
        break;
      }
    }
    out.error = X509_V_OK;
  } else {
    out.error = X509_STORE_CTX_get_error(ctx);
    if (out.error == X509_V_OK) out.error = X509_V_ERR_UNSPECIFIED;
  }
  X509_STORE_CTX_free(ctx);
  ERR_clear_error();
  return out;
}

const char* TrustStore::error_text(int error) { return X509_verify_cert_error_string(error); }

TlsEngine* TlsEngine::from(SSL* ssl) { return static_cast<TlsEngine*>(SSL_get_ex_data(ssl, engine_index())); }

void free_session(SSL_SESSION* session) {
  if (session != nullptr) SSL_SESSION_free(session);
}

}  // namespace portico::session
