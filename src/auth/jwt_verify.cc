#include "auth/jwt_verify.h"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>

namespace portico::auth {
namespace {

namespace json = boost::json;

// Digests are fetched once: an implicit fetch on every call costs a provider lookup.
const EVP_MD* digest_for(JwsAlg alg) {
  static const EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* sha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static const EVP_MD* sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  switch (alg) {
    case JwsAlg::kHS256:
    case JwsAlg::kRS256:
    case JwsAlg::kPS256:
    case JwsAlg::kES256: return sha256;
    case JwsAlg::kHS384:
    case JwsAlg::kRS384:
    case JwsAlg::kPS384:
    case JwsAlg::kES384: return sha384;
    case JwsAlg::kHS512:
    case JwsAlg::kRS512:
    case JwsAlg::kPS512: return sha512;
    case JwsAlg::kEdDSA: return nullptr;
  }
  return nullptr;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// A failed verification leaves entries in the thread's OpenSSL error queue; TLS code on the same
// worker reads that queue (SSL_get_error), so it is always emptied here.
JwtError bad_signature() {
  ERR_clear_error();
  return JwtError::kBadSignature;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

JwtError verify_hmac(const Jwt& token, const Key& key) {
  const EVP_MAC_CTX* keyed = key.hmac_template(token.alg);
  if (keyed == nullptr) return bad_signature();
  // Duplicating only reads the shared template, so workers can do it concurrently.
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_dup(keyed));
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size_t mac_len = 0;
  if (!ctx || EVP_MAC_update(ctx.get(), bytes(token.signing_input), token.signing_input.size()) != 1 ||
      EVP_MAC_final(ctx.get(), mac.data(), &mac_len, mac.size()) != 1) {
    return bad_signature();
  }
  // The length is public (it follows from alg); the bytes are compared in constant time.
  if (token.signature.size() != mac_len) return bad_signature();
  if (CRYPTO_memcmp(mac.data(), token.signature.data(), mac_len) != 0) return bad_signature();
  return JwtError::kOk;
}

// Runs EVP_DigestVerify with `md` (null for EdDSA) over the signing input.
JwtError digest_verify(const Jwt& token, const Key& key, const EVP_MD* md, const unsigned char* sig, size_t sig_len,
                       bool pss) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return bad_signature();
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.pkey()) != 1) return bad_signature();
  if (pss) {
    // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
      return bad_signature();
    }
  }
  if (EVP_DigestVerify(ctx.get(), sig, sig_len, bytes(token.signing_input), token.signing_input.size()) != 1) {
    return bad_signature();
  }
  return JwtError::kOk;
}

JwtError verify_rsa(const Jwt& token, const Key& key, bool pss) {
  if (token.signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key.pkey()))) return bad_signature();
  return digest_verify(token, key, digest_for(token.alg), bytes(token.signature), token.signature.size(), pss);
}

JwtError verify_ecdsa(const Jwt& token, const Key& key) {
  const size_t n = token.alg == JwsAlg::kES256 ? 32 : 48;
  if (token.signature.size() != 2 * n) return bad_signature();
  // JWS carries raw r||s; OpenSSL verifies the DER form.
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  if (!sig) return bad_signature();
  BIGNUM* r = BN_bin2bn(bytes(token.signature), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(bytes(token.signature) + n, static_cast<int>(n), nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return bad_signature();
  }
  std::array<unsigned char, 160> der{};
  unsigned char* p = der.data();
  const int der_len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (der_len <= 0 || static_cast<size_t>(der_len) > der.size()) return bad_signature();
  if (i2d_ECDSA_SIG(sig.get(), &p) != der_len) return bad_signature();
  return digest_verify(token, key, digest_for(token.alg), der.data(), static_cast<size_t>(der_len), false);
}

JwtError verify_eddsa(const Jwt& token, const Key& key) {
  if (token.signature.size() != 64) return bad_signature();
  return digest_verify(token, key, nullptr, bytes(token.signature), token.signature.size(), false);
}

// A NumericDate (RFC 7519 §2): any JSON number, possibly non-integer; nullopt otherwise.
std::optional<double> numeric_date(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double() && std::isfinite(v.get_double())) return v.get_double();
  return std::nullopt;
}

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool has_word(std::string_view words, std::string_view word) {
  while (!words.empty()) {
    const size_t sp = words.find(' ');
    const std::string_view w = words.substr(0, sp);
    if (w == word) return true;
    if (sp == std::string_view::npos) break;
    words.remove_prefix(sp + 1);
  }
  return false;
}

JwtError check_audience(const json::value* aud, const ClaimPolicy& policy) {
  if (aud == nullptr) return JwtError::kMissingClaim;
  if (aud->is_string()) {
    return contains(policy.audiences, std::string_view(aud->get_string())) ? JwtError::kOk : JwtError::kBadAudience;
  }
  if (!aud->is_array()) return JwtError::kBadClaim;
  bool found = false;
  for (const json::value& v : aud->get_array()) {
    if (!v.is_string()) return JwtError::kBadClaim;
    if (!found && contains(policy.audiences, std::string_view(v.get_string()))) found = true;
  }
  return found ? JwtError::kOk : JwtError::kBadAudience;
}

