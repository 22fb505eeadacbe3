// Per-token cost of JWT authentication as the request path will pay it: parse (base64url, strict
// JSON, header checks) + signature verification + claim checks, for the common algorithms.
// Keys and tokens are generated at start-up; each token carries a typical claims set.
#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "auth/base64url.h"
#include "auth/jwk.h"
#include "auth/jwt_verify.h"

namespace {

namespace auth = portico::auth;

constexpr std::string_view kSecret = "benchmark-hmac-secret-of-32-byte";
constexpr int64_t kNow = 1'800'000'000;
constexpr std::string_view kClaims =
    R"({"iss":"https://idp.example","sub":"user-1234","aud":["api","web"],"iat":1799999000,)"
    R"("nbf":1799999000,"exp":1800003600,"scope":"openid profile read write","jti":"5c1f0d1e-3b7a"})";

void die(const char* what) {
  std::fprintf(stderr, "jwt_bench: %s\n", what);
  std::abort();
}

std::string digest_sign(const EVP_MD* md, EVP_PKEY* key, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (EVP_DigestSignInit(ctx, nullptr, md, nullptr, key) != 1) die("sign init");
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx, nullptr, &len, in, input.size()) != 1) die("sign size");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) != 1) die("sign");
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

struct Fixture {
  std::string token;
  auth::KeySet keys;
  auth::VerifyPolicy policy;
};

Fixture make(auth::JwsAlg alg) {
  Fixture f;
  const std::string kid = "bench-key";
  const std::string input = auth::base64url_encode(R"({"alg":")" + std::string(auth::to_string(alg)) +
                                                   R"(","typ":"JWT","kid":")" + kid + "\"}") +
                            "." + auth::base64url_encode(kClaims);
  std::string sig;
  std::shared_ptr<const auth::Key> key;
  if (alg == auth::JwsAlg::kHS256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    sig.assign(reinterpret_cast<char*>(mac), len);
    key = auth::load_hmac_secret(kSecret, false, kid).key;
  } else {
    EVP_PKEY* pkey = nullptr;
    if (alg == auth::JwsAlg::kRS256) pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
    if (alg == auth::JwsAlg::kES256) pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (alg == auth::JwsAlg::kEdDSA) pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (pkey == nullptr) die("keygen");
    sig = digest_sign(alg == auth::JwsAlg::kEdDSA ? nullptr : EVP_sha256(), pkey, input);
    if (alg == auth::JwsAlg::kES256) {
      const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
      ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
      sig.assign(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(sig.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(sig.data()) + 32, 32);
      ECDSA_SIG_free(es);
    }
    // The public half, through the same path configuration uses (DER → Key).
    unsigned char* der = nullptr;
    const int der_len = i2d_PUBKEY(pkey, &der);
    const unsigned char* dp = der;
    EVP_PKEY* pub = d2i_PUBKEY(nullptr, &dp, der_len);
    OPENSSL_free(der);
    EVP_PKEY_free(pkey);
    key = auth::Key::from_pkey(kid, pub, alg);
  }
  if (!key) die("key");
  f.token = input + "." + auth::base64url_encode(sig);
  f.keys = auth::KeySet({key});
  f.policy.allowed_algs = {alg};
  f.policy.claims.leeway = std::chrono::seconds(30);
  f.policy.claims.issuers = {"https://idp.example"};
  f.policy.claims.audiences = {"api"};
  f.policy.claims.required_scopes = {"read"};
  f.policy.claims.maximum_expiration = std::chrono::seconds(86400);
  return f;
}

void BM_Authenticate(benchmark::State& state, auth::JwsAlg alg) {
  const Fixture f = make(alg);
  const auth::ParseLimits limits;
  for (auto _ : state) {
    auth::Jwt jwt;
    const auth::JwtError e = auth::authenticate(f.token, f.keys, f.policy, limits, kNow, jwt);
    if (e != auth::JwtError::kOk) {
      state.SkipWithError("token rejected");
      break;
    }
    benchmark::DoNotOptimize(jwt);
  }
  state.counters["token_bytes"] = static_cast<double>(f.token.size());
}

// Parsing alone (no signature, no claims): the cost every token pays before any crypto.
void BM_ParseOnly(benchmark::State& state) {
  const Fixture f = make(auth::JwsAlg::kHS256);
  for (auto _ : state) {
    auth::Jwt jwt;
    benchmark::DoNotOptimize(auth::parse_jwt(f.token, jwt));
  }
}

// A forged HS256 token (wrong secret): what an attacker's request costs.
void BM_RejectForgedHs256(benchmark::State& state) {
  Fixture f = make(auth::JwsAlg::kHS256);
  f.token.back() = f.token.back() == 'A' ? 'Q' : 'A';
  for (auto _ : state) {
    auth::Jwt jwt;
    benchmark::DoNotOptimize(auth::authenticate(f.token, f.keys, f.policy, {}, kNow, jwt));
  }
}

BENCHMARK_CAPTURE(BM_Authenticate, HS256, auth::JwsAlg::kHS256);
BENCHMARK_CAPTURE(BM_Authenticate, RS256, auth::JwsAlg::kRS256);
BENCHMARK_CAPTURE(BM_Authenticate, ES256, auth::JwsAlg::kES256);
BENCHMARK_CAPTURE(BM_Authenticate, EdDSA, auth::JwsAlg::kEdDSA);
BENCHMARK(BM_ParseOnly);
BENCHMARK(BM_RejectForgedHs256);

}  // namespace

BENCHMARK_MAIN();
