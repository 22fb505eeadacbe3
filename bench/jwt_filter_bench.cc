// What the `jwt` plugin costs per request on top of the token library (jwt_bench.cc): finding the
// token in the headers, the jwt_secrets lookup by key claim, the consumer headers, with the
// Exchange reset between iterations as a worker does. One HS256 and one ES256 secret. The plugin
// remembers verified tokens, so each is measured twice: Verify cycles through 4x as many distinct
// tokens as the cache holds (parse, secret lookup, signature check and insertion nearly every
// time) and Cached presents the same token again (a verified-token cache hit).
#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "auth/base64url.h"
#include "auth/jwk.h"
#include "filter/consumer_directory.h"
#include "filters/jwt/jwt_filter.h"

namespace {

namespace auth = portico::auth;
namespace filter = portico::filter;
using portico::filters::JwtFilter;

constexpr std::string_view kSecret = "benchmark-hmac-secret-of-32-byte";

void die(const char* what) {
  std::fprintf(stderr, "jwt_filter_bench: %s\n", what);
  std::abort();
}

// 4x the plugin's 4,096 cache slots: a token seen again has almost always been evicted.
constexpr size_t kDistinctTokens = 16384;

std::string claims(std::string_view iss, size_t jti) {
  return R"({"iss":")" + std::string(iss) + R"(","jti":")" + std::to_string(jti) +
         R"(","sub":"user-1234","aud":["api","web"],"iat":1700000000,"exp":4000000000,"scope":"openid read"})";
}

struct Setup {
  std::shared_ptr<filter::ConsumerDirectory> dir = std::make_shared<filter::ConsumerDirectory>();
  std::vector<std::string> hs_tokens;
  std::vector<std::string> es_tokens;

  Setup() {
    dir->consumers.push_back({"c0ffee00-0000-4000-8000-000000000001", "bench", "", {}, ""});
    filter::JwtCredentialEntry hs;
    hs.consumer = 0;
    hs.id = "cred-hs";
    hs.algorithm = auth::JwsAlg::kHS256;
    hs.key = auth::load_hmac_secret(kSecret, false, "bench-hs", auth::JwsAlg::kHS256).key;
    dir->add_jwt("bench-hs", hs);
    for (size_t i = 0; i < kDistinctTokens; ++i) {
      const std::string input = auth::base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                                auth::base64url_encode(claims("bench-hs", i));
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
      hs_tokens.push_back(input + "." +
                          auth::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), len)));
    }

    EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (!ec) die("keygen");
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, ec);
    char* pem = nullptr;
    const long pem_len = BIO_get_mem_data(bio, &pem);
    filter::JwtCredentialEntry es;
    es.consumer = 0;
    es.algorithm = auth::JwsAlg::kES256;
    es.key = auth::load_pem_public_key(std::string_view(pem, static_cast<size_t>(pem_len)), "bench-es",
                                       auth::JwsAlg::kES256)
                 .key;
    BIO_free(bio);
    if (!es.key) die("pem");
    dir->add_jwt("bench-es", es);
    for (size_t i = 0; i < kDistinctTokens; ++i) {
      const std::string input = auth::base64url_encode(R"({"alg":"ES256","typ":"JWT"})") + "." +
                                auth::base64url_encode(claims("bench-es", i));
      EVP_MD_CTX* ctx = EVP_MD_CTX_new();
      unsigned char der[128];
      size_t der_len = sizeof(der);
      if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, ec) != 1 ||
          EVP_DigestSign(ctx, der, &der_len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
              1) {
        die("sign");
      }
      EVP_MD_CTX_free(ctx);
      const unsigned char* p = der;
      ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
      unsigned char raw[64];
      BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
      ECDSA_SIG_free(sig);
      es_tokens.push_back(input + "." + auth::base64url_encode(std::string_view(reinterpret_cast<char*>(raw), 64)));
    }
    EVP_PKEY_free(ec);
    dir->index_consumers();
  }
};

const Setup& setup() {
  static const Setup s;
  return s;
}

// Presents tokens[0], tokens[1], ... in turn (only the first when `cached`).
void run(benchmark::State& state, const std::vector<std::string>& tokens, bool cached) {
  JwtFilter plugin(JwtFilter::Config{}, nullptr);
  boost::asio::io_context io;
  filter::Exchange x{io.get_executor()};
  std::vector<std::string> authorizations;
  for (size_t i = 0; i < (cached ? 1 : tokens.size()); ++i) authorizations.push_back("Bearer " + tokens[i]);
  size_t next = 0;
  for (auto _ : state) {
    const std::string& authorization = authorizations[next];
    if (++next == authorizations.size()) next = 0;
    x.clear();
    x.consumers = setup().dir.get();
    x.request.method = "GET";
    x.request.path = "/orders";
    x.request.headers.add("Host", "api.example");
    x.request.headers.add("Authorization", authorization);
    filter::Step step = plugin.on_request(x);
    benchmark::DoNotOptimize(step);
    if (x.consumer_index != 0) die("not authenticated");
  }
}

void BM_JwtFilterHS256Verify(benchmark::State& state) { run(state, setup().hs_tokens, false); }
void BM_JwtFilterES256Verify(benchmark::State& state) { run(state, setup().es_tokens, false); }
void BM_JwtFilterHS256Cached(benchmark::State& state) { run(state, setup().hs_tokens, true); }
void BM_JwtFilterES256Cached(benchmark::State& state) { run(state, setup().es_tokens, true); }

}  // namespace

BENCHMARK(BM_JwtFilterHS256Verify);
BENCHMARK(BM_JwtFilterES256Verify);
BENCHMARK(BM_JwtFilterHS256Cached);
BENCHMARK(BM_JwtFilterES256Cached);
BENCHMARK_MAIN();
