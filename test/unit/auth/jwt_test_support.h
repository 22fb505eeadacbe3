// Test-side JOSE producer: generates keys with OpenSSL, signs compact JWS and writes JWKs, so the
// library under test only ever verifies what an independent signer made. No key is committed.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "auth/jwt.h"

namespace portico::auth::test {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Process-wide generated key pairs (generated once: RSA generation is slow).
EVP_PKEY* rsa2048();
EVP_PKEY* rsa2048_other();
EVP_PKEY* ec_p256();
EVP_PKEY* ec_p384();
EVP_PKEY* ed25519();
Pkey generate_rsa(unsigned bits);
Pkey generate_ec(const char* curve);

// SubjectPublicKeyInfo PEM of the public half; PKCS#8 PEM of the private key.
std::string public_pem(EVP_PKEY* key);
std::string private_pem(EVP_PKEY* key);

// JWS signature bytes over `input`: HMAC with `secret` for HS*, else with `key` (ES* as raw r||s).
std::string sign(JwsAlg alg, EVP_PKEY* key, std::string_view secret, std::string_view input);
// DER-encoded ECDSA signature (what a JWS must not carry).
std::string sign_ecdsa_der(JwsAlg alg, EVP_PKEY* key, std::string_view input);

// base64url(header).base64url(claims).base64url(signature).
std::string make_token(std::string_view header_json, std::string_view claims_json, JwsAlg alg, EVP_PKEY* key,
                       std::string_view secret = {});
// The header {"alg":"<alg>"[,"kid":"<kid>"]}.
std::string header_for(JwsAlg alg, std::string_view kid = {});

// The public JWK (JSON object text) of `key`, with optional kid and alg members.
std::string public_jwk(EVP_PKEY* key, std::string_view kid, std::string_view alg = {});

}  // namespace portico::auth::test
