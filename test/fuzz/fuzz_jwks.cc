// libFuzzer target: JWK Set documents from a (possibly hostile or broken) identity provider,
// plus the Cache-Control reading that decides how long a fetched set is kept and the configured
// secret / PEM loaders. Checks that a returned set holds only usable, findable, public keys and
// that the cache lifetime stays within RFC 9111's bounds.
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/cache_control.h"
#include "auth/jwk.h"
#include "fuzz_support.h"

namespace {

using namespace portico::auth;

bool some_alg_works(const Key& key) {
  for (size_t i = 0; i < kJwsAlgCount; ++i) {
    if (key.usable_with(static_cast<JwsAlg>(i))) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  JwksLimits limits;
  limits.max_keys = 16;
  limits.max_document_bytes = 64 * 1024;
  limits.max_kid_bytes = 64;
  const JwksResult r = parse_jwks(text, limits);
  if (r.keys) {
    FUZZ_CHECK(r.error.empty());
    FUZZ_CHECK(r.keys->size() + r.skipped.size() <= limits.max_keys);
    for (const auto& key : r.keys->keys()) {
      FUZZ_CHECK(some_alg_works(*key));
      FUZZ_CHECK(key->kid().size() <= limits.max_kid_bytes);
      FUZZ_CHECK((key->type() == KeyType::kOct) == (key->pkey() == nullptr));
      FUZZ_CHECK((key->type() == KeyType::kOct) == !key->secret().empty());
      for (size_t i = 0; i < kJwsAlgCount; ++i) {
        const auto alg = static_cast<JwsAlg>(i);
        if (!key->usable_with(alg)) continue;
        const Key* found = r.keys->find(key->kid(), alg);
        FUZZ_CHECK(found != nullptr && found->kid() == key->kid() && found->usable_with(alg));
      }
    }
    for (const JwksSkippedKey& s : r.skipped) FUZZ_CHECK(!s.reason.empty());
  } else {
    FUZZ_CHECK(!r.error.empty());
  }

  const CacheControl cc = parse_cache_control(text);
  const auto ttl = freshness_lifetime(cc);
  if (ttl) FUZZ_CHECK(ttl->count() >= 0 && ttl->count() <= (int64_t{1} << 31));
  if (cc.no_store || cc.no_cache) FUZZ_CHECK(ttl && ttl->count() == 0);

  const KeyResult secret = load_hmac_secret(text, true, "k");
  FUZZ_CHECK((secret.key != nullptr) == secret.error.empty());
  if (secret.key) FUZZ_CHECK(!secret.key->secret().empty() && secret.key->secret().size() <= size);
  const KeyResult pem = load_pem_public_key(text, "k");
  FUZZ_CHECK((pem.key != nullptr) == pem.error.empty());
  if (pem.key) FUZZ_CHECK(pem.key->type() != KeyType::kOct);
  return 0;
}
