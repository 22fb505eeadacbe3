// Keys from configuration and from JWK Sets (RFC 7517, RFC 7518 §6, RFC 8037).
//
// Contract: pure functions, callable from any thread (in practice the control thread: config
// load and JWKS refresh), no exceptions escape. Every function returns either a key / key set or
// a reason. Reasons name members and key positions, never key material.
//
// JWKS policy:
//   - the document is a strict JSON object (duplicate names rejected) with a `keys` array;
//   - a key is *skipped*, with a reason, when Portico cannot use it for verifying signatures:
//     unknown `kty`, a curve other than P-256/P-384/Ed25519, `use` other than "sig", `key_ops`
//     without "verify", or an `alg` Portico does not implement;
//   - the whole document is *rejected* when a key Portico would use is malformed: a member of
//     the wrong type, bad base64url, wrong coordinate length, a point not on its curve, an RSA
//     key outside 2048..8192 bits, private key members, an `alg` that contradicts `kty`, or two
//     usable keys with the same kid and type. A refresh that fails keeps the previous set.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/key.h"

namespace portico::auth {

struct KeyResult {
  std::shared_ptr<const Key> key;  // null on failure
  std::string error;
};

// A PEM "PUBLIC KEY" (SubjectPublicKeyInfo): RSA, EC P-256/P-384 or Ed25519. Private keys,
// certificates and anything else are rejected.
KeyResult load_pem_public_key(std::string_view pem, std::string kid, std::optional<JwsAlg> alg = std::nullopt);

// An HMAC secret as configured; with `secret_is_base64` (Kong) the text is standard base64.
KeyResult load_hmac_secret(std::string_view secret, bool secret_is_base64, std::string kid,
                           std::optional<JwsAlg> alg = std::nullopt);

struct JwksLimits {
  size_t max_document_bytes = 512 * 1024;
  size_t max_keys = 100;
  size_t max_kid_bytes = 256;
};

struct JwksSkippedKey {
  size_t index = 0;  // position in `keys`
  std::string kid;
  std::string reason;
};

struct JwksResult {
  std::shared_ptr<const KeySet> keys;  // null when the document is rejected
  std::vector<JwksSkippedKey> skipped;
  std::string error;
};

JwksResult parse_jwks(std::string_view document, const JwksLimits& limits = {});

}  // namespace portico::auth
