// TLS for session::Stream: a shared, immutable TlsContext (an OpenSSL SSL_CTX) and the
// per-connection TlsEngine (an SSL object over a BIO pair) that a Stream carries.
//
// Design: the Stream keeps doing all socket I/O with its existing non-blocking paths and reactor
// receive; the engine never touches the socket. Ciphertext read from the socket lands directly in
// the network half of a BIO pair (no copy), SSL_read decrypts from it into the Stream's `in()`;
// SSL_write encrypts into the pair's other direction, which the Stream flushes with send(). So the
// engine is sans-I/O: the same code serves client connections (upstreams, health probes) and the
// server side of a downstream TLS listener.
//
// Contract:
// - TlsContext: built on any thread (control thread, tests), immutable afterwards and shared by
//   every worker (shared_ptr<const>); it is safe to create engines from it on any thread.
//   `identity()` names its settings (a digest): equal settings give equal identities, so the
//   connection pool can key connections by it and keep them across reloads.
// - TlsEngine: one per connection, owned by its Stream, used on the Stream's thread only.
// - Errors: every failing call leaves a human-readable reason in `error()` (OpenSSL's reason, plus
//   the certificate verification result when verification failed), e.g. "certificate verify
//   failed: unable to get local issuer certificate".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;
typedef struct ssl_session_st SSL_SESSION;
typedef struct x509_st X509;
typedef struct x509_store_st X509_STORE;

namespace portico::session {

// What a client context checks and presents.
struct TlsClientOptions {
  bool verify = true;       // verify the peer's chain and name
  int verify_depth = -1;    // maximum chain depth; -1 = OpenSSL's default
  // Trusted CA certificates (PEM, one or more per string); empty = the system store.
  std::vector<std::string> ca_pems;
  // Client certificate (PEM, leaf first, then any intermediates) and its key (PEM), for mutual
  // TLS; both empty = none.
  std::string cert_pem;
  std::string key_pem;
};

// What a server context presents and asks of clients.
struct TlsServerOptions {
  std::string cert_pem;  // leaf first, then any intermediates; empty = none (a context that only
  std::string key_pem;   // selects another one by server name: TlsServerSet)
  // A second certificate of another key type (e.g. ECDSA next to RSA); the handshake serves the
  // one the client's signature algorithms accept. Both empty = none.
  std::string cert_alt_pem;
  std::string key_alt_pem;
  // Client certificates: none asked for when empty; otherwise verified against these CAs, and
  // required when `require_client_cert`.
  std::vector<std::string> client_ca_pems;
  bool require_client_cert = false;
  // Without `client_ca_pems`: ask for a client certificate anyway, optionally, and accept
  // whatever arrives (or none) without judging it, so that request-time checks (the mtls-auth
  // plugin, with PeerCertificate and TrustStore below) decide per route. Such a certificate is not
  // "verified" for peer_verified() / X-Forwarded-Client-Cert.
  bool request_client_cert = false;
  // CAs (PEM) whose subject names the certificate request lists as acceptable issuers (Kong's
  // mtls-auth `send_ca_dn`); empty = no list.
  std::vector<std::string> request_ca_pems;
  // A DER OCSP response for `cert_pem`, stapled to handshakes whose client asks (status_request);
  // empty = none.
  std::string ocsp_response;
};

class TlsContext {
 public:
  // TLS 1.2 and 1.3 only, a modern cipher list (ECDHE + AEAD for 1.2). A client context keeps no
  // session cache of its own: sessions are handed to the caller (TlsEngine::take_session) so that
  // it can cache them where it owns state (the per-worker connection pool). Null with `error` set
  // when a PEM or key does not load.
  static std::shared_ptr<const TlsContext> make_client(const TlsClientOptions& options, std::string& error);
  static std::shared_ptr<const TlsContext> make_server(const TlsServerOptions& options, std::string& error);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  bool is_server() const { return server_; }
  bool verifies() const { return verify_; }
  const std::string& identity() const { return identity_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server, bool verify, std::string identity)
      : ctx_(ctx), server_(server), verify_(verify), identity_(std::move(identity)) {}
  SSL_CTX* ctx_;
  bool server_;
  bool verify_;
  std::string identity_;
  std::string ocsp_response_;  // stapled by the status callback (its argument points here)
};

// The result of one engine step.
enum class TlsStatus : uint8_t {
  kOk,         // progress (bytes decrypted / accepted, handshake complete)
  kWantRead,   // needs more ciphertext from the peer
  kWantWrite,  // needs the pending ciphertext flushed first
  kClosed,     // the peer sent close_notify
  kError,      // fatal; see error()
};

class TlsEngine {
 public:
  // Null only when OpenSSL cannot allocate; `error` says why.
  static std::unique_ptr<TlsEngine> make(std::shared_ptr<const TlsContext> context, std::string& error);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  // Client only, before the handshake: the server name to send (empty = no SNI) and the name to
  // verify the certificate against (a DNS name, or an IP literal checked against IP SANs).
  bool set_peer_name(std::string_view sni, std::string_view verify_host);
  // The usual case of the above: `host` is sent as SNI unless it is an IP literal (RFC 6066
  // §3 allows DNS names only) and the certificate is verified against it either way.
  bool set_peer_host(std::string_view host);
  // Client only, before the handshake: a session to resume (the engine takes its own reference).
  void set_session(SSL_SESSION* session);
  // The newest resumable session the server gave (TLS 1.3 tickets arrive after the handshake),
  // or null; the caller owns the returned reference (SSL_SESSION_free).
  SSL_SESSION* take_session();

