// Base64 codecs for JOSE: the strict base64url of RFC 7515 §2 (compact JWS segments, JWK members)
// and the standard alphabet used for configured HMAC secrets (Kong's `secret_is_base64`).
//
// Contract: pure functions, callable from any thread, no exceptions. Decoders accept only the
// canonical encoding of some byte string: base64url has no padding, any byte outside the
// alphabet is rejected (no whitespace, no '+' '/' '='), a length of 1 mod 4 is rejected, and the
// unused low bits of the last character must be zero. So decode(encode(x)) == x, and whenever
// decode(s) succeeds encode(decode(s)) == s: one token has exactly one spelling.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portico::auth {

// Appends the decoded bytes of `in` to `out`; false (and `out` unspecified) on any violation.
bool base64url_decode(std::string_view in, std::string& out);
std::optional<std::string> base64url_decode(std::string_view in);

// Unpadded base64url.
std::string base64url_encode(std::string_view bytes);
void base64url_encode(std::string_view bytes, std::string& out);

// Standard alphabet ('+', '/'); padding optional, but when present it must complete the last
// quantum; trailing bits must be zero. Used for configuration, never for tokens.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace portico::auth
