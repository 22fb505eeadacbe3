#include "auth/jwk.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <boost/json/value.hpp>
#include <climits>

#include "auth/base64url.h"
#include "auth/strict_json.h"

namespace portico::auth {
namespace {

namespace json = boost::json;

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

// Key material of one JWK, or why it was skipped or rejected.
struct JwkOutcome {
  enum Kind { kKey, kSkip, kReject } kind = kReject;
  std::shared_ptr<const Key> key;
  std::string reason;
};

JwkOutcome skip(std::string reason) { return {JwkOutcome::kSkip, nullptr, std::move(reason)}; }
JwkOutcome reject(std::string reason) { return {JwkOutcome::kReject, nullptr, std::move(reason)}; }

// EVP_PKEY_fromdata for a public key of `type` ("RSA", "EC", "ED25519"), then, for the curves,
// OpenSSL's public-key check (the point is on the curve and not the identity). RSA skips it: its
// SP 800-56B check runs a primality test on the modulus (milliseconds per key, a cost a JWKS
// publisher could multiply), and verification is sound for any modulus it accepts.
EVP_PKEY* pkey_from_params(const char* type, OSSL_PARAM* params) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  if (std::string_view(type) == "RSA") return pkey;
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return nullptr;
  }
  return pkey;
}

// Optional string member: nullopt when absent; sets `bad` when present with another type.
std::optional<std::string_view> string_member(const json::object& o, std::string_view name, bool& bad) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    bad = true;
    return std::nullopt;
  }
  return std::string_view(v->get_string());
}

// A required base64url member decoded into bytes; error text names the member.
std::optional<std::string> b64_member(const json::object& o, std::string_view name, std::string& error) {
  bool bad = false;
  const std::optional<std::string_view> text = string_member(o, name, bad);
  if (!text) {
    error = fmt::format("member '{}' is {}", name, bad ? "not a string" : "missing");
    return std::nullopt;
  }
  std::optional<std::string> out = base64url_decode(*text);
  if (!out) error = fmt::format("member '{}' is not base64url", name);
  return out;
}

bool has_any(const json::object& o, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (o.contains(n)) return true;
  }
  return false;
}

JwkOutcome rsa_key(const json::object& jwk, std::string kid, std::optional<JwsAlg> alg) {
  if (has_any(jwk, {"d", "p", "q", "dp", "dq", "qi", "oth"})) return reject("RSA key holds private members");
  std::string error;
  const std::optional<std::string> n = b64_member(jwk, "n", error);
  if (!n) return reject(error);
  const std::optional<std::string> e = b64_member(jwk, "e", error);
  if (!e) return reject(error);
  if (n->empty() || n->size() > kMaxRsaBits / 8 + 1) return reject("RSA modulus has an unsupported size");
  // An exponent of at most 64 bits, odd and at least 3 (OpenSSL's limits for public operations).
  if (e->empty() || e->size() > 8) return reject("RSA exponent has an unsupported size");
  const unsigned char* ep = reinterpret_cast<const unsigned char*>(e->data());
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                                                 static_cast<int>(n->size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(ep, static_cast<int>(e->size()), nullptr));
  if (!bn_n || !bn_e) return reject("RSA key could not be built");
  if (!BN_is_odd(bn_e.get()) || BN_cmp(bn_e.get(), BN_value_one()) <= 0) return reject("RSA exponent is invalid");
  if (BN_num_bits(bn_n.get()) < kMinRsaBits) return reject("RSA key is shorter than 2048 bits");

  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return reject("RSA key could not be built");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return reject("RSA key could not be built");
  EVP_PKEY* pkey = pkey_from_params("RSA", params.get());
  if (pkey == nullptr) return reject("RSA key is invalid");
  std::string why;
  auto key = Key::from_pkey(std::move(kid), pkey, alg, &why);
  if (!key) return reject(why);
  return {JwkOutcome::kKey, std::move(key), {}};
}

