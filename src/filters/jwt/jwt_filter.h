// JwtFilter: Kong's `jwt` plugin, plus Portico's identity-provider extension.
//
// Kong mode (no `jwks_uri`): the token comes from the headers named by `header_names` ("Bearer "
// prefix optional), the query arguments named by `uri_param_names` and the cookies named by
// `cookie_names`; more than one distinct token is refused. The consumer's `jwt_secrets` entry is
// the one whose `key` equals the claim `key_claim_name` of the payload, else the member of that
// name in the JWT header (so `key_claim_name: kid` works). The secret's `algorithm` must be the
// token's `alg`; then signature, then claims. Success authenticates the request as the secret's
// consumer (X-Consumer-* upstream, the consumer's plugins and later plugins such as acl see it).
//
// Identity-provider mode (`jwks_uri`, a Portico extension in the style of AWS HTTP API JWT
// authorizers): keys come from a JwksSource shared per settings and refreshed off the request
// path. A token whose kid the current set lacks asks the source for one early refresh (rate
// limited by the source) and is refused. Until the first good fetch every request is answered
// 503 with Retry-After: an identity provider being down is never reported as a bad token.
// `consumer_claim` maps a claim to a consumer (username, then custom_id); without it the request
// is authenticated with no consumer and X-Credential-Identifier set to `sub`.
//
// Both modes honour the extension claim checks (`issuer(s)`, `audiences`, `scopes`,
// `required_claims`, `leeway`, `algorithms`). `exp` and `nbf` are checked whenever present (the
// auth library's rule, stricter than Kong); `claims_to_verify` makes them mandatory.
//
// Refusals: 401 with a JSON {"message": ...} body (Kong's texts where Kong has one, else the
// auth::JwtError sentence; never token bytes), `WWW-Authenticate: Bearer[ realm="…"]`, counted
// per reason under auth_rejected.jwt.<reason> in /status. With `anonymous`, 401s authenticate as
// that consumer instead (the 503 stays a 503).
//
// Verified-token cache: a token that passed every check is remembered (per plugin instance, so
// per configuration; at most 4,096 tokens of up to 2 KiB, 16 locked shards) with what its checks
// concluded: the jwt_secret it matched or the JWKS key set that verified it, the consumer and
// subject, and its `exp`. The same token again costs a hash and a comparison instead of base64,
// JSON and a signature check (RS256 ≈ 20 µs, ES256 ≈ 60 µs). Only expiry can turn a valid token
// invalid later (nbf, iat and maximum_expiration only get easier), so a hit rechecks `exp` and
// is discarded once the token expires; a JWKS refresh (a new key set) or a reload (a new
// instance) starts over. Refused tokens are never cached.
//
// Contract: built by `create()` on the control thread; shared by all workers (the cache is the
// only mutable state, guarded by its shard locks). on_request never waits; it parses and
// verifies the token on the worker (no allocation beyond what parse_jwt needs, except on refusal,
// a cache insertion, or a query value that needs URL-decoding).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"
#include "auth/jwt_verify.h"
#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"
#include "filters/jwt/jwks_source.h"
#include "observability/worker_stats.h"

namespace portico::filter {
class ConsumerDirectory;
struct JwtCredentialEntry;
}  // namespace portico::filter

namespace portico::filters {

class JwtFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "jwt";
  static constexpr int kPriority = 1450;  // Kong's PRIORITY

  struct Config {
    // Kong's fields.
    std::vector<std::string> uri_param_names = {"jwt"};
    std::vector<std::string> cookie_names;
    std::vector<std::string> header_names = {"authorization"};
    std::string key_claim_name = "iss";
    bool secret_is_base64 = false;
    std::string anonymous;  // consumer id or username; empty = none
    bool run_on_preflight = true;
    std::string realm;  // empty = none
    // Portico extensions. `verify` carries claims_to_verify, maximum_expiration, issuers,
    // audiences, scopes, required_claims and leeway; its allowed_algs is `algorithms` (empty in
    // Kong mode = the jwt_secret's algorithm decides alone).
    auth::VerifyPolicy verify;
    std::optional<JwksSettings> jwks;
    std::string consumer_claim;  // empty = no consumer mapping
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);

  JwtFilter(Config config, std::shared_ptr<JwksSource> jwks);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }

 private:
  filter::Verdict fail(filter::Exchange& x, std::string_view message, observability::AuthReason reason) const;
  filter::Verdict fail(filter::Exchange& x, auth::JwtError error, bool bad_token) const;
  // What a successful check used, for the verified-token cache.
  struct Outcome {
    const filter::JwtCredentialEntry* credential = nullptr;  // secrets mode
    std::shared_ptr<const auth::KeySet> keys;                 // JWKS mode
    int consumer = -1;                                        // JWKS mode with consumer_claim
    std::string_view sub;                                     // JWKS mode
  };
  filter::Verdict with_secret(filter::Exchange& x, const auth::Jwt& token, int64_t now, Outcome& out) const;
  filter::Verdict with_jwks(filter::Exchange& x, const auth::Jwt& token, int64_t now, Outcome& out) const;

  // What a verified token proved, kept for the next request that presents it.
  struct Verified {
    uint64_t hash = 0;
    std::string token;
    double exp = 0;  // meaningful when has_exp
    bool has_exp = false;
    const filter::ConsumerDirectory* directory = nullptr;  // secrets mode: the snapshot's
    const filter::JwtCredentialEntry* credential = nullptr;
    std::shared_ptr<const auth::KeySet> keys;  // JWKS mode: the set that verified it
    int consumer = -1;                          // JWKS mode with consumer_claim
    std::string sub;
  };
  struct Shard {
    std::mutex mutex;
    // Allocated with the shard's first token: an instance that never sees one costs ~1 KiB.
    std::unique_ptr<std::array<Verified, 256>> slots;
  };
  static constexpr size_t kCacheShards = 16;
  static constexpr size_t kMaxCachedToken = 2048;
  // True (and the request authenticated) when `token` is a cached, still valid verified token.
  bool from_cache(filter::Exchange& x, std::string_view token, uint64_t hash, int64_t now) const;
  void remember(Verified v) const;
  // The request authenticated from a JWKS-verified token's consumer / subject.
  void authenticate_jwks(filter::Exchange& x, int consumer, std::string_view sub) const;

  Config config_;
  std::shared_ptr<JwksSource> jwks_;
  std::string www_authenticate_;        // missing token
  std::string www_authenticate_error_;  // any other refusal
  std::string no_key_claim_message_;
  std::string bad_key_claim_message_;
  std::string unknown_key_message_;
  std::string retry_after_;  // seconds, for the 503 before the first good JWKS fetch
  std::unique_ptr<Shard[]> cache_;
};

}  // namespace portico::filters
