#include "filter/consumer_directory.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "filter/exchange.h"
#include "http/header_map.h"

namespace portico::filter {

void ConsumerDirectory::add_key(std::string key, KeyCredentialEntry entry) {
  keys_.emplace(std::move(key), std::move(entry));
}

void ConsumerDirectory::add_basic(BasicCredentialEntry entry) {
  std::string name = entry.username;
  basic_.emplace(std::move(name), std::move(entry));
}

void ConsumerDirectory::add_jwt(std::string key, JwtCredentialEntry entry) {
  jwt_.emplace(std::move(key), std::move(entry));
}

void ConsumerDirectory::index_consumers() {
  by_id_.clear();
  by_username_.clear();
  by_custom_id_.clear();
  for (size_t i = 0; i < consumers.size(); ++i) {
    if (!consumers[i].custom_id.empty()) by_custom_id_.emplace(consumers[i].custom_id, static_cast<int>(i));
    if (!consumers[i].id.empty()) by_id_.emplace(consumers[i].id, static_cast<int>(i));
    if (!consumers[i].username.empty()) by_username_.emplace(consumers[i].username, static_cast<int>(i));
  }
}

const KeyCredentialEntry* ConsumerDirectory::find_key(std::string_view key) const {
  auto it = keys_.find(key);
  return it == keys_.end() ? nullptr : &it->second;
}

const BasicCredentialEntry* ConsumerDirectory::find_basic(std::string_view username) const {
  auto it = basic_.find(username);
  return it == basic_.end() ? nullptr : &it->second;
}

const JwtCredentialEntry* ConsumerDirectory::find_jwt(std::string_view key) const {
  auto it = jwt_.find(key);
  return it == jwt_.end() ? nullptr : &it->second;
}

int ConsumerDirectory::find_consumer_by_username_or_custom_id(std::string_view value) const {
  const int by_username = find_consumer_by_username(value);
  return by_username >= 0 ? by_username : find_consumer_by_custom_id(value);
}

void ConsumerDirectory::add_trust_store(std::string ca_ids, std::shared_ptr<const session::TrustStore> store) {
  trust_stores_.emplace(std::move(ca_ids), std::move(store));
}

const session::TrustStore* ConsumerDirectory::find_trust_store(std::string_view ca_ids) const {
  auto it = trust_stores_.find(ca_ids);
  return it == trust_stores_.end() ? nullptr : it->second.get();
}

void ConsumerDirectory::add_mtls(std::string subject_name, MtlsCredentialEntry entry) {
  mtls_[std::move(subject_name)].push_back(std::move(entry));
}

const std::vector<MtlsCredentialEntry>* ConsumerDirectory::find_mtls(std::string_view subject_name) const {
  auto it = mtls_.find(subject_name);
  return it == mtls_.end() ? nullptr : &it->second;
}

int ConsumerDirectory::find_consumer_by_username(std::string_view username) const {
  auto it = by_username_.find(username);
  return it == by_username_.end() ? -1 : it->second;
}

int ConsumerDirectory::find_consumer_by_custom_id(std::string_view custom_id) const {
  auto it = by_custom_id_.find(custom_id);
  return it == by_custom_id_.end() ? -1 : it->second;
}

int ConsumerDirectory::find_consumer(std::string_view id_or_username) const {
  if (auto it = by_id_.find(id_or_username); it != by_id_.end()) return it->second;
  if (auto it = by_username_.find(id_or_username); it != by_username_.end()) return it->second;
  return -1;
}

std::string password_digest(std::string_view salt, std::string_view password) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()),
       reinterpret_cast<const unsigned char*>(password.data()), password.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string random_salt(size_t size) {
  std::string salt(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(size)) != 1) {
    // Without the CSPRNG the salt is still unique per credential for HMAC's purpose; the
    // digest stays one-way either way.
    for (size_t i = 0; i < size; ++i) salt[i] = static_cast<char>(i * 131 + size);
  }
  return salt;
}

bool digest_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {
constexpr std::string_view kConsumerId = "X-Consumer-ID";
constexpr std::string_view kConsumerCustomId = "X-Consumer-Custom-ID";
constexpr std::string_view kConsumerUsername = "X-Consumer-Username";
constexpr std::string_view kCredentialIdentifier = "X-Credential-Identifier";
constexpr std::string_view kAnonymous = "X-Anonymous-Consumer";
constexpr std::string_view kConsumerGroups = "X-Consumer-Groups";

void set_or_clear(http::HeaderMap& h, std::string_view name, std::string_view value) {
  if (value.empty()) {
    h.remove(name);
  } else {
    h.set(name, value);
  }
}
}  // namespace

void authenticate(Exchange& x, const ConsumerDirectory& dir, int consumer,
                  std::string_view credential_id, bool anonymous) {
  const ConsumerEntry* c = dir.consumer(consumer);
  if (c == nullptr) return;
  x.consumer_index = consumer;
  x.consumer_id = c->id;
  x.credential_id = credential_id;
  x.anonymous_consumer = anonymous;
  http::HeaderMap& h = x.request.headers;
  set_or_clear(h, kConsumerId, c->id);
  set_or_clear(h, kConsumerCustomId, c->custom_id);
  set_or_clear(h, kConsumerUsername, c->username);
  set_or_clear(h, kCredentialIdentifier, credential_id);
  if (anonymous) {
    h.set(kAnonymous, "true");
  } else {
    h.remove(kAnonymous);
  }
}

bool is_consumer_header(std::string_view name) {
  // Fast reject: every such name starts with "x-" and has 13 to 23 characters.
  if (name.size() < 13 || name.size() > 23 || (name[0] != 'x' && name[0] != 'X') || name[1] != '-') {
    return false;
  }
  for (std::string_view n : {kConsumerId, kConsumerCustomId, kConsumerUsername,
                             kCredentialIdentifier, kAnonymous, kConsumerGroups}) {
    if (http::iequals(name, n)) return true;
  }
  return false;
}

bool is_gateway_owned_field(std::string_view name) {
  // X-Credential-*: claims an authentication plugin (oauth2-introspection) vouches for.
  return is_consumer_header(name) || (name.size() == 23 && http::iequals(name, "x-forwarded-client-cert")) ||
         (name.size() > 13 && http::iequals(name.substr(0, 13), "x-credential-"));
}

}  // namespace portico::filter