JwkOutcome ec_key(const json::object& jwk, std::string kid, std::optional<JwsAlg> alg) {
  if (jwk.contains("d")) return reject("EC key holds private members");
  bool bad = false;
  const std::optional<std::string_view> crv = string_member(jwk, "crv", bad);
  if (!crv) return reject(bad ? "member 'crv' is not a string" : "member 'crv' is missing");
  size_t coord = 0;
  const char* group = nullptr;
  if (*crv == "P-256") {
    coord = 32;
    group = "prime256v1";
  } else if (*crv == "P-384") {
    coord = 48;
    group = "secp384r1";
  } else {
    return skip("unsupported EC curve");
  }
  std::string error;
  const std::optional<std::string> x = b64_member(jwk, "x", error);
  if (!x) return reject(error);
  const std::optional<std::string> y = b64_member(jwk, "y", error);
  if (!y) return reject(error);
  // RFC 7518 §6.2.1.2: coordinates are full-length octet strings.
  if (x->size() != coord || y->size() != coord) return reject("EC coordinate has the wrong length");
  std::string point;
  point.reserve(1 + 2 * coord);
  point.push_back('\x04');
  point += *x;
  point += *y;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* pkey = pkey_from_params("EC", params);
  if (pkey == nullptr) return reject("EC point is not on the curve");
  std::string why;
  auto key = Key::from_pkey(std::move(kid), pkey, alg, &why);
  if (!key) return reject(why);
  return {JwkOutcome::kKey, std::move(key), {}};
}

JwkOutcome okp_key(const json::object& jwk, std::string kid, std::optional<JwsAlg> alg) {
  if (jwk.contains("d")) return reject("OKP key holds private members");
  bool bad = false;
  const std::optional<std::string_view> crv = string_member(jwk, "crv", bad);
  if (!crv) return reject(bad ? "member 'crv' is not a string" : "member 'crv' is missing");
  if (*crv != "Ed25519") return skip("unsupported OKP curve");
  std::string error;
  std::optional<std::string> x = b64_member(jwk, "x", error);
  if (!x) return reject(error);
  if (x->size() != 32) return reject("Ed25519 key has the wrong length");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, x->data(), x->size()),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* pkey = pkey_from_params("ED25519", params);
  if (pkey == nullptr) return reject("Ed25519 key is invalid");
  std::string why;
  auto key = Key::from_pkey(std::move(kid), pkey, alg, &why);
  if (!key) return reject(why);
  return {JwkOutcome::kKey, std::move(key), {}};
}

JwkOutcome oct_key(const json::object& jwk, std::string kid, std::optional<JwsAlg> alg) {
  std::string error;
  std::optional<std::string> k = b64_member(jwk, "k", error);
  if (!k) return reject(error);
  if (k->empty()) return reject("member 'k' is empty");
  std::string why;
  auto key = Key::hmac(std::move(kid), std::move(*k), alg, &why);
  if (!key) return reject(why);
  return {JwkOutcome::kKey, std::move(key), {}};
}

bool valid_kid(std::string_view kid, size_t max) {
  if (kid.size() > max) return false;
  for (char c : kid) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  return true;
}

