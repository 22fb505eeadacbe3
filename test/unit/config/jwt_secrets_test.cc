// Kong's jwt_secrets: nested under a consumer or top-level, their validation (file:line:column,
// never the material), and the verification keys the snapshot compiles into the consumer
// directory.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config/snapshot.h"
#include "filter/consumer_directory.h"
#include "filters/builtin.h"
#include "test_util.h"

namespace portico::config {
namespace {

using testing::load_errors;
using testing::load_ok;

std::string public_pem(const char* type, const char* curve = nullptr) {
  EVP_PKEY* key = curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve)
                        : std::string_view(type) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                                           : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return out;
}

// The PEM as a YAML literal block indented by `indent` spaces.
std::string block(const std::string& pem, size_t indent) {
  std::string out = "|\n";
  size_t at = 0;
  while (at < pem.size()) {
    size_t nl = pem.find('\n', at);
    out += std::string(indent, ' ') + pem.substr(at, nl - at) + "\n";
    at = nl == std::string::npos ? pem.size() : nl + 1;
  }
  return out;
}

CompileResult compile_text(const std::string& yaml) {
  filter::Registry registry;
  filters::register_builtin_plugins(registry);
  LoadResult loaded = load_string(yaml, "kong.yaml");
  EXPECT_TRUE(loaded.ok()) << loaded.errors.to_string();
  if (!loaded.ok()) return {};
  return compile(std::make_shared<const Config>(std::move(*loaded.config)), registry);
}

TEST(JwtSecrets, NestedAndTopLevelCompileIntoKeys) {
  const std::string yaml = R"(_format_version: "3.0"
consumers:
  - username: alice
    jwt_secrets:
      - key: alice-hs
        id: 22222222-2222-4222-8222-222222222222
        secret: c2VjcmV0LWJ5dGVz
        tags: [web]
  - username: bob
jwt_secrets:
  - key: bob-es
    algorithm: ES256
    rsa_public_key: )" + block(public_pem("EC", "P-256"), 6) +
                           R"(    consumer: bob
  - key: bob-ed
    algorithm: EdDSA
    rsa_public_key: )" + block(public_pem("ED25519"), 6) +
                           R"(    consumer: {username: bob}
  - key: bob-plain
    algorithm: HS512
    secret: not base64!
    consumer: bob
)";
  Config c = load_ok(yaml);
  ASSERT_EQ(c.jwt_secrets.size(), 4u);
  EXPECT_EQ(c.jwt_secrets[0].algorithm, "HS256");
  EXPECT_EQ(c.jwt_secrets[0].consumer, 0);
  EXPECT_EQ(c.jwt_secrets[0].tags, std::vector<std::string>{"web"});
  EXPECT_EQ(c.jwt_secrets[1].consumer, 1);
  EXPECT_EQ(c.jwt_secrets[1].yaml_path, "jwt_secrets[0]");

  CompileResult r = compile_text(yaml);
  ASSERT_TRUE(r.errors.empty()) << r.errors.to_string();
  const filter::ConsumerDirectory& dir = *r.snapshot->consumers;
  EXPECT_EQ(dir.jwt_count(), 4u);
  const filter::JwtCredentialEntry* hs = dir.find_jwt("alice-hs");
  ASSERT_NE(hs, nullptr);
  EXPECT_EQ(hs->consumer, 0);
  EXPECT_EQ(hs->id, "22222222-2222-4222-8222-222222222222");
  EXPECT_EQ(hs->algorithm, auth::JwsAlg::kHS256);
  ASSERT_TRUE(hs->key);
  EXPECT_EQ(hs->key->type(), auth::KeyType::kOct);
  ASSERT_TRUE(hs->key_base64) << "the secret is valid base64 too";
  EXPECT_EQ(hs->key_base64->secret(), "secret-bytes");
  const filter::JwtCredentialEntry* es = dir.find_jwt("bob-es");
  ASSERT_NE(es, nullptr);
  EXPECT_EQ(es->key->type(), auth::KeyType::kEcP256);
  EXPECT_EQ(dir.find_jwt("bob-ed")->key->type(), auth::KeyType::kEd25519);
  EXPECT_FALSE(dir.find_jwt("bob-plain")->key_base64) << "not base64: only usable without secret_is_base64";
  EXPECT_EQ(dir.find_jwt("nobody"), nullptr);
}

TEST(JwtSecrets, LoadErrors) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
consumers:
  - username: alice
    jwt_secrets:
      - secret: example-secret-1
      - key: k2
        algorithm: RS256
      - key: k3
        algorithm: HS1
        secret: example-secret-3
      - key: k4
        consumer: alice
        secret: ""
  - username: bob
jwt_secrets:
  - key: k2
    algorithm: ES384
    rsa_public_key: x
    consumer: bob
  - key: k5
    secret: example-secret-5
)"),
            "kong.yaml:5:9: consumers[0].jwt_secrets[0]: missing required field 'key'; Kong generates a "
            "key when none is given, Portico cannot store one: write the key in the file\n"
            "kong.yaml:6:9: consumers[0].jwt_secrets[1]: missing required field 'rsa_public_key' for "
            "algorithm RS256 (a PEM public key)\n"
            "kong.yaml:9:20: consumers[0].jwt_secrets[2].algorithm: unknown algorithm \"HS1\" (expected "
            "one of: HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)\n"
            "kong.yaml:12:9: consumers[0].jwt_secrets[3].consumer: a jwt_secret nested under a consumer "
            "must not have a 'consumer' field; it belongs to that consumer already\n"
            "kong.yaml:13:17: consumers[0].jwt_secrets[3].secret: secret must not be empty\n"
            "kong.yaml:16:10: jwt_secrets[0].key: duplicate jwt_secret key (first defined at line 6); the "
            "key names the secret a token is checked with, so it must be unique across consumers\n"
            "kong.yaml:20:5: jwt_secrets[1]: missing required field 'consumer'");
}

TEST(JwtSecrets, CompileErrorsPointAtTheMaterialWithoutQuotingIt) {
  const std::string yaml = R"(_format_version: "3.0"
consumers:
  - username: alice
    jwt_secrets:
      - key: rs
        algorithm: RS256
        rsa_public_key: "-----BEGIN PUBLIC KEY-----\nQUJDRA==\n-----END PUBLIC KEY-----\n"
      - key: wrong-type
        algorithm: RS256
        rsa_public_key: )" + block(public_pem("EC", "P-384"), 10) +
                           R"(      - key: private
        algorithm: ES256
        rsa_public_key: "-----BEGIN PRIVATE KEY-----\nQUJDRA==\n-----END PRIVATE KEY-----\n"
)";
  CompileResult r = compile_text(yaml);
  const std::string text = r.errors.to_string();
  EXPECT_NE(text.find("kong.yaml:7:25: consumers[0].jwt_secrets[0].rsa_public_key: bad rsa_public_key for "
                      "algorithm RS256: "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("kong.yaml:10:25: consumers[0].jwt_secrets[1].rsa_public_key: bad rsa_public_key for "
                      "algorithm RS256: "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("consumers[0].jwt_secrets[2].rsa_public_key: bad rsa_public_key"), std::string::npos) << text;
  EXPECT_EQ(text.find("QUJDRA"), std::string::npos) << "material is never echoed";
}

}  // namespace
}  // namespace portico::config
