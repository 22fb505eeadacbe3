// libFuzzer target: JWT parsing, signature verification and claim checks.
//
// The first input byte picks what the rest is:
//   0: a whole compact token, verified against a fixed HMAC key and a fixed EC P-256 key;
//   1: a claims set, signed here HS256 with the fixed secret, so the claim checks run on every
//      input whose JSON parses (a signature failure would be a verifier bug);
//   2: a header, signed HS256 over fixed claims: alg / kid / crit handling behind a valid MAC;
//   3: a claims set signed ES256 with the fixed EC key (raw r||s conversion, EC verify).
// Always: the base64url codec is canonical (decode∘encode and encode∘decode are identities).
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/base64url.h"
#include "auth/jwk.h"
#include "auth/jwt.h"
#include "auth/jwt_verify.h"
#include "fuzz_support.h"

namespace {

using namespace portico::auth;

constexpr std::string_view kSecret = "portico-fuzz-hmac-secret-32bytes";
constexpr int64_t kNow = 1'800'000'000;

struct State {
  EVP_PKEY* ec = nullptr;  // private; its public half is in `keys`
  KeySet keys;
  VerifyPolicy policy;
  ParseLimits limits;
};

const State& state() {
  static const State* s = [] {
    auto* st = new State;
    st->ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    FUZZ_CHECK(st->ec != nullptr);
    // The public half goes through the same loader configuration uses.
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(st->ec, &der);
    FUZZ_CHECK(len > 0);
    const unsigned char* p = der;
    EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, len);
    OPENSSL_free(der);
    std::string error;
    auto ec_key = Key::from_pkey("e", pub, std::nullopt, &error);
    FUZZ_CHECK(ec_key != nullptr);
    KeyResult hmac = load_hmac_secret(kSecret, false, "h");
    FUZZ_CHECK(hmac.key != nullptr);
    st->keys = KeySet({hmac.key, ec_key});
    for (size_t i = 0; i < kJwsAlgCount; ++i) st->policy.allowed_algs.push_back(static_cast<JwsAlg>(i));
    st->policy.claims.leeway = std::chrono::seconds(60);
    st->policy.claims.maximum_expiration = std::chrono::seconds(86400);
    st->policy.claims.issuers = {"https://idp.example"};
    st->policy.claims.audiences = {"api", "web"};
    st->policy.claims.required_scopes = {"read"};
    st->policy.claims.required_claims = {"sub"};
    st->limits.max_token_bytes = 4096;
    st->limits.max_kid_bytes = 64;
    return st;
  }();
  return *s;
}

std::string hmac_sha256(std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  FUZZ_CHECK(HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len) != nullptr);
  return std::string(reinterpret_cast<char*>(mac), len);
}

std::string es256(EVP_PKEY* key, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  FUZZ_CHECK(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1);
  unsigned char der[128];
  size_t der_len = sizeof(der);
  FUZZ_CHECK(EVP_DigestSign(ctx, der, &der_len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1);
  EVP_MD_CTX_free(ctx);
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
  FUZZ_CHECK(sig != nullptr);
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

void check_base64(std::string_view text) {
  const std::optional<std::string> decoded = base64url_decode(text);
  if (decoded) FUZZ_CHECK(base64url_encode(*decoded) == text);
  const std::optional<std::string> again = base64url_decode(base64url_encode(text));
  FUZZ_CHECK(again && *again == text);
}

// Runs the full path on `token` and checks what must hold for its result.
JwtError run(const State& st, std::string_view token, Jwt& jwt) {
  const Key* used = nullptr;
  const JwtError e = authenticate(token, st.keys, st.policy, st.limits, kNow, jwt, &used);
  FUZZ_CHECK(!to_string(e).empty() && !message(e).empty());
  if (e == JwtError::kOk) {
    FUZZ_CHECK(used != nullptr);
    FUZZ_CHECK(used->usable_with(jwt.alg));
    FUZZ_CHECK(!jwt.kid || *jwt.kid == used->kid());
    FUZZ_CHECK(token.size() <= st.limits.max_token_bytes);
    FUZZ_CHECK(token.substr(0, jwt.signing_input.size()) == jwt.signing_input);
    // Accepted claims satisfy the policy on their own.
    FUZZ_CHECK(check_claims(jwt.claims, st.policy.claims, kNow) == JwtError::kOk);
  }
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const State& st = state();
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 4;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  check_base64(rest);

  switch (mode) {
    case 0: {
      Jwt jwt;
      run(st, rest, jwt);
      // Also the claim checks alone, on whatever parses, without a signature in the way.
      Jwt parsed;
      if (parse_jwt(rest, parsed, st.limits) == JwtError::kOk) {
        (void)check_claims(parsed.claims, st.policy.claims, kNow);
      }
      break;
    }
    case 1:
    case 3: {
      const std::string input = base64url_encode(mode == 1 ? R"({"alg":"HS256","kid":"h"})"
                                                           : R"({"alg":"ES256","kid":"e"})") +
                                "." + base64url_encode(rest);
      const std::string sig = mode == 1 ? hmac_sha256(input) : es256(st.ec, input);
      Jwt jwt;
      const JwtError e = run(st, input + "." + base64url_encode(sig), jwt);
      FUZZ_CHECK(e != JwtError::kBadSignature && e != JwtError::kBadBase64 && e != JwtError::kUnknownKid);
      FUZZ_CHECK(e != JwtError::kAlgNotAllowed && e != JwtError::kAlgNone);
      break;
    }
    case 2: {
      const std::string input = base64url_encode(rest) + "." +
                                base64url_encode(R"({"sub":"s","iss":"https://idp.example","aud":"api","scope":"read","exp":1800000100})");
      Jwt jwt;
      const JwtError e = run(st, input + "." + base64url_encode(hmac_sha256(input)), jwt);
      // Only the HMAC key under its own kid (or no kid) and HS256 can accept this MAC.
      if (e == JwtError::kOk) FUZZ_CHECK(jwt.alg == JwsAlg::kHS256 && (!jwt.kid || *jwt.kid == "h"));
      FUZZ_CHECK(e != JwtError::kBadBase64);
      break;
    }
  }
  return 0;
}
