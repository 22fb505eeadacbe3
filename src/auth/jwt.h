// Compact JWS / JWT parsing (RFC 7515 §7.1, RFC 7519): `header.payload.signature`, each segment
// strict unpadded base64url, header and claims strict JSON objects.
//
// Contract: pure functions, callable from any thread, no exceptions. `parse_jwt` reads untrusted
// input and checks structure only — it never looks at keys or time; `verify_jwt` (jwt_verify.h)
// does that. Rejected, before any key is touched:
//   - a token longer than `ParseLimits::max_token_bytes` (checked before any decoding);
//   - anything but exactly three segments, an empty segment, or a byte outside base64url;
//   - a header or claims set that is not one JSON object, or that repeats a member name;
//   - a missing or non-string `alg`, `none` in any case, or an algorithm Portico does not know;
//   - `crit` in any form (Portico understands no JWS extension, so a critical one must fail);
//   - a `kid` that is not a string, is longer than `max_kid_bytes`, or holds control characters.
// Header members that carry keys or key locations (`jwk`, `jku`, `x5u`, `x5c`) are ignored:
// keys only ever come from configuration or a configured JWKS.
//
// Errors are a `JwtError`: `to_string` gives a stable snake_case label for counters, `message`
// a short sentence safe for a 401 body. Neither ever contains token bytes or key material.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::auth {

enum class JwsAlg : uint8_t {
  kHS256, kHS384, kHS512,
  kRS256, kRS384, kRS512,
  kPS256, kPS384, kPS512,
  kES256, kES384,
  kEdDSA,
};
inline constexpr size_t kJwsAlgCount = 12;

// Exact, case-sensitive JWA names ("HS256", ..., "EdDSA"); nullopt for anything else.
std::optional<JwsAlg> parse_alg(std::string_view name);
std::string_view to_string(JwsAlg alg);

enum class JwtError : uint8_t {
  kOk = 0,
  kTooLarge,         // token longer than the configured limit
  kMalformed,        // not three non-empty segments, or header/claims not a JSON object
  kBadBase64,        // a segment is not canonical unpadded base64url
  kBadJson,          // header or claims are not well-formed JSON
  kDuplicateKey,     // a member name repeats in the header or the claims
  kAlgMissing,       // no `alg`, or not a string
  kAlgNone,          // `alg: none` in any case
  kAlgUnknown,       // an algorithm Portico does not implement
  kAlgNotAllowed,    // known, but not in the caller's allowed list
  kUnsupportedCrit,  // `crit` present
  kBadKid,           // `kid` not a string, too long or with control characters
  kUnknownKid,       // no configured key matches the kid (or, without kid, the algorithm)
  kBadSignature,     // signature of the wrong length or that does not verify
  kBadClaim,         // a registered claim of the wrong type (e.g. `exp` not a number)
  kExpired,          // now >= exp + leeway
  kNotYetValid,      // now + leeway < nbf
  kIssuedInFuture,   // now + leeway < iat
  kTooLongLived,     // exp - now > maximum_expiration
  kBadIssuer,        // `iss` not one of the allowed issuers
  kBadAudience,      // no `aud` value among the allowed audiences
  kMissingClaim,     // a required claim is absent
  kMissingScope,     // a required scope is absent
};
inline constexpr size_t kJwtErrorCount = 23;

// Stable label for counters and logs ("ok", "too_large", "bad_signature", ...).
std::string_view to_string(JwtError error);
// Short sentence for the 401 body ("token has expired"); never names keys, claims values or input.
std::string_view message(JwtError error);

struct ParseLimits {
  size_t max_token_bytes = 8 * 1024;
  size_t max_kid_bytes = 256;
  size_t max_json_depth = 16;
};

// A structurally valid, not yet verified token.
struct Jwt {
  JwsAlg alg = JwsAlg::kHS256;
  std::optional<std::string> kid;
  boost::json::object header;
  boost::json::object claims;
  // `header.payload` exactly as received: the bytes the signature covers. A copy (at most
  // max_token_bytes), so a Jwt never dangles when the header it came from goes away.
  std::string signing_input;
  std::string signature;  // decoded signature bytes
};

// Parses `token` (the text after "Bearer ", without surrounding whitespace). On error `out` is
// unspecified.
JwtError parse_jwt(std::string_view token, Jwt& out, const ParseLimits& limits = {});

}  // namespace portico::auth
