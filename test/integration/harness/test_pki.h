#pragma once
// Certificates for TLS tests, made at run time with OpenSSL (no key ever lives in the tree):
// a CA, leaf certificates it signs (server: SAN DNS names and IP addresses; client: clientAuth),
// expired ones, and certificates from another CA. EC P-256 keys (RSA 2048 on request), SHA-256
// signatures.
//
// Contract: test-only; throws std::runtime_error if OpenSSL fails. Values are plain PEM strings.

#include <string>
#include <vector>

namespace portico::integration {

struct Pem {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key (PKCS#8)
};

enum class Validity { kValid, kExpired };
enum class KeyType { kEc, kRsa };  // EC P-256, or RSA 2048

// A self-signed CA certificate (basicConstraints CA:TRUE).
Pem make_ca(const std::string& common_name, Validity validity = Validity::kValid);
// A leaf certificate signed by `issuer`: serverAuth (and clientAuth with `client`), with the given
// SAN DNS names and IP addresses (none: no SAN extension).
Pem make_leaf(const Pem& issuer, const std::string& common_name, const std::vector<std::string>& dns,
              const std::vector<std::string>& ips, bool client = false, Validity validity = Validity::kValid,
              KeyType key_type = KeyType::kEc);
// A server certificate for localhost: SAN DNS:localhost and IP:127.0.0.1.
inline Pem make_localhost_server(const Pem& issuer, Validity validity = Validity::kValid) {
  return make_leaf(issuer, "localhost", {"localhost"}, {"127.0.0.1"}, false, validity);
}

// `text` as a YAML double-quoted scalar (PEMs fit on one line in a flow map).
std::string yaml_quoted(const std::string& text);

}  // namespace portico::integration