  // Handshake step: kOk when complete, kWantRead / kWantWrite, kError.
  TlsStatus handshake();
  bool handshake_done() const { return handshake_done_; }
  // Decrypts into [data, data + size): kOk with n > 0, kWantRead, kWantWrite, kClosed, kError.
  // Post-handshake messages (session tickets, key updates) are processed on the way.
  TlsStatus read(char* data, size_t size, size_t& n);
  // Encrypts up to `size` bytes: kOk with n > 0 accepted (whole records), kWantWrite when the
  // ciphertext buffer is full (flush, then call again with the same bytes), kError.
  TlsStatus write(const char* data, size_t size, size_t& n);
  // Queues close_notify (best effort; flush afterwards).
  void shutdown();

  // Ciphertext from the peer: space to receive into (contiguous; may be less than all the free
  // space), then how much was received. Zero space = the buffer is full: read() first.
  size_t cipher_in_space(char** at);
  void cipher_in_commit(size_t n);
  // Ciphertext for the peer: the pending bytes (contiguous part), then how much was sent.
  size_t cipher_out_pending(const char** at);
  void cipher_out_consume(size_t n);
  bool has_cipher_out() const;

  // Bytes of plaintext the SSL object holds decrypted but not yet read.
  bool has_buffered_plaintext() const;
  // True when the peer sent close_notify.
  bool peer_closed() const;
  bool session_reused() const;
  // The server name the client asked for (server side), empty when none.
  std::string_view server_name() const;
  // Server side, after the handshake: the client presented a certificate and it verified.
  bool peer_verified() const;
  // The verified client certificate in Envoy's X-Forwarded-Client-Cert element format:
  // `Hash=<sha256 hex of the DER>;Subject="<RFC 2253>"` then `;URI=...` and `;DNS=...` for each
  // SAN of those types; empty when peer_verified() is false.
  std::string forwarded_client_cert() const;
  // The negotiated protocol version ("TLSv1.3", ...).
  const char* version() const;
  SSL* native() const { return ssl_; }
  // The engine of an SSL object it created (for OpenSSL callbacks), or null.
  static TlsEngine* from(SSL* ssl);
  const std::string& error() const { return error_; }
  void set_error(std::string e) { error_ = std::move(e); }
  const TlsContext& context() const { return *context_; }

 private:
  friend class TlsContext;  // installs on_new_session
  TlsEngine(std::shared_ptr<const TlsContext> context, SSL* ssl, BIO* network);
  TlsStatus fail(int ret, const char* what);
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  std::shared_ptr<const TlsContext> context_;
  SSL* ssl_;
  BIO* network_;  // our half of the BIO pair
  SSL_SESSION* latest_session_ = nullptr;
  bool handshake_done_ = false;
  std::string error_;
};

// What a client certificate says about its subject, read once per connection.
struct PeerNames {
  std::string subject;                     // RFC 2253 distinguished name ("CN=a,O=b")
  std::string common_name;                 // the subject's (last) CN, empty when none
  std::vector<std::string> dns;            // subjectAltName entries by type, certificate order
  std::vector<std::string> email;
  std::vector<std::string> uri;
};

// The client certificate of one downstream TLS connection as request-time checks see it (the
// mtls-auth plugin): the certificate and chain the client sent, its names, and the verdicts of
// the checks that already looked at it, so keep-alive requests verify once.
//
// Contract: owned by the connection's session next to the Stream whose TlsEngine it reads (the
// engine must outlive it or `reset` must be called first); used on that session's worker only.
// `reset(engine)` after the handshake; `reset(nullptr)` = no TLS.
class PeerCertificate {
 public:
  // One check's result: X509_V_OK (0) or OpenSSL's verification error code, and the index of the
  // trust anchor the chain ended at (TrustStore order; -1 when it failed).
  struct Verdict {
    int error = 0;
    int anchor = -1;
  };

  void reset(const TlsEngine* engine);
  // The client sent a certificate (checked or not).
  bool present() const;
  // Its names (computed on first use); empty names when !present().
  const PeerNames& names();
  // The verdict `checker` (a number unique to one checking configuration: reloads make new
  // numbers) remembered for this connection, or null.
  const Verdict* verdict(uint64_t checker) const;
  void remember(uint64_t checker, Verdict verdict);
  const TlsEngine* engine() const { return engine_; }

 private:
  const TlsEngine* engine_ = nullptr;
  bool names_read_ = false;
  PeerNames names_;
  std::vector<std::pair<uint64_t, Verdict>> verdicts_;  // few: one per mtls-auth instance used
};

// Trusted CA certificates for request-time verification of client certificates (mtls-auth): an
// X509_STORE built once on the control thread from `ca_certificates` entities, immutable and
// shared afterwards; verify() may run on any worker, concurrently.
class TrustStore {
 public:
  // Null with `error` when a PEM does not load. Each PEM may hold several certificates; every one
  // of them becomes a trust anchor of the CA at that index.
  static std::shared_ptr<const TrustStore> make(const std::vector<std::string>& ca_pems, std::string& error);
  ~TrustStore();
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;

  // Verifies the peer's certificate and the chain it sent for TLS client use, now.
  // `allow_partial_chain`: a CA that is not self-signed (an intermediate) may end the chain.
  PeerCertificate::Verdict verify(const PeerCertificate& peer, bool allow_partial_chain) const;
  // OpenSSL's text for a verification error code.
  static const char* error_text(int error);

 private:
  TrustStore() = default;
  X509_STORE* store_ = nullptr;
  std::vector<std::pair<X509*, int>> anchors_;  // each certificate, the CA index it came from
};

// Frees an SSL_SESSION reference (for owners that do not include OpenSSL headers).
void free_session(SSL_SESSION* session);

// Deleter for owning SSL_SESSION pointers.
struct SessionFree {
  void operator()(SSL_SESSION* s) const { free_session(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

}  // namespace portico::session
