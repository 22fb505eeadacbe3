// WorkerStats: one worker's shard of the gateway's counters.
//
// Contract: written only by the owning worker (single-writer counters: no locked instruction on
// the request path), read by the control thread, which sums the shards when the admin API asks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/counter.h"

namespace portico::observability {

// Requests the authentication and access plugins refused, by plugin and reason; /status reports
// them as counters.auth_rejected.<plugin>.<reason> (only the reasons a plugin can give).
enum class AuthPlugin : uint8_t {
  kKeyAuth, kBasicAuth, kAcl, kIpRestriction, kRequestSizeLimiting, kJwt, kMtlsAuth, kOAuth2Introspection
};
// From kJwtMultiple on: the jwt plugin's reasons; those named like auth::JwtError labels are
// exactly those errors (kTooLarge doubles as the jwt's too_large).
enum class AuthReason : uint8_t {
  kMissing, kInvalid, kNoConsumer, kForbidden, kTooLarge, kLengthRequired,
  kJwtMultiple, kJwtNoKeyClaim, kJwtUnknownKey, kJwtAlgMismatch, kJwtBadSecret, kJwtJwksUnavailable,
  kJwtMalformed, kJwtBadBase64, kJwtBadJson, kJwtDuplicateKey, kJwtAlgMissing, kJwtAlgNone,
  kJwtAlgUnknown, kJwtAlgNotAllowed, kJwtUnsupportedCrit, kJwtBadKid, kJwtUnknownKid,
  kJwtBadSignature, kJwtBadClaim, kJwtExpired, kJwtNotYetValid, kJwtIssuedInFuture,
  kJwtTooLongLived, kJwtBadIssuer, kJwtBadAudience, kJwtMissingClaim, kJwtMissingScope,
  // oauth2-introspection: the endpoint gave no answer (503) / an answer that is not RFC 7662 (502).
  kIntrospectionUnavailable, kIntrospectionBadAnswer,
};
inline constexpr size_t kAuthPlugins = 8;
inline constexpr size_t kAuthReasons = 35;
inline constexpr const char* kAuthPluginNames[kAuthPlugins] = {
    "key-auth", "basic-auth", "acl", "ip-restriction", "request-size-limiting", "jwt", "mtls-auth",
    "oauth2-introspection"};
inline constexpr const char* kAuthReasonNames[kAuthReasons] = {
    "missing", "invalid", "no_consumer", "forbidden", "too_large", "length_required",
    "multiple_tokens", "no_key_claim", "unknown_key", "alg_mismatch", "bad_secret", "jwks_unavailable",
    "malformed", "bad_base64", "bad_json", "duplicate_key", "alg_missing", "alg_none",
    "alg_unknown", "alg_not_allowed", "unsupported_crit", "bad_kid", "unknown_kid",
    "bad_signature", "bad_claim", "expired", "not_yet_valid", "issued_in_future",
    "too_long_lived", "bad_issuer", "bad_audience", "missing_claim", "missing_scope",
    "introspection_unavailable", "introspection_bad_answer"};
inline constexpr bool kAuthReasonApplies[kAuthPlugins][kAuthReasons] = {
    {true, true, false, false, false, false},   // key-auth
    {true, true, false, false, false, false},   // basic-auth
    {false, false, true, true, false, false},   // acl
    {false, false, false, true, false, false},  // ip-restriction
    {false, false, false, false, true, true},   // request-size-limiting
    {true, false, true, false, true, false, true, true, true, true, true, true, true, true, true, true, true,
     true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true},  // jwt
    {true, true, true},  // mtls-auth: missing, invalid (untrusted, expired), no_consumer
    {true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
     false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
     false, true, true},  // oauth2-introspection: missing, invalid (inactive, expired), the endpoint's failures
};

// Why a TLS listener's handshake failed (WorkerStats::tls_handshake_failures index).
enum class TlsFailure : size_t {
  kTimeout,            // not finished within client_header_timeout
  kClosed,             // the client closed the connection before it finished
  kUnrecognizedName,   // no certificate for the server name and no default certificate
  kClientCertificate,  // mutual TLS: missing, untrusted, expired or otherwise invalid
  kProtocol,           // anything else: versions, ciphers, ALPN, garbage
  kNoCertificate,      // the configuration serves no certificate at all
  kCount
};
inline constexpr const char* kTlsFailureNames[] = {"timeout",  "closed",   "unrecognized_name",
                                                   "client_certificate", "protocol", "no_certificate"};

struct WorkerStats {
  core::Counter connections_accepted;
  core::Gauge connections_active;
  core::Gauge connections_reading;   // a request head has started arriving but is not complete
  core::Gauge connections_writing;   // a request is being processed
  core::Counter requests_total;
  core::Counter responses[6];        // by status class: [1]=1xx ... [5]=5xx; [0]=no response
  core::Counter bad_requests;        // rejected by the codec (400/413/414/431/505)
  core::Counter no_route;
  core::Counter local_replies;       // answered by a filter
  core::Counter upstream_requests;   // attempts sent upstream
  core::Counter upstream_connect_failures;
  core::Counter upstream_timeouts;
  core::Counter upstream_bad_responses;
  core::Counter upstream_retries;
  core::Counter upstream_reused;     // requests sent on a pooled connection
  // Circuit-breaker trips by limit, in upstream::CircuitBreaker::Resource order: max_connections,
  // max_pending_requests, max_requests (each answered 503), max_retries (a retry not made,
  // retry budgets included).
  core::Counter circuit_breaker_trips[4];
  core::Counter bytes_received;
  core::Counter bytes_sent;
  core::Counter access_log_dropped;
  core::Counter accept_paused;       // times the worker stopped accepting at limits.max_connections
  core::Counter overload_rejected;   // requests answered 503 at limits.max_concurrent_requests
  core::Counter tls_handshakes;      // completed on a TLS listener
  core::Counter tls_misdirected;    // TLS requests answered 421: Host and SNI ask for different client checks
  core::Counter tls_handshake_failures[static_cast<size_t>(TlsFailure::kCount)];
  core::Counter auth_rejected[kAuthPlugins][kAuthReasons];
  core::Counter rate_limited;             // requests refused by rate-limiting (its error_code)
  core::Counter rate_limit_store_errors;  // decisions the store (Redis) could not make

  // The calling thread's worker shard, or null (control thread, unit tests). Set once by the
  // worker (WorkerContext::start) so a plugin counts without a lock.
  static WorkerStats* current() { return current_; }
  static void set_current(WorkerStats* stats) { current_ = stats; }
  // Counts one refusal on the calling worker, if any.
  static void count_auth_rejected(AuthPlugin plugin, AuthReason reason) {
    if (current_) current_->auth_rejected[static_cast<size_t>(plugin)][static_cast<size_t>(reason)].add();
  }

  static void count_rate_limited() {
    if (current_) current_->rate_limited.add();
  }
  static void count_rate_limit_store_error() {
    if (current_) current_->rate_limit_store_errors.add();
  }

  void count_response(int status) {
    int cls = status / 100;
    responses[(cls >= 1 && cls <= 5) ? cls : 0].add();
  }

 private:
  static inline thread_local WorkerStats* current_ = nullptr;
};

}  // namespace portico::observability
