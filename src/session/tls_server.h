// TlsServerSet: the certificates a TLS listener serves, chosen per connection by the server name
// the client sends (SNI), with per-certificate client-certificate verification (mutual TLS).
//
// Contract: built on the control thread while a snapshot compiles, immutable afterwards and shared
// by every worker (shared_ptr<const>). `new_engine` may be called on any thread; the engine it
// returns selects its certificate during the handshake (an OpenSSL ClientHello callback on the
// set's front context), so the set must outlive the handshake of every engine it made: the
// session keeps a reference for the connection's lifetime.
//
// Selection (Kong's order): the exact name, then a leading wildcard for the first label
// ("*.example.com"), then a trailing one for the last label ("example.*"), then the default
// certificate. No match and no default: the handshake fails with the unrecognized_name alert.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "session/tls.h"

namespace portico::session {

struct TlsServerSettings {
  // One context each: certificate, optional second key type, client-certificate verification.
  std::vector<TlsServerOptions> certificates;
  // Lower-case server name (exact, "*.x" or "x.*") → index into `certificates`.
  std::unordered_map<std::string, int> names;
  int default_certificate = -1;  // -1 = none
};

class TlsServerSet {
 public:
  // Null with `error` set when a certificate or key does not load.
  static std::shared_ptr<const TlsServerSet> make(const TlsServerSettings& settings, std::string& error);

  // The index of the certificate for `server_name` (any case, a trailing dot ignored; empty =
  // the client sent none), or -1.
  int select(std::string_view server_name) const;
  // Whether two certificates ask the same of clients (no client certificate, or the same CAs and
  // the same `required`). A request whose Host selects a certificate with another policy than the
  // one its connection was handshaken under is misdirected: it must not ride a connection that
  // skipped (or did other) client verification. -1 (no certificate) matches only itself.
  bool same_client_policy(int a, int b) const;
  // A server-side engine for a new connection; null with `error` when OpenSSL cannot allocate.
  std::unique_ptr<TlsEngine> new_engine(std::string& error) const;
  size_t size() const { return contexts_.size(); }
  // Digest of the settings: equal settings, equal identities (a reload reuses the set, and with
  // it the session-ticket keys, when the certificates did not change).
  const std::string& identity() const { return identity_; }

 private:
  TlsServerSet() = default;
  static int on_client_hello(SSL* ssl, int* alert, void* arg);

  std::shared_ptr<const TlsContext> front_;
  std::vector<std::shared_ptr<const TlsContext>> contexts_;
  std::vector<std::string> client_policies_;  // per certificate: "" (none) or required flag + CA PEMs
  std::unordered_map<std::string, int> names_;
  int default_ = -1;
  std::string identity_;
};

// Settings → a set, reusing the set built last time for the same settings while it is alive.
std::shared_ptr<const TlsServerSet> shared_server_set(const TlsServerSettings& settings, std::string& error);

}  // namespace portico::session