JwtError check_scopes(const json::object& claims, const ClaimPolicy& policy) {
  const json::value* scope = claims.if_contains("scope");
  const json::value* scp = claims.if_contains("scp");
  if (scope != nullptr && !scope->is_string()) return JwtError::kBadClaim;
  if (scp != nullptr) {
    if (scp->is_array()) {
      for (const json::value& v : scp->get_array()) {
        if (!v.is_string()) return JwtError::kBadClaim;
      }
    } else if (!scp->is_string()) {
      return JwtError::kBadClaim;
    }
  }
  for (const std::string& want : policy.required_scopes) {
    bool found = scope != nullptr && has_word(std::string_view(scope->get_string()), want);
    if (!found && scp != nullptr) {
      if (scp->is_string()) {
        found = has_word(std::string_view(scp->get_string()), want);
      } else {
        for (const json::value& v : scp->get_array()) {
          if (std::string_view(v.get_string()) == want) {
            found = true;
            break;
          }
        }
      }
    }
    if (!found) return JwtError::kMissingScope;
  }
  return JwtError::kOk;
}

}  // namespace

JwtError verify_signature(const Jwt& token, const Key& key) {
  if (!key.usable_with(token.alg)) return JwtError::kAlgNotAllowed;
  switch (token.alg) {
    case JwsAlg::kHS256:
    case JwsAlg::kHS384:
    case JwsAlg::kHS512: return verify_hmac(token, key);
    case JwsAlg::kRS256:
    case JwsAlg::kRS384:
    case JwsAlg::kRS512: return verify_rsa(token, key, false);
    case JwsAlg::kPS256:
    case JwsAlg::kPS384:
    case JwsAlg::kPS512: return verify_rsa(token, key, true);
    case JwsAlg::kES256:
    case JwsAlg::kES384: return verify_ecdsa(token, key);
    case JwsAlg::kEdDSA: return verify_eddsa(token, key);
  }
  return JwtError::kBadSignature;
}

JwtError check_claims(const json::object& claims, const ClaimPolicy& policy, int64_t now_seconds) {
  const double now = static_cast<double>(now_seconds);
  const double leeway = static_cast<double>(policy.leeway.count());

  const json::value* exp = claims.if_contains("exp");
  if (exp != nullptr) {
    const std::optional<double> t = numeric_date(*exp);
    if (!t) return JwtError::kBadClaim;
    if (now - leeway >= *t) return JwtError::kExpired;
    if (policy.maximum_expiration.count() > 0 &&
        *t - now > static_cast<double>(policy.maximum_expiration.count())) {
      return JwtError::kTooLongLived;
    }
  } else if (policy.require_exp || policy.maximum_expiration.count() > 0) {
    return JwtError::kMissingClaim;
  }

  const json::value* nbf = claims.if_contains("nbf");
  if (nbf != nullptr) {
    const std::optional<double> t = numeric_date(*nbf);
    if (!t) return JwtError::kBadClaim;
    if (now + leeway < *t) return JwtError::kNotYetValid;
  } else if (policy.require_nbf) {
    return JwtError::kMissingClaim;
  }

  if (const json::value* iat = claims.if_contains("iat")) {
    const std::optional<double> t = numeric_date(*iat);
    if (!t) return JwtError::kBadClaim;
    if (policy.reject_future_iat && now + leeway < *t) return JwtError::kIssuedInFuture;
  }

  if (!policy.issuers.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (iss == nullptr) return JwtError::kMissingClaim;
    if (!iss->is_string()) return JwtError::kBadClaim;
    if (!contains(policy.issuers, std::string_view(iss->get_string()))) return JwtError::kBadIssuer;
  }

  if (!policy.audiences.empty()) {
    const JwtError e = check_audience(claims.if_contains("aud"), policy);
    if (e != JwtError::kOk) return e;
  }

  for (const std::string& name : policy.required_claims) {
    const json::value* v = claims.if_contains(name);
    if (v == nullptr || v->is_null()) return JwtError::kMissingClaim;
  }

  if (!policy.required_scopes.empty()) return check_scopes(claims, policy);
  return JwtError::kOk;
}

JwtError verify_jwt(const Jwt& token, const KeySet& keys, const VerifyPolicy& policy, int64_t now,
                    const Key** used_key) {
  if (std::find(policy.allowed_algs.begin(), policy.allowed_algs.end(), token.alg) == policy.allowed_algs.end()) {
    return JwtError::kAlgNotAllowed;
  }
  const Key* key = nullptr;
  if (token.kid) {
    key = keys.find(*token.kid, token.alg);
    if (key == nullptr) return JwtError::kUnknownKid;
    const JwtError e = verify_signature(token, *key);
    if (e != JwtError::kOk) return e;
  } else {
    if (policy.require_kid) return JwtError::kUnknownKid;
    bool any = false;
    for (const auto& k : keys.keys()) {
      if (!k->usable_with(token.alg)) continue;
      any = true;
      if (verify_signature(token, *k) == JwtError::kOk) {
        key = k.get();
        break;
      }
    }
    if (!any) return JwtError::kUnknownKid;
    if (key == nullptr) return JwtError::kBadSignature;
  }
  const JwtError e = check_claims(token.claims, policy.claims, now);
  if (e != JwtError::kOk) return e;
  if (used_key != nullptr) *used_key = key;
  return JwtError::kOk;
}

JwtError authenticate(std::string_view token, const KeySet& keys, const VerifyPolicy& policy,
                      const ParseLimits& limits, int64_t now, Jwt& out, const Key** used_key) {
  const JwtError e = parse_jwt(token, out, limits);
  if (e != JwtError::kOk) return e;
  return verify_jwt(out, keys, policy, now, used_key);
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace portico::auth
