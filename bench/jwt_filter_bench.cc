// What the `jwt` plugin costs per request on top of the token library (jwt_bench.cc): finding the
// token in the headers, the jwt_secrets lookup by key claim, the consumer headers, with the
// Exchange reset between iterations as a worker does. One HS256 and one ES256 secret.
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

std::string claims(std::string_view iss) {
  return R"({"iss":")" + std::string(iss) +
         R"(","sub":"user-1234","aud":["api","web"],"iat":1700000000,"exp":4000000000,"scope":"openid read"})";
}

struct Setup {
  std::shared_ptr<filter::ConsumerDirectory> dir = std::make_shared<filter::ConsumerDirectory>();
  std::string hs_token;
  std::string es_token;

  Setup() {
    dir->consumers.push_back({"c0ffee00-0000-4000-8000-000000000001", "bench", "", {}, ""});
    filter::JwtCredentialEntry hs;
    hs.consumer = 0;
    hs.id = "cred-hs";
    hs.algorithm = auth::JwsAlg::kHS256;
    hs.key = auth::load_hmac_secret(kSecret, false, "bench-hs", auth::JwsAlg::kHS256).key;
    dir->add_jwt("bench-hs", hs);
    std::string input = auth::base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                        auth::base64url_encode(claims("bench-hs"));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    hs_token = input + "." + auth::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), len));

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
    input = auth::base64url_encode(R"({"alg":"ES256","typ":"JWT"})") + "." + auth::base64url_encode(claims("bench-es"));
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_len = sizeof(der);
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, ec) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      die("sign");
    }
    EVP_MD_CTX_free(ctx);
    const unsigned char* p = der;
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
    ECDSA_SIG_free(sig);
    EVP_PKEY_free(ec);
    es_token = input + "." + auth::base64url_encode(std::string_view(reinterpret_cast<char*>(raw), 64));
    dir->index_consumers();
  }
};

const Setup& setup() {
  static const Setup s;
  return s;
}

void run(benchmark::State& state, const std::string& token) {
  JwtFilter plugin(JwtFilter::Config{}, nullptr);
  boost::asio::io_context io;
  filter::Exchange x{io.get_executor()};
  const std::string authorization = "Bearer " + token;
  for (auto _ : state) {
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

void BM_JwtFilterHS256(benchmark::State& state) { run(state, setup().hs_token); }
void BM_JwtFilterES256(benchmark::State& state) { run(state, setup().es_token); }

}  // namespace

BENCHMARK(BM_JwtFilterHS256);
BENCHMARK(BM_JwtFilterES256);
BENCHMARK_MAIN();
