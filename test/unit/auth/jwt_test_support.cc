#include "jwt_test_support.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "auth/base64url.h"

namespace portico::auth::test {
namespace {

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL failure in test support: ") + what);
}

const EVP_MD* md_for(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kHS256: case JwsAlg::kRS256: case JwsAlg::kPS256: case JwsAlg::kES256: return EVP_sha256();
    case JwsAlg::kHS384: case JwsAlg::kRS384: case JwsAlg::kPS384: case JwsAlg::kES384: return EVP_sha384();
    case JwsAlg::kHS512: case JwsAlg::kRS512: case JwsAlg::kPS512: return EVP_sha512();
    case JwsAlg::kEdDSA: return nullptr;
  }
  return nullptr;
}

std::string digest_sign(JwsAlg alg, EVP_PKEY* key, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  require(EVP_DigestSignInit(ctx, &pctx, md_for(alg), nullptr, key) == 1, "DigestSignInit");
  if (alg == JwsAlg::kPS256 || alg == JwsAlg::kPS384 || alg == JwsAlg::kPS512) {
    require(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1, "pss");
    require(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1, "saltlen");
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  require(EVP_DigestSign(ctx, nullptr, &len, in, input.size()) == 1, "DigestSign size");
  std::string sig(len, '\0');
  require(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) == 1,
          "DigestSign");
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

std::string bn_bytes(const BIGNUM* bn, size_t pad) {
  std::string out(pad == 0 ? static_cast<size_t>(BN_num_bytes(bn)) : pad, '\0');
  require(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) >= 0,
          "bn2binpad");
  return out;
}

std::string bn_param(EVP_PKEY* key, const char* name, size_t pad) {
  BIGNUM* bn = nullptr;
  require(EVP_PKEY_get_bn_param(key, name, &bn) == 1, name);
  std::string out = bn_bytes(bn, pad);
  BN_free(bn);
  return out;
}

}  // namespace

Pkey generate_rsa(unsigned bits) {
  Pkey k(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  require(k != nullptr, "RSA keygen");
  return k;
}

Pkey generate_ec(const char* curve) {
  Pkey k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  require(k != nullptr, "EC keygen");
  return k;
}

EVP_PKEY* rsa2048() {
  static Pkey k = generate_rsa(2048);
  return k.get();
}
EVP_PKEY* rsa2048_other() {
  static Pkey k = generate_rsa(2048);
  return k.get();
}
EVP_PKEY* ec_p256() {
  static Pkey k = generate_ec("P-256");
  return k.get();
}
EVP_PKEY* ec_p384() {
  static Pkey k = generate_ec("P-384");
  return k.get();
}
EVP_PKEY* ed25519() {
  static Pkey k(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  return k.get();
}

std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  require(PEM_write_bio_PUBKEY(bio, key) == 1, "write PUBKEY");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string private_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  require(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "write key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string sign_ecdsa_der(JwsAlg alg, EVP_PKEY* key, std::string_view input) {
  return digest_sign(alg, key, input);
}

std::string sign(JwsAlg alg, EVP_PKEY* key, std::string_view secret, std::string_view input) {
  switch (alg) {
    case JwsAlg::kHS256:
    case JwsAlg::kHS384:
    case JwsAlg::kHS512: {
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      require(HMAC(md_for(alg), secret.data(), static_cast<int>(secret.size()),
                   reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len) != nullptr,
              "HMAC");
      return std::string(reinterpret_cast<char*>(mac), len);
    }
    case JwsAlg::kES256:
    case JwsAlg::kES384: {
      const std::string der = digest_sign(alg, key, input);
      const auto* p = reinterpret_cast<const unsigned char*>(der.data());
      ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
      require(sig != nullptr, "d2i_ECDSA_SIG");
      const size_t n = alg == JwsAlg::kES256 ? 32 : 48;
      std::string raw = bn_bytes(ECDSA_SIG_get0_r(sig), n) + bn_bytes(ECDSA_SIG_get0_s(sig), n);
      ECDSA_SIG_free(sig);
      return raw;
    }
    default:
      return digest_sign(alg, key, input);
  }
}

std::string header_for(JwsAlg alg, std::string_view kid) {
  std::string h = "{\"alg\":\"" + std::string(to_string(alg)) + "\"";
  if (!kid.empty()) h += ",\"kid\":\"" + std::string(kid) + "\"";
  return h + "}";
}

std::string make_token(std::string_view header_json, std::string_view claims_json, JwsAlg alg, EVP_PKEY* key,
                       std::string_view secret) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(claims_json);
  const std::string sig = sign(alg, key, secret, input);
  return input + "." + base64url_encode(sig);
}

std::string public_jwk(EVP_PKEY* key, std::string_view kid, std::string_view alg) {
  std::string members;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      members = "\"kty\":\"RSA\",\"n\":\"" + base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_N, 0)) +
                "\",\"e\":\"" + base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_E, 0)) + "\"";
      break;
    case EVP_PKEY_EC: {
      const int bits = EVP_PKEY_get_bits(key);
      const size_t n = static_cast<size_t>((bits + 7) / 8);
      members = std::string("\"kty\":\"EC\",\"crv\":\"") + (bits == 256 ? "P-256" : bits == 384 ? "P-384" : "P-521") +
                "\",\"x\":\"" + base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, n)) + "\",\"y\":\"" +
                base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, n)) + "\"";
      break;
    }
    case EVP_PKEY_ED25519: {
      std::string raw(32, '\0');
      size_t len = raw.size();
      require(EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) == 1, "raw pub");
      members = "\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + base64url_encode(raw) + "\"";
      break;
    }
    default:
      require(false, "unsupported key in public_jwk");
  }
  if (!kid.empty()) members += ",\"kid\":\"" + std::string(kid) + "\"";
  if (!alg.empty()) members += ",\"alg\":\"" + std::string(alg) + "\"";
  return "{" + members + "}";
}

}  // namespace portico::auth::test
