// Verification keys: one immutable `Key` (an HMAC secret or an OpenSSL public key) and an
// immutable `KeySet` with lookup by kid.
//
// Key confusion is impossible by construction: a Key has exactly one `KeyType`, fixed from the
// material it was built from (an HMAC secret is only ever kOct; a public key's type comes from
// OpenSSL, never from a token or a label), and `usable_with(alg)` accepts only the algorithms of
// that type (HS* for kOct, RS*/PS* for kRsa, ES256 for kEcP256, ES384 for kEcP384, EdDSA for
// kEd25519), further narrowed by the key's own `alg` restriction when it has one. There is no way
// to get bytes of a public key used as an HMAC secret.
//
// Contract: Keys and KeySets are immutable after construction and shared read-only between
// threads (`std::shared_ptr<const ...>`); OpenSSL 3 allows concurrent verification with one
// EVP_PKEY. Factories live in jwk.h (PEM, JWK, secrets); `Key::from_pkey` and `Key::hmac` are the
// two constructors they end in.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_mac_ctx_st EVP_MAC_CTX;

namespace portico::auth {

enum class KeyType : uint8_t { kOct, kRsa, kEcP256, kEcP384, kEd25519 };
std::string_view to_string(KeyType type);

// The one key type an algorithm works with.
KeyType key_type_for(JwsAlg alg);

// RFC 7518 §3.3: RSA keys of 2048 bits or more. The upper bound keeps one verification cheap
// (cost grows with the square of the modulus): 8192 bits is already ~16x a 2048-bit key.
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 8192;

class Key {
 public:
  // An HMAC key. `secret` must not be empty. `alg`, when set, must be an HS* algorithm.
  static std::shared_ptr<const Key> hmac(std::string kid, std::string secret, std::optional<JwsAlg> alg,
                                         std::string* error = nullptr);
  // Takes ownership of `pkey` (also on failure). Accepts RSA public keys of kMinRsaBits..kMaxRsaBits
  // bits, EC public keys on P-256 or P-384, and Ed25519 public keys; `alg`, when set, must suit the
  // key's type. Returns nullptr and a reason in `error` otherwise.
  static std::shared_ptr<const Key> from_pkey(std::string kid, EVP_PKEY* pkey, std::optional<JwsAlg> alg,
                                              std::string* error = nullptr);

  ~Key();
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;

  const std::string& kid() const { return kid_; }
  KeyType type() const { return type_; }
  std::optional<JwsAlg> alg() const { return alg_; }
  bool usable_with(JwsAlg alg) const;

  // Material: `pkey()` is null for kOct keys, `secret()` empty for the others.
  EVP_PKEY* pkey() const { return pkey_; }
  std::string_view secret() const { return secret_; }
  // kOct only: an HMAC context already keyed for the algorithm's hash, to be duplicated (never
  // used directly) by each verification; keying once saves the per-call fetches and key setup.
  const EVP_MAC_CTX* hmac_template(JwsAlg alg) const;

 private:
  Key(std::string kid, KeyType type, std::optional<JwsAlg> alg, EVP_PKEY* pkey, std::string secret);

  std::string kid_;
  KeyType type_;
  std::optional<JwsAlg> alg_;
  EVP_PKEY* pkey_ = nullptr;  // owned
  std::string secret_;
  EVP_MAC_CTX* hmac_[3] = {nullptr, nullptr, nullptr};  // owned; SHA-256, SHA-384, SHA-512
};

class KeySet {
 public:
  KeySet() = default;
  explicit KeySet(std::vector<std::shared_ptr<const Key>> keys);

  // The key with this kid that is usable with `alg` (keys may share a kid when their types
  // differ, RFC 7517 §4.5); nullptr if none.
  const Key* find(std::string_view kid, JwsAlg alg) const;
  // Every key usable with `alg`, in insertion order: the candidates for a token without kid.
  std::vector<const Key*> candidates(JwsAlg alg) const;

  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  const std::vector<std::shared_ptr<const Key>>& keys() const { return keys_; }

 private:
  std::vector<std::shared_ptr<const Key>> keys_;
  // Indices into keys_ sorted by kid, for binary search.
  std::vector<size_t> by_kid_;
};

}  // namespace portico::auth
