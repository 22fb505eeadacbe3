#include "auth/jwt.h"

#include <array>
#include <boost/json/value.hpp>

#include "auth/base64url.h"
#include "auth/strict_json.h"
#include "core/ascii.h"

namespace portico::auth {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, kJwsAlgCount> kAlgNames = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
};

struct ErrorText {
  std::string_view label;
  std::string_view message;
};

constexpr std::array<ErrorText, kJwtErrorCount> kErrors = {{
    {"ok", "ok"},
    {"too_large", "token is too large"},
    {"malformed", "token is malformed"},
    {"bad_base64", "token is not valid base64url"},
    {"bad_json", "token header or claims are not valid JSON"},
    {"duplicate_key", "token header or claims repeat a member"},
    {"alg_missing", "token has no algorithm"},
    {"alg_none", "unsigned tokens are not accepted"},
    {"alg_unknown", "token algorithm is not supported"},
    {"alg_not_allowed", "token algorithm is not allowed"},
    {"unsupported_crit", "token has unsupported critical extensions"},
    {"bad_kid", "token key id is invalid"},
    {"unknown_kid", "no key matches the token"},
    {"bad_signature", "token signature is invalid"},
    {"bad_claim", "token claim has an invalid type"},
    {"expired", "token has expired"},
    {"not_yet_valid", "token is not valid yet"},
    {"issued_in_future", "token is issued in the future"},
    {"too_long_lived", "token lifetime exceeds the maximum"},
    {"bad_issuer", "token issuer is not allowed"},
    {"bad_audience", "token audience is not allowed"},
    {"missing_claim", "token lacks a required claim"},
    {"missing_scope", "token lacks a required scope"},
}};


// Decodes one segment and parses it as a strict JSON object.
JwtError decode_object(std::string_view segment, const ParseLimits& limits, std::string& scratch,
                       json::object& out) {
  scratch.clear();
  if (!base64url_decode(segment, scratch)) return JwtError::kBadBase64;
  json::value v;
  switch (parse_strict_json(scratch, v, limits.max_json_depth)) {
    case StrictJsonError::kOk: break;
    case StrictJsonError::kDuplicateKey: return JwtError::kDuplicateKey;
    case StrictJsonError::kSyntax: return JwtError::kBadJson;
  }
  json::object* obj = v.if_object();
  if (obj == nullptr) return JwtError::kMalformed;
  out = std::move(*obj);
  return JwtError::kOk;
}

JwtError check_header(const json::object& header, const ParseLimits& limits, Jwt& out) {
  const json::value* alg = header.if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return JwtError::kAlgMissing;
  const std::string_view alg_name(alg->get_string());
  if (core::iequals(alg_name, "none")) return JwtError::kAlgNone;
  const std::optional<JwsAlg> parsed = parse_alg(alg_name);
  if (!parsed) return JwtError::kAlgUnknown;
  out.alg = *parsed;

  // RFC 7515 §4.1.11: a recipient that does not understand a listed extension must reject the
  // JWS. Portico understands none, so `crit` in any shape is a rejection.
  if (header.contains("crit")) return JwtError::kUnsupportedCrit;

  out.kid.reset();
  if (const json::value* kid = header.if_contains("kid")) {
    if (!kid->is_string()) return JwtError::kBadKid;
    const std::string_view k(kid->get_string());
    if (k.size() > limits.max_kid_bytes) return JwtError::kBadKid;
    for (char c : k) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F) return JwtError::kBadKid;
    }
    out.kid.emplace(k);
  }
  return JwtError::kOk;
}

}  // namespace

std::optional<JwsAlg> parse_alg(std::string_view name) {
  for (size_t i = 0; i < kAlgNames.size(); ++i) {
    if (kAlgNames[i] == name) return static_cast<JwsAlg>(i);
  }
  return std::nullopt;
}

std::string_view to_string(JwsAlg alg) {
  const auto i = static_cast<size_t>(alg);
  return i < kAlgNames.size() ? kAlgNames[i] : std::string_view("?");
}

std::string_view to_string(JwtError error) {
  const auto i = static_cast<size_t>(error);
  return i < kErrors.size() ? kErrors[i].label : std::string_view("unknown");
}

std::string_view message(JwtError error) {
  const auto i = static_cast<size_t>(error);
  return i < kErrors.size() ? kErrors[i].message : std::string_view("token is invalid");
}

JwtError parse_jwt(std::string_view token, Jwt& out, const ParseLimits& limits) {
  if (token.size() > limits.max_token_bytes) return JwtError::kTooLarge;

  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return JwtError::kMalformed;
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return JwtError::kMalformed;
  if (token.find('.', dot2 + 1) != std::string_view::npos) return JwtError::kMalformed;  // JWE or junk
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  // An empty signature is an unsecured JWS whatever `alg` claims; empty header or payload are
  // not JSON objects.
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty()) return JwtError::kMalformed;

  std::string scratch;
  JwtError e = decode_object(header_b64, limits, scratch, out.header);
  if (e != JwtError::kOk) return e;
  e = check_header(out.header, limits, out);
  if (e != JwtError::kOk) return e;

  e = decode_object(payload_b64, limits, scratch, out.claims);
  if (e != JwtError::kOk) return e;

  out.signature.clear();
  if (!base64url_decode(signature_b64, out.signature)) return JwtError::kBadBase64;
  out.signing_input.assign(token.substr(0, dot2));
  return JwtError::kOk;
}

}  // namespace portico::auth