JwkOutcome parse_jwk(const json::value& v, const JwksLimits& limits, std::string& kid_out) {
  const json::object* jwk = v.if_object();
  if (jwk == nullptr) return reject("key is not an object");
  bool bad = false;
  const std::optional<std::string_view> kid = string_member(*jwk, "kid", bad);
  if (bad) return reject("member 'kid' is not a string");
  if (kid) {
    if (!valid_kid(*kid, limits.max_kid_bytes)) return reject("member 'kid' is too long or has control characters");
    kid_out.assign(*kid);
  }
  const std::optional<std::string_view> kty = string_member(*jwk, "kty", bad);
  if (!kty) return reject(bad ? "member 'kty' is not a string" : "member 'kty' is missing");
  const std::optional<std::string_view> use = string_member(*jwk, "use", bad);
  if (bad) return reject("member 'use' is not a string");
  const std::optional<std::string_view> alg_name = string_member(*jwk, "alg", bad);
  if (bad) return reject("member 'alg' is not a string");
  if (const json::value* ops = jwk->if_contains("key_ops")) {
    if (!ops->is_array()) return reject("member 'key_ops' is not an array");
    bool verify = false;
    for (const json::value& op : ops->get_array()) {
      if (!op.is_string()) return reject("member 'key_ops' has a non-string entry");
      if (op.get_string() == "verify") verify = true;
    }
    if (!verify) return skip("key_ops does not include verify");
  }

  if (*kty != "RSA" && *kty != "EC" && *kty != "OKP" && *kty != "oct") return skip("unsupported kty");
  if (use && *use != "sig") return skip("use is not sig");
  std::optional<JwsAlg> alg;
  if (alg_name) {
    alg = parse_alg(*alg_name);
    if (!alg) return skip("unsupported alg");
  }
  std::string id(kid.value_or(std::string_view()));
  if (*kty == "RSA") return rsa_key(*jwk, std::move(id), alg);
  if (*kty == "EC") return ec_key(*jwk, std::move(id), alg);
  if (*kty == "OKP") return okp_key(*jwk, std::move(id), alg);
  return oct_key(*jwk, std::move(id), alg);
}

}  // namespace

KeyResult load_pem_public_key(std::string_view pem, std::string kid, std::optional<JwsAlg> alg) {
  KeyResult r;
  if (pem.empty() || pem.size() > INT_MAX) {
    r.error = "public key is empty or too large";
    return r;
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  ERR_clear_error();
  if (pkey == nullptr) {
    r.error = "not a PEM public key";
    return r;
  }
  r.key = Key::from_pkey(std::move(kid), pkey, alg, &r.error);
  return r;
}

KeyResult load_hmac_secret(std::string_view secret, bool secret_is_base64, std::string kid,
                           std::optional<JwsAlg> alg) {
  KeyResult r;
  std::string bytes;
  if (secret_is_base64) {
    std::optional<std::string> decoded = base64_decode(secret);
    if (!decoded) {
      r.error = "secret is not valid base64";
      return r;
    }
    bytes = std::move(*decoded);
  } else {
    bytes.assign(secret);
  }
  r.key = Key::hmac(std::move(kid), std::move(bytes), alg, &r.error);
  return r;
}

JwksResult parse_jwks(std::string_view document, const JwksLimits& limits) {
  JwksResult r;
  if (document.size() > limits.max_document_bytes) {
    r.error = "JWKS document is too large";
    return r;
  }
  json::value doc;
  switch (parse_strict_json(document, doc, 8)) {
    case StrictJsonError::kOk: break;
    case StrictJsonError::kDuplicateKey:
      r.error = "JWKS document repeats a member name";
      return r;
    case StrictJsonError::kSyntax:
      r.error = "JWKS document is not valid JSON";
      return r;
  }
  const json::object* top = doc.if_object();
  const json::value* keys = top != nullptr ? top->if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    r.error = "JWKS document has no 'keys' array";
    return r;
  }
  const json::array& list = keys->get_array();
  if (list.size() > limits.max_keys) {
    r.error = fmt::format("JWKS document has more than {} keys", limits.max_keys);
    return r;
  }
  std::vector<std::shared_ptr<const Key>> usable;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string kid;
    JwkOutcome o = parse_jwk(list[i], limits, kid);
    switch (o.kind) {
      case JwkOutcome::kKey:
        for (const auto& k : usable) {
          if (!k->kid().empty() && k->kid() == o.key->kid() && k->type() == o.key->type()) {
            r.error = fmt::format("keys[{}]: kid repeats an earlier key of the same type", i);
            return r;
          }
        }
        usable.push_back(std::move(o.key));
        break;
      case JwkOutcome::kSkip:
        r.skipped.push_back({i, std::move(kid), std::move(o.reason)});
        break;
      case JwkOutcome::kReject:
        r.error = fmt::format("keys[{}]: {}", i, o.reason);
        return r;
    }
  }
  r.keys = std::make_shared<const KeySet>(std::move(usable));
  return r;
}

}  // namespace portico::auth
