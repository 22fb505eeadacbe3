// Kong's credential entities: keyauth_credentials, basicauth_credentials, acls, jwt_secrets.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "config/kong_schema.h"
#include "filter/consumer_directory.h"

namespace portico::config {
namespace {

using core::ConfigNode;
using core::ObjectReader;
using core::path_index;

constexpr std::array<std::string_view, 4> kEntityNames = {"keyauth_credential",
                                                          "basicauth_credential", "acl", "jwt_secret"};

// Kong's jwt_secrets.algorithm values (all that Portico verifies).
constexpr std::array<std::string_view, 12> kJwtAlgorithms = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"};

}  // namespace

void KongSchema::read_credentials(const ConfigNode& list, const std::string& path,
                                  CredentialType type, int consumer) {
  for (size_t i = 0; i < list.size(); ++i) read_credential(list[i], path_index(path, i), type, consumer);
}

// A top-level credential's `consumer`: a string (id or username) or a map with `id` or `username`.
// Returns the consumer's index, or -1 after recording an error.
int KongSchema::read_credential_consumer(ObjectReader& r) {
  const ConfigNode* value = r.child("consumer");
  if (value == nullptr) {
    r.require("consumer");
    return -1;
  }
  std::string text;
  std::string path = r.path_of("consumer");
  const ConfigNode* at = value;
  Lookup lookup = Lookup::kIdOrName;
  if (value->is_map()) {
    ObjectReader m(*value, path, errors_);
    std::string id, name;
    bool has_id = m.get("id", id);
    bool has_name = m.get("username", name);
    m.finish();
    if (has_id && has_name) {
      errors_.add(*value, path, "give either 'id' or 'username', not both");
      return -1;
    }
    if (!has_id && !has_name) {
      if (!m.has("id") && !m.has("username")) {
        errors_.add(*value, path, "a consumer reference needs 'id' or 'username'");
      }
      return -1;
    }
    lookup = has_id ? Lookup::kId : Lookup::kName;
    text = has_id ? id : name;
    path = core::path_key(path, has_id ? "id" : "username");
    at = value->find(has_id ? "id" : "username");
  } else if (!core::read_string(*value, path, errors_, text)) {
    return -1;
  }
  if (lookup != Lookup::kName) {
    if (auto it = consumers_.by_id.find(text); it != consumers_.by_id.end()) return it->second.first;
  }
  if (lookup != Lookup::kId) {
    if (auto it = consumers_.by_name.find(text); it != consumers_.by_name.end()) return it->second.first;
  }
  std::string message =
      lookup == Lookup::kId     ? fmt::format("no consumer has id \"{}\"", text)
      : lookup == Lookup::kName ? fmt::format("no consumer has username \"{}\"", text)
                                : fmt::format("consumer \"{}\" not found: no consumer has that "
                                              "username or id",
                                              text);
  errors_.add(*at, std::move(path), std::move(message));
  return -1;
}

void KongSchema::read_credential(const ConfigNode& node, std::string path, CredentialType type,
                                 int consumer) {
  ObjectReader r(node, path, errors_);
  if (!r.valid()) return;
  const size_t kind = static_cast<size_t>(type);
  const std::string_view entity = kEntityNames[kind];
  if (consumer >= 0) {
    r.reject("consumer", fmt::format("a {} nested under a consumer must not have a 'consumer' "
                                     "field; it belongs to that consumer already",
                                     entity));
  } else {
    consumer = read_credential_consumer(r);
  }
  std::string id;
  std::vector<std::string> tags;
  read_common(r, id, tags);
  const core::Mark mark = node.mark();
  // The fields every credential kind shares; `list` receives the credential.
  auto store = [&](auto& credential, auto& list) {
    const int index = static_cast<int>(list.size());
    if (!id.empty()) register_unique(credential_ids_[kind], entity, "id", id, index, r, "id");
    credential.mark = mark;
    credential.id = std::move(id);
    credential.tags = std::move(tags);
    credential.consumer = consumer;
    credential.yaml_path = std::move(path);
    list.push_back(std::move(credential));
  };
  // keyauth_credentials and jwt_secrets: a required, non-empty `key`...
  auto read_key = [&](std::string& key) {
    if (!r.has("key")) {
      errors_.add(node, r.path(),
                  "missing required field 'key'; Kong generates a key when none is given, "
                  "Portico cannot store one: write the key in the file");
    } else if (r.get("key", key) && key.empty()) {
      r.error("key", "key must not be empty");
    }
  };
  // ...unique across consumers. The key itself is a secret: never in an error message.
  auto check_key_unique = [&](auto& seen, const std::string& key, std::string_view why) {
    const ConfigNode* at = key.empty() ? nullptr : node.find("key");
    if (at == nullptr) return;
    auto [it, inserted] = seen.emplace(key, std::make_pair(consumer, at->mark()));
    if (!inserted) {
      errors_.add(*at, r.path_of("key"),
                  fmt::format("duplicate {} key (first defined at line {}); {}", entity,
                              it->second.second.line, why));
    }
  };
  auto consumer_label = [&](int index) {
    const Consumer& c = config_.consumers[static_cast<size_t>(index)];
    return !c.username.empty() ? c.username : !c.id.empty() ? c.id : c.custom_id;
  };

  switch (type) {
    case CredentialType::kKeyAuth: {
      KeyAuthCredential k;
      read_key(k.key);
      r.reject("ttl", "'ttl' is not supported: Portico's credentials do not expire; remove it");
      check_key_unique(credential_keys_, k.key, "API keys must be unique across consumers");
      store(k, config_.keyauth_credentials);
      break;
    }
    case CredentialType::kBasicAuth: {
      BasicAuthCredential b;
      r.require("username");
      r.require("password");
      if (r.get("username", b.username) && b.username.empty()) {
        r.error("username", "username must not be empty");
      }
      std::string password;
      if (r.get("password", password) && password.empty()) {
        r.error("password", "password must not be empty");
      }
      if (!b.username.empty()) {
        const int index = static_cast<int>(config_.basicauth_credentials.size());
        register_unique(basicauth_usernames_, entity, "username", b.username, index, r, "username");
      }
      if (!password.empty()) {
        b.salt = filter::random_salt();
        b.password_hash = filter::password_digest(b.salt, password);
        std::fill(password.begin(), password.end(), '\0');
      }
      store(b, config_.basicauth_credentials);
      break;
    }
    case CredentialType::kAcl: {
      AclGroup a;
      r.require("group");
      if (r.get("group", a.group) && a.group.empty()) r.error("group", "group must not be empty");
      if (!a.group.empty() && consumer >= 0) {
        if (const ConfigNode* at = node.find("group")) {
          const int index = static_cast<int>(config_.acls.size());
          auto [it, inserted] = acl_groups_.emplace(fmt::format("{}\x1f{}", consumer, a.group),
                                                    std::make_pair(index, at->mark()));
          if (!inserted) {
            errors_.add(*at, r.path_of("group"),
                        fmt::format("consumer \"{}\" is already in group \"{}\" (first at line {})",
                                    consumer_label(consumer), a.group, it->second.second.line));
          }
        }
      }
      store(a, config_.acls);
      break;
    }
    case CredentialType::kJwt: {
      JwtSecret j;
      read_key(j.key);
      bool known_algorithm = true;
      if (r.get("algorithm", j.algorithm) &&
          std::find(kJwtAlgorithms.begin(), kJwtAlgorithms.end(), j.algorithm) == kJwtAlgorithms.end()) {
        known_algorithm = false;
        std::string known;
        for (std::string_view a : kJwtAlgorithms) known += (known.empty() ? "" : ", ") + std::string(a);
        r.error("algorithm", fmt::format("unknown algorithm \"{}\" (expected one of: {})", j.algorithm, known));
      }
      const bool hmac = j.algorithm.size() == 5 && j.algorithm.starts_with("HS");
      // The material is checked (decoded, parsed) when the snapshot compiles; here only its
      // presence. Values are never quoted in messages: they are secrets or keys.
      const std::string_view material = hmac ? "secret" : "rsa_public_key";
      const std::string_view unused = hmac ? "rsa_public_key" : "secret";
      std::string& value = hmac ? j.secret : j.rsa_public_key;
      if (!r.has(material)) {
        // Which field is missing depends on the algorithm; when that is wrong, one error is enough.
        if (known_algorithm) {
          errors_.add(node, r.path(),
                      hmac ? fmt::format("missing required field 'secret' for algorithm {}; Kong generates "
                                         "a secret when none is given, Portico cannot store one: write it "
                                         "in the file",
                                         j.algorithm)
                           : fmt::format("missing required field 'rsa_public_key' for algorithm {} (a PEM "
                                         "public key)",
                                         j.algorithm));
        }
      } else if (r.get(material, value)) {
        if (value.empty()) r.error(material, fmt::format("{} must not be empty", material));
        if (const ConfigNode* at = node.find(material)) j.material_mark = at->mark();
      }
      std::string ignored;
      r.get(unused, ignored);  // Kong accepts both fields whatever the algorithm
      std::fill(ignored.begin(), ignored.end(), '\0');
      check_key_unique(jwt_secret_keys_, j.key,
                       "the key names the secret a token is checked with, so it must be unique "
                       "across consumers");
      store(j, config_.jwt_secrets);
      break;
    }
  }
  r.finish();
}

}  // namespace portico::config
