#include "auth/key.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace portico::auth {
namespace {

void set_error(std::string* error, std::string_view text) {
  if (error != nullptr) error->assign(text);
}

std::optional<KeyType> pkey_type(EVP_PKEY* pkey, std::string* error) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(pkey);
      if (bits < kMinRsaBits) {
        set_error(error, "RSA key is shorter than 2048 bits");
        return std::nullopt;
      }
      if (bits > kMaxRsaBits) {
        set_error(error, "RSA key is longer than 8192 bits");
        return std::nullopt;
      }
      return KeyType::kRsa;
    }
    case EVP_PKEY_EC: {
      std::array<char, 64> group{};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(), &len) != 1) {
        set_error(error, "EC key has no named curve");
        return std::nullopt;
      }
      const std::string_view name(group.data(), len);
      if (name == "prime256v1" || name == "P-256") return KeyType::kEcP256;
      if (name == "secp384r1" || name == "P-384") return KeyType::kEcP384;
      set_error(error, "EC curve is not P-256 or P-384");
      return std::nullopt;
    }
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    default:
      set_error(error, "unsupported key type (RSA, EC P-256/P-384 and Ed25519 are supported)");
      return std::nullopt;
  }
}

}  // namespace

std::string_view to_string(KeyType type) {
  switch (type) {
    case KeyType::kOct: return "oct";
    case KeyType::kRsa: return "RSA";
    case KeyType::kEcP256: return "EC P-256";
    case KeyType::kEcP384: return "EC P-384";
    case KeyType::kEd25519: return "Ed25519";
  }
  return "?";
}

KeyType key_type_for(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kHS256:
    case JwsAlg::kHS384:
    case JwsAlg::kHS512: return KeyType::kOct;
    case JwsAlg::kRS256:
    case JwsAlg::kRS384:
    case JwsAlg::kRS512:
    case JwsAlg::kPS256:
    case JwsAlg::kPS384:
    case JwsAlg::kPS512: return KeyType::kRsa;
    case JwsAlg::kES256: return KeyType::kEcP256;
    case JwsAlg::kES384: return KeyType::kEcP384;
    case JwsAlg::kEdDSA: return KeyType::kEd25519;
  }
  return KeyType::kOct;
}

Key::Key(std::string kid, KeyType type, std::optional<JwsAlg> alg, EVP_PKEY* pkey, std::string secret)
    : kid_(std::move(kid)), type_(type), alg_(alg), pkey_(pkey), secret_(std::move(secret)) {}

Key::~Key() {
  if (pkey_ != nullptr) EVP_PKEY_free(pkey_);
  for (EVP_MAC_CTX* c : hmac_) EVP_MAC_CTX_free(c);
  // Secrets are wiped rather than left in freed memory.
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
}

std::shared_ptr<const Key> Key::hmac(std::string kid, std::string secret, std::optional<JwsAlg> alg,
                                     std::string* error) {
  if (secret.empty()) {
    set_error(error, "HMAC secret is empty");
    return nullptr;
  }
  if (alg && key_type_for(*alg) != KeyType::kOct) {
    set_error(error, "algorithm does not suit an HMAC key");
    return nullptr;
  }
  std::shared_ptr<Key> key(new Key(std::move(kid), KeyType::kOct, alg, nullptr, std::move(secret)));
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  static constexpr const char* kDigests[3] = {"SHA256", "SHA384", "SHA512"};
  for (size_t i = 0; i < 3; ++i) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(kDigests[i]), 0),
        OSSL_PARAM_construct_end(),
    };
    key->hmac_[i] = mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr;
    if (key->hmac_[i] == nullptr ||
        EVP_MAC_init(key->hmac_[i], reinterpret_cast<const unsigned char*>(key->secret_.data()),
                     key->secret_.size(), params) != 1) {
      ERR_clear_error();
      set_error(error, "HMAC key could not be set up");
      return nullptr;
    }
  }
  return key;
}

const EVP_MAC_CTX* Key::hmac_template(JwsAlg alg) const {
  switch (alg) {
    case JwsAlg::kHS256: return hmac_[0];
    case JwsAlg::kHS384: return hmac_[1];
    case JwsAlg::kHS512: return hmac_[2];
    default: return nullptr;
  }
}

std::shared_ptr<const Key> Key::from_pkey(std::string kid, EVP_PKEY* pkey, std::optional<JwsAlg> alg,
                                          std::string* error) {
  if (pkey == nullptr) {
    set_error(error, "no key");
    return nullptr;
  }
  const std::optional<KeyType> type = pkey_type(pkey, error);
  if (!type) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  if (alg && key_type_for(*alg) != *type) {
    EVP_PKEY_free(pkey);
    set_error(error, "algorithm does not suit the key type");
    return nullptr;
  }
  return std::shared_ptr<const Key>(new Key(std::move(kid), *type, alg, pkey, std::string()));
}

bool Key::usable_with(JwsAlg alg) const {
  if (key_type_for(alg) != type_) return false;
  return !alg_ || *alg_ == alg;
}

KeySet::KeySet(std::vector<std::shared_ptr<const Key>> keys) : keys_(std::move(keys)) {
  by_kid_.reserve(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) by_kid_.push_back(i);
  std::stable_sort(by_kid_.begin(), by_kid_.end(),
                   [this](size_t a, size_t b) { return keys_[a]->kid() < keys_[b]->kid(); });
}

const Key* KeySet::find(std::string_view kid, JwsAlg alg) const {
  auto it = std::lower_bound(by_kid_.begin(), by_kid_.end(), kid,
                             [this](size_t i, std::string_view k) { return keys_[i]->kid() < k; });
  for (; it != by_kid_.end() && keys_[*it]->kid() == kid; ++it) {
    if (keys_[*it]->usable_with(alg)) return keys_[*it].get();
  }
  return nullptr;
}

std::vector<const Key*> KeySet::candidates(JwsAlg alg) const {
  std::vector<const Key*> out;
  for (const auto& k : keys_) {
    if (k->usable_with(alg)) out.push_back(k.get());
  }
  return out;
}

}  // namespace portico::auth
