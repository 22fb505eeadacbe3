// JWS signature verification and JWT claim checks.
//
// Contract: pure functions over immutable inputs, callable from any worker thread at once
// (OpenSSL contexts are per call), no exceptions, never suspends. `now` is passed in (Unix
// seconds) so checks are testable and one request sees one time.
//
// Order of checks in `verify_jwt`: algorithm allowed → key lookup → signature → claims. Claims of
// a token whose signature failed are never looked at, so an attacker learns nothing from them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"
#include "auth/key.h"

namespace portico::auth {

struct ClaimPolicy {
  // Tolerance for clock differences, applied to exp, nbf and iat.
  std::chrono::seconds leeway{0};
  // `exp` and `nbf` are always checked when present; these make them mandatory (Kong's
  // `claims_to_verify`).
  bool require_exp = false;
  bool require_nbf = false;
  // Reject an `iat` later than now + leeway.
  bool reject_future_iat = true;
  // Kong's `maximum_expiration`: when > 0, `exp` is required and exp - now must not exceed it.
  std::chrono::seconds maximum_expiration{0};
  // When not empty, `iss` must be one of these (exact match).
  std::vector<std::string> issuers;
  // When not empty, `aud` (a string or an array of strings) must contain one of these.
  std::vector<std::string> audiences;
  // Each must appear in the space-separated `scope` string or in `scp` (array, or string).
  std::vector<std::string> required_scopes;
  // Claims that must be present (any value but null).
  std::vector<std::string> required_claims;
};

struct VerifyPolicy {
  // The caller's allowed algorithms; a token with any other `alg` is rejected before a key is
  // chosen. Empty allows nothing.
  std::vector<JwsAlg> allowed_algs;
  // Reject tokens without `kid` instead of trying each key of the token's type.
  bool require_kid = false;
  ClaimPolicy claims;
};

// Verifies `token.signature` over `token.signing_input` with `key`, which must be usable with
// `token.alg` (otherwise kAlgNotAllowed). ES* signatures must be raw r||s of exactly twice the
// curve size (RFC 7518 §3.4); RSA signatures exactly the modulus size. kOk or kBadSignature.
JwtError verify_signature(const Jwt& token, const Key& key);

// Checks the registered and required claims of `claims` against `policy` at `now` (Unix seconds).
JwtError check_claims(const boost::json::object& claims, const ClaimPolicy& policy, int64_t now);

// Algorithm, key, signature, claims. On kOk and when `used_key` is given, it points at the key
// that verified the token (owned by `keys`).
JwtError verify_jwt(const Jwt& token, const KeySet& keys, const VerifyPolicy& policy, int64_t now,
                    const Key** used_key = nullptr);

// parse_jwt + verify_jwt.
JwtError authenticate(std::string_view token, const KeySet& keys, const VerifyPolicy& policy,
                      const ParseLimits& limits, int64_t now, Jwt& out, const Key** used_key = nullptr);

// The current wall-clock time in Unix seconds.
int64_t unix_now();

}  // namespace portico::auth
