// OAuth2IntrospectionFilter: Kong's `oauth2-introspection` plugin. Validates an opaque access
// token by asking the authorization server's RFC 7662 introspection endpoint.
//
// Token: `Authorization: Bearer <token>` (scheme case-insensitive), else the `access_token` query
// argument (Kong also reads a form body; Portico streams bodies and does not). None: 401
// {"message":"The access token is missing"} with `WWW-Authenticate: Bearer realm="service"`.
//
// Introspection: POST `token=<t>[&token_type_hint=<hint>]` (application/x-www-form-urlencoded,
// percent-encoded) to `introspection_url` with `Authorization: <authorization_value>` (the
// client credentials; never logged) and `custom_introspection_headers`, through
// upstream::http_fetch within `timeout`. The answer:
// - 200 with `"active": true` (and `exp` not past, `nbf` not future when present): allowed. The
//   claims go upstream as X-Credential-Sub, -Client-Id, -Username, -Scope, -Token-Type, -Exp,
//   -Iat, -Nbf, -Aud, -Iss, -Jti, plus X-Credential-<claim> for each `custom_claims_forward`;
//   `consumer_by: username` maps the `username` claim to a consumer's username, `client_id` the
//   `client_id` claim to a consumer's custom_id (Kong's rule); a match authenticates the request as
//   that consumer (X-Consumer-* headers, the consumer's plugins). No match: allowed without one.
// - 200 with `"active": false`: 401 {"message":"The access token is invalid or has expired"} with
//   `WWW-Authenticate: Bearer error="invalid_token"`.
// - The endpoint unreachable or too slow: 503 {"message":"The token introspection endpoint is
//   unavailable"} with Retry-After: 1; a non-200 answer or a body that is not an RFC 7662 JSON
//   object: 502 {"message":"The token introspection endpoint gave an invalid answer"}. Never a
//   401: an identity provider in trouble is not a bad token (Kong answers 500 "An unexpected error
//   occurred" for both; a 5xx that says whose fault it is serves clients and alerting better).
// All refusals are counted under auth_rejected.oauth2-introspection.<reason> in /status. With
// `anonymous`, the 401s authenticate as that consumer instead (the 5xx stay).
//
// Cache (introspection_cache.h): per plugin instance (a reload starts empty), shared by all
// workers, keyed by SHA-256 of the token. An active answer is kept for min(ttl, exp - now), an
// inactive one for min(ttl, 5 s) (a token that becomes valid later, or a revocation
// misreported, heals quickly); failures are not kept. `ttl: 0` disables the cache. Concurrent
// requests for the same uncached token on one worker wait for one introspection call.
//
// Kong fields accepted without effect: `keepalive` (every call uses its own connection).
// `introspect_request: true` (Kong forwards the request's path and headers to the endpoint) is a
// config error: Portico does not implement it.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers (the
// cache is the only shared mutable state, behind its own locks). on_request answers synchronously
// on a cache hit or a refusal, and returns a Task (the core records it as a wait span) only when
// it calls the endpoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"
#include "filters/oauth2_introspection/introspection_cache.h"
#include "session/tls.h"

namespace portico::filter {
class ConsumerDirectory;
}  // namespace portico::filter

namespace portico::filters {

class OAuth2IntrospectionFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "oauth2-introspection";
  static constexpr int kPriority = 1700;  // Kong's PRIORITY
  static constexpr size_t kCacheEntries = 10000;
  static constexpr std::chrono::seconds kNegativeTtl{5};

  struct Config {
    std::string introspection_url;
    std::string authorization_value;
    std::string token_type_hint;  // empty = not sent
    double ttl = 30;              // seconds
    bool hide_credentials = false;
    bool run_on_preflight = true;
    std::string anonymous;  // consumer id or username; empty = none
    bool consumer_by_client_id = false;  // consumer_by: "client_id" (else "username")
    std::vector<std::pair<std::string, std::string>> custom_introspection_headers;
    std::vector<std::string> custom_claims_forward;
    std::chrono::milliseconds timeout{10000};
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config, const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit OAuth2IntrospectionFilter(Config config);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }

  // The form body sent to the endpoint (exposed for tests).
  static std::string form_body(std::string_view token, std::string_view token_type_hint);

 private:
  filter::Verdict apply(filter::Exchange& x, const Introspection& result) const;
  filter::Verdict refuse_token(filter::Exchange& x, bool missing) const;
  runtime::Task<filter::Verdict> introspect(filter::Exchange& x, std::string token, std::string digest) const;
  // What one call to the endpoint gave: an answer, or why there is none.
  struct Outcome {
    std::shared_ptr<const Introspection> result;
    bool unavailable = false;  // no answer (connect, TLS, timeout); else a bad answer
    std::chrono::steady_clock::time_point expires{};  // how long `result` may be cached
  };
  runtime::Task<Outcome> call_endpoint(const filter::ConsumerDirectory* consumers, std::string token) const;

  Config config_;
  std::shared_ptr<const session::TlsContext> tls_;  // https endpoints: the system trust store
  std::shared_ptr<IntrospectionCache> cache_;
};

}  // namespace portico::filters
