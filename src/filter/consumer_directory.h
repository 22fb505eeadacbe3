// ConsumerDirectory: the consumers of one snapshot and their credentials, as the authentication
// and access plugins look them up on the request path.
//
// Contract: built on the control thread while a snapshot compiles (config/snapshot.cc), then
// immutable and read by every worker without locks. The proxy points `Exchange::consumers` at the
// directory of the snapshot the request runs with, which outlives the request, so views into it
// (consumer ids, credential ids, group lists) may be stored in the Exchange.
// Lookups are hash lookups on string_views: no allocation.
// Passwords are never stored: only a random per-credential salt and HMAC-SHA-256(salt, password),
// compared in constant time.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/key.h"

namespace portico::session {
class TrustStore;
}  // namespace portico::session

namespace portico::filter {

class Exchange;

// A Kong mtls_auth_credential: a certificate subject name (CN or a subjectAltName) that
// authenticates as `consumer`, optionally only when the chain ends at one CA.
struct MtlsCredentialEntry {
  int consumer = -1;
  std::string id;              // X-Credential-Identifier, may be empty
  std::string ca_certificate;  // the ca_certificate's id; empty = any CA the plugin trusts
};

struct ConsumerEntry {
  std::string id;         // may be empty when the file gives none
  std::string username;   // may be empty
  std::string custom_id;  // may be empty
  std::vector<std::string> groups;  // `acls` groups, configuration order, unique
  std::string groups_header;        // the groups joined with ", " (X-Consumer-Groups)
};

struct KeyCredentialEntry {
  int consumer = -1;
  std::string id;  // the credential's id (X-Credential-Identifier), may be empty
};

struct BasicCredentialEntry {
  int consumer = -1;
  std::string id;
  std::string username;  // X-Credential-Identifier for basic-auth (Kong)
  std::string salt;
  std::string hash;
};

// A Kong jwt_secret, its material already turned into verification keys (immutable, shared).
struct JwtCredentialEntry {
  int consumer = -1;
  std::string id;  // the jwt_secret's id (X-Credential-Identifier), may be empty
  auth::JwsAlg algorithm = auth::JwsAlg::kHS256;
  std::shared_ptr<const auth::Key> key;
  // HS* only: the secret read as standard base64 (the jwt plugin's `secret_is_base64`); null
  // when the secret is not valid base64.
  std::shared_ptr<const auth::Key> key_base64;
};

class ConsumerDirectory {
 public:
  std::vector<ConsumerEntry> consumers;  // by consumer index (Config::consumers order)

  // Registration (control thread). Duplicates were rejected by the loader; the first one wins.
  void add_key(std::string key, KeyCredentialEntry entry);
  void add_basic(BasicCredentialEntry entry);
  void add_jwt(std::string key, JwtCredentialEntry entry);
  // Indexes consumers' ids and usernames for `anonymous` lookups; call after filling `consumers`.
  void index_consumers();

  const KeyCredentialEntry* find_key(std::string_view key) const;
  const BasicCredentialEntry* find_basic(std::string_view username) const;
  // The jwt_secret whose `key` is this (the value of a token's key_claim_name claim).
  const JwtCredentialEntry* find_jwt(std::string_view key) const;
  // The index of the consumer with this username, else this custom_id; -1 when none.
  int find_consumer_by_username_or_custom_id(std::string_view value) const;
  // The index of the consumer with this id, else this username; -1 when none.
  int find_consumer(std::string_view id_or_username) const;
  const ConsumerEntry* consumer(int index) const {
    return index >= 0 && static_cast<size_t>(index) < consumers.size()
               ? &consumers[static_cast<size_t>(index)]
               : nullptr;
  }
  size_t key_count() const { return keys_.size(); }
  size_t basic_count() const { return basic_.size(); }
  size_t jwt_count() const { return jwt_.size(); }

  // mtls-auth: the CA store a plugin instance verifies client certificates against, built while
  // the snapshot compiles, keyed by the instance's `ca_certificates` ids joined with '\n'; and
  // the mtls_auth_credentials by subject name (several may share one, for different CAs).
  void add_trust_store(std::string ca_ids, std::shared_ptr<const session::TrustStore> store);
  const session::TrustStore* find_trust_store(std::string_view ca_ids) const;
  void add_mtls(std::string subject_name, MtlsCredentialEntry entry);
  const std::vector<MtlsCredentialEntry>* find_mtls(std::string_view subject_name) const;
  // The index of the consumer with exactly this username / custom_id; -1 when none.
  int find_consumer_by_username(std::string_view username) const;
  int find_consumer_by_custom_id(std::string_view custom_id) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class T>
  using Map = std::unordered_map<std::string, T, Hash, std::equal_to<>>;
  Map<KeyCredentialEntry> keys_;
  Map<BasicCredentialEntry> basic_;
  Map<JwtCredentialEntry> jwt_;
  Map<int> by_custom_id_;
  Map<std::shared_ptr<const session::TrustStore>> trust_stores_;
  Map<std::vector<MtlsCredentialEntry>> mtls_;
  Map<int> by_id_;
  Map<int> by_username_;
};

// HMAC-SHA-256 of `password` keyed with `salt` (32 raw bytes).
std::string password_digest(std::string_view salt, std::string_view password);
// `size` random bytes from OpenSSL's CSPRNG.
std::string random_salt(size_t size = 16);
// Constant-time comparison of two digests (false when sizes differ).
bool digest_equals(std::string_view a, std::string_view b);

// Marks the request as authenticated as `consumer` (an index into `dir`) with `credential_id`
// (empty for the anonymous consumer), and sets Kong's upstream headers: X-Consumer-ID,
// X-Consumer-Custom-ID, X-Consumer-Username, X-Credential-Identifier, X-Anonymous-Consumer
// (anonymous only). Headers of an earlier authentication of the same request are replaced.
void authenticate(Exchange& x, const ConsumerDirectory& dir, int consumer,
                  std::string_view credential_id, bool anonymous);

// True when `name` is one of the headers above (or X-Consumer-Groups), which only the gateway
// may set: the proxy drops them from every client request.
bool is_consumer_header(std::string_view name);
// The fields only the gateway may set, removed from whatever a client sends (headers and request
// trailers alike): the consumer identity headers, X-Forwarded-Client-Cert and every
// X-Credential-* field (the claims oauth2-introspection forwards).
bool is_gateway_owned_field(std::string_view name);

}  // namespace portico::filter
