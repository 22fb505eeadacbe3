#include "filters/jwt/jwt_filter.h"

#include <algorithm>
#include <utility>

#include "codec/http1/token.h"
#include "core/ascii.h"
#include "core/object_reader.h"
#include "filter/consumer_directory.h"
#include "filters/auth_common.h"
#include "filters/request_termination/query_args.h"
#include "http/message.h"

namespace portico::filters {
namespace {

using observability::AuthPlugin;
using observability::AuthReason;

constexpr int64_t kMaxMaximumExpiration = 31536000;  // Kong: one year

// auth::JwtError and the jwt reasons of AuthReason list the same errors in the same order.
static_assert(static_cast<int>(auth::JwtError::kMissingScope) - static_cast<int>(auth::JwtError::kMalformed) ==
              static_cast<int>(AuthReason::kJwtMissingScope) - static_cast<int>(AuthReason::kJwtMalformed));
static_assert(static_cast<int>(auth::JwtError::kBadSignature) - static_cast<int>(auth::JwtError::kMalformed) ==
              static_cast<int>(AuthReason::kJwtBadSignature) - static_cast<int>(AuthReason::kJwtMalformed));

AuthReason reason_for(auth::JwtError e) {
  if (e == auth::JwtError::kTooLarge || e == auth::JwtError::kOk) return AuthReason::kTooLarge;
  return static_cast<AuthReason>(static_cast<int>(AuthReason::kJwtMalformed) + static_cast<int>(e) -
                                 static_cast<int>(auth::JwtError::kMalformed));
}

// The distinct tokens a request presents, up to the second one.
struct TokenSearch {
  std::string_view token;
  bool multiple = false;
  std::string owned;  // a query value that needed decoding

  void offer(std::string_view t) {
    t = core::trim_ows(t);
    if (t.empty() || multiple) return;
    if (token.empty()) {
      token = t;
    } else if (t != token) {
      multiple = true;
    }
  }
  void offer_owned(std::string&& t) {
    if (token.empty() && !multiple) {
      owned = std::move(t);
      offer(owned);
    } else {
      offer(t);
    }
  }
};

// A header value: the token after an optional "Bearer " (any case of the scheme, as Kong's
// `[Bb]earer`), surrounding blanks removed.
std::string_view from_header(std::string_view value) {
  value = core::trim_ows(value);
  if (core::iequals(value, "bearer")) return {};  // a scheme without a token
  if (value.size() > 7 && core::iequals(value.substr(0, 6), "bearer") &&
      (value[6] == ' ' || value[6] == '\t')) {
    value = core::trim_ows(value.substr(7));
  }
  return value;
}

bool is_hmac(auth::JwsAlg alg) { return auth::key_type_for(alg) == auth::KeyType::kOct; }

// Reads a list of strings that must not be empty strings.
bool read_names(core::ObjectReader& r, std::string_view key, std::vector<std::string>& out) {
  if (!r.get(key, out)) return false;
  const core::ConfigNode* list = r.node().find(key);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].empty()) {
      r.errors().add((*list)[i], core::path_index(r.path_of(key), i), "must not be empty");
    }
  }
  return true;
}

}  // namespace

std::shared_ptr<const filter::Filter> JwtFilter::create(const core::ConfigNode* node, const std::string& path,
                                                        core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) return std::make_shared<JwtFilter>(std::move(config), nullptr);
  const size_t errors_before = errors.count();
  core::ObjectReader r(*node, path, errors);
  if (!r.valid()) return nullptr;

  read_names(r, "uri_param_names", config.uri_param_names);
  read_names(r, "cookie_names", config.cookie_names);
  read_names(r, "header_names", config.header_names);
  if (r.get("key_claim_name", config.key_claim_name) && config.key_claim_name.empty()) {
    r.error("key_claim_name", "key_claim_name must not be empty");
  }
  r.get("secret_is_base64", config.secret_is_base64);
  auth::ClaimPolicy& claims = config.verify.claims;
  std::vector<std::string> to_verify;
  if (r.get("claims_to_verify", to_verify)) {
    const core::ConfigNode* list = node->find("claims_to_verify");
    for (size_t i = 0; i < to_verify.size(); ++i) {
      if (to_verify[i] == "exp") {
        claims.require_exp = true;
      } else if (to_verify[i] == "nbf") {
        claims.require_nbf = true;
      } else {
        errors.add((*list)[i], core::path_index(r.path_of("claims_to_verify"), i),
                   "expected one of: exp, nbf");
      }
    }
  }
  read_anonymous(r, config.anonymous);
  r.get("run_on_preflight", config.run_on_preflight);
  int64_t maximum_expiration = 0;
  if (r.get("maximum_expiration", maximum_expiration, 0, kMaxMaximumExpiration)) {
    claims.maximum_expiration = std::chrono::seconds(maximum_expiration);
  }
  if (r.get("realm", config.realm) && config.realm.find('"') != std::string::npos) {
    r.error("realm", "realm must not contain '\"'");
  }

  // Portico extensions.
  std::string issuer;
  if (r.get("issuer", issuer)) {
    if (issuer.empty()) {
      r.error("issuer", "issuer must not be empty");
    } else {
      claims.issuers.push_back(issuer);
    }
  }
  std::vector<std::string> issuers;
  if (read_names(r, "issuers", issuers)) claims.issuers.insert(claims.issuers.end(), issuers.begin(), issuers.end());
  read_names(r, "audiences", claims.audiences);
  std::vector<std::string> audience;  // AWS's spelling of the same list
  if (read_names(r, "audience", audience)) claims.audiences.insert(claims.audiences.end(), audience.begin(), audience.end());
  read_names(r, "scopes", claims.required_scopes);
  read_names(r, "required_claims", claims.required_claims);
  int64_t leeway = 0;
  if (r.get("leeway", leeway, 0, 86400)) claims.leeway = std::chrono::seconds(leeway);
  std::vector<std::string> algorithms;
  const bool has_algorithms = r.get("algorithms", algorithms);
  if (has_algorithms) {
    if (algorithms.empty()) r.error("algorithms", "algorithms must not be empty (leave it out for the default)");
    const core::ConfigNode* list = node->find("algorithms");
    for (size_t i = 0; i < algorithms.size(); ++i) {
      std::optional<auth::JwsAlg> alg = auth::parse_alg(algorithms[i]);
      if (!alg) {
        errors.add((*list)[i], core::path_index(r.path_of("algorithms"), i),
                   "unknown algorithm \"" + algorithms[i] +
                       "\" (expected one of: HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, "
                       "PS512, ES256, ES384, EdDSA)");
      } else if (std::find(config.verify.allowed_algs.begin(), config.verify.allowed_algs.end(), *alg) ==
                 config.verify.allowed_algs.end()) {
        config.verify.allowed_algs.push_back(*alg);
      }
    }
  }

  std::string jwks_uri;
  const bool has_jwks = r.get("jwks_uri", jwks_uri);
  JwksSettings jwks;
  int64_t cache_ttl = jwks.default_max_age.count();
  int64_t min_refresh = jwks.min_refresh_interval.count();
  int64_t max_refresh = jwks.max_refresh_interval.count();
  int64_t timeout = jwks.timeout.count();
  std::vector<std::string> cas;
  bool jwks_field = false;
  jwks_field |= r.get("jwks_cache_ttl", cache_ttl, 0, 604800);
  jwks_field |= r.get("jwks_min_refresh_interval", min_refresh, 1, 86400);
  jwks_field |= r.get("jwks_max_refresh_interval", max_refresh, 1, 604800);
  jwks_field |= r.get("jwks_timeout", timeout, 1, 60000);
  jwks_field |= r.get("jwks_tls_verify", jwks.tls_verify);
  jwks_field |= read_names(r, "jwks_ca_certificates", cas);
  r.get("consumer_claim", config.consumer_claim);
  if (has_jwks) {
    const bool http = jwks_uri.starts_with("http://");
    const bool https = jwks_uri.starts_with("https://");
    const std::string_view rest = std::string_view(jwks_uri).substr(http ? 7 : https ? 8 : 0);
    if (!http && !https) {
      r.error("jwks_uri", "jwks_uri must start with http:// or https://");
    } else if (rest.empty() || rest.front() == '/' || rest.find_first_of(" \t\r\n") != std::string_view::npos) {
      r.error("jwks_uri", "jwks_uri needs a host and must not contain blanks");
    }
    if (min_refresh > max_refresh) {
      r.error("jwks_min_refresh_interval", "jwks_min_refresh_interval must not exceed jwks_max_refresh_interval");
    }
    if (!jwks.tls_verify && !cas.empty()) {
      r.error("jwks_ca_certificates", "jwks_ca_certificates has no effect with jwks_tls_verify: false");
    }
    for (auth::JwsAlg alg : config.verify.allowed_algs) {
      if (is_hmac(alg)) {
        r.error("algorithms", "HS* algorithms need a shared secret and cannot be used with jwks_uri");
        break;
      }
    }
    if (!has_algorithms) {
      for (auth::JwsAlg alg : {auth::JwsAlg::kRS256, auth::JwsAlg::kRS384, auth::JwsAlg::kRS512,
                               auth::JwsAlg::kPS256, auth::JwsAlg::kPS384, auth::JwsAlg::kPS512,
                               auth::JwsAlg::kES256, auth::JwsAlg::kES384, auth::JwsAlg::kEdDSA}) {
        config.verify.allowed_algs.push_back(alg);
      }
    }
    jwks.uri = jwks_uri;
    jwks.default_max_age = std::chrono::seconds(cache_ttl);
    jwks.min_refresh_interval = std::chrono::seconds(min_refresh);
    jwks.max_refresh_interval = std::chrono::seconds(max_refresh);
    jwks.timeout = std::chrono::milliseconds(timeout);
    jwks.ca_pems = std::move(cas);
    config.jwks = std::move(jwks);
  } else {
    if (jwks_field) {
      for (std::string_view key : {"jwks_cache_ttl", "jwks_min_refresh_interval", "jwks_max_refresh_interval",
                                   "jwks_timeout", "jwks_tls_verify", "jwks_ca_certificates"}) {
        if (r.has(key)) r.error(key, std::string(key) + " needs jwks_uri");
      }
    }
    if (!config.consumer_claim.empty()) {
      r.error("consumer_claim", "consumer_claim needs jwks_uri (with jwt_secrets the secret names the consumer)");
    }
  }
  r.finish();
  if (errors.count() != errors_before) return nullptr;
  std::shared_ptr<JwksSource> source = config.jwks ? JwksSource::shared(*config.jwks) : nullptr;
  return std::make_shared<JwtFilter>(std::move(config), std::move(source));
}

JwtFilter::JwtFilter(Config config, std::shared_ptr<JwksSource> jwks)
    : config_(std::move(config)), jwks_(std::move(jwks)) {
  www_authenticate_ = config_.realm.empty() ? "Bearer" : "Bearer realm=\"" + config_.realm + "\"";
  www_authenticate_error_ = www_authenticate_ + (config_.realm.empty() ? " " : ", ") + "error=\"invalid_token\"";
  no_key_claim_message_ = "No mandatory '" + config_.key_claim_name + "' in claims";
  bad_key_claim_message_ = "Invalid '" + config_.key_claim_name + "' in claims";
  unknown_key_message_ = "No credentials found for given '" + config_.key_claim_name + "'";
  retry_after_ = config_.jwks ? std::to_string(std::max<int64_t>(1, config_.jwks->min_refresh_interval.count())) : "1";
  cache_ = std::make_unique<Shard[]>(kCacheShards);
}

bool JwtFilter::from_cache(filter::Exchange& x, std::string_view token, uint64_t hash, int64_t now) const {
  Shard& shard = cache_[hash % kCacheShards];
  const filter::JwtCredentialEntry* credential = nullptr;
  int consumer = -1;
  std::string_view sub;
  {
    std::lock_guard lock(shard.mutex);
    if (!shard.slots) return false;
    Verified& v = (*shard.slots)[(hash / kCacheShards) % shard.slots->size()];
    if (v.hash != hash || v.token != token) return false;
    if (v.has_exp && static_cast<double>(now - config_.verify.claims.leeway.count()) >= v.exp) {
      v = Verified{};  // expired: the full path gives the answer (and counts it)
      return false;
    }
    if (jwks_) {
      if (v.keys != jwks_->keys()) return false;  // the key set changed since
      consumer = v.consumer;
      sub = x.request.headers.own(v.sub);
    } else {
      if (v.directory != x.consumers) return false;
      credential = v.credential;
    }
  }
  if (credential != nullptr) {
    filter::authenticate(x, *x.consumers, credential->consumer, credential->id, false);
  } else {
    authenticate_jwks(x, consumer, sub);
  }
  return true;
}

void JwtFilter::remember(Verified v) const {
  Shard& shard = cache_[v.hash % kCacheShards];
  std::lock_guard lock(shard.mutex);
  if (!shard.slots) shard.slots = std::make_unique<std::array<Verified, 256>>();
  (*shard.slots)[(v.hash / kCacheShards) % shard.slots->size()] = std::move(v);
}

void JwtFilter::authenticate_jwks(filter::Exchange& x, int consumer, std::string_view sub) const {
  if (consumer >= 0) {
    filter::authenticate(x, *x.consumers, consumer, sub, false);
    return;
  }
  // Authenticated without a consumer: the subject is the credential.
  x.credential_id = sub;
  if (sub.empty()) {
    x.request.headers.remove("X-Credential-Identifier");
  } else {
    x.request.headers.set("X-Credential-Identifier", sub);
  }
}

filter::Verdict JwtFilter::fail(filter::Exchange& x, std::string_view message, AuthReason reason) const {
  if (!config_.anonymous.empty()) {
    return authenticate_anonymous(x, config_.anonymous) ? filter::Verdict::next() : filter::Verdict::respond();
  }
  return refuse(x, 401, message, reason == AuthReason::kMissing ? www_authenticate_ : www_authenticate_error_,
                AuthPlugin::kJwt, reason);
}

filter::Verdict JwtFilter::fail(filter::Exchange& x, auth::JwtError error, bool bad_token) const {
  if (!bad_token) return fail(x, auth::message(error), reason_for(error));
  // Kong's wording for a token it cannot decode; the detail never quotes the token.
  std::string text = "Bad token; ";
  text += auth::message(error);
  return fail(x, text, reason_for(error));
}

filter::Step JwtFilter::on_request(filter::Exchange& x) const {
  http::Request& r = x.request;
  if (!config_.run_on_preflight && r.method == "OPTIONS") return filter::Verdict::next();
  if (!config_.anonymous.empty() && already_authenticated(x)) return filter::Verdict::next();

  TokenSearch found;
  for (const http::HeaderMap::Field& f : r.headers) {
    for (const std::string& name : config_.header_names) {
      if (http::iequals(f.name, name)) found.offer(from_header(f.value));
    }
    if (!config_.cookie_names.empty() && http::iequals(f.name, "cookie")) {
      std::string_view rest = f.value;
      while (!rest.empty()) {
        const size_t semi = rest.find(';');
        std::string_view pair = core::trim_ows(rest.substr(0, semi));
        rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
        const size_t eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view cname = core::trim_ows(pair.substr(0, eq));
        for (const std::string& name : config_.cookie_names) {
          if (cname == name) found.offer(pair.substr(eq + 1));
        }
      }
    }
  }
  if (!config_.uri_param_names.empty() && r.has_query) {
    for_each_query_arg(r.query, [&](std::string_view k, std::string_view v, bool) {
      for (const std::string& name : config_.uri_param_names) {
        if (!decodes_to(k, name)) continue;
        if (v.find_first_of("%+") == std::string_view::npos) {
          found.offer(v);
        } else {
          std::string decoded;
          url_decode(v, decoded);
          found.offer_owned(std::move(decoded));
        }
      }
    });
  }
  if (found.multiple) return fail(x, "Multiple tokens provided", AuthReason::kJwtMultiple);
  if (found.token.empty()) return fail(x, "Unauthorized", AuthReason::kMissing);

  const int64_t now = auth::unix_now();
  const std::string_view text = found.token;
  const bool cacheable = text.size() <= kMaxCachedToken;
  const uint64_t hash = cacheable ? std::hash<std::string_view>{}(text) : 0;
  if (cacheable && from_cache(x, text, hash, now)) return filter::Verdict::next();

  auth::Jwt token;
  if (auth::JwtError e = auth::parse_jwt(text, token); e != auth::JwtError::kOk) return fail(x, e, true);
  Outcome outcome;
  const filter::Verdict v = jwks_ ? with_jwks(x, token, now, outcome) : with_secret(x, token, now, outcome);
  if (cacheable && v.proceeds() && !x.reply.active() && (outcome.credential != nullptr || outcome.keys)) {
    Verified entry;
    entry.hash = hash;
    entry.token.assign(text);
    if (const boost::json::value* exp = token.claims.if_contains("exp"); exp && exp->is_number()) {
      entry.exp = exp->to_number<double>();
      entry.has_exp = true;
    }
    if (jwks_) {
      entry.keys = std::move(outcome.keys);
      entry.consumer = outcome.consumer;
      entry.sub.assign(outcome.sub);
    } else {
      entry.directory = x.consumers;
      entry.credential = outcome.credential;
    }
    remember(std::move(entry));
  }
  return v;
}

filter::Verdict JwtFilter::with_secret(filter::Exchange& x, const auth::Jwt& token, int64_t now,
                                       Outcome& out) const {
  const boost::json::value* claim = token.claims.if_contains(config_.key_claim_name);
  if (claim == nullptr) claim = token.header.if_contains(config_.key_claim_name);
  if (claim == nullptr) return fail(x, no_key_claim_message_, AuthReason::kJwtNoKeyClaim);
  if (!claim->is_string() || claim->get_string().empty()) {
    return fail(x, bad_key_claim_message_, AuthReason::kJwtNoKeyClaim);
  }
  const boost::json::string& key_name = claim->get_string();
  const filter::JwtCredentialEntry* cred =
      x.consumers ? x.consumers->find_jwt(std::string_view(key_name.data(), key_name.size())) : nullptr;
  if (cred == nullptr) return fail(x, unknown_key_message_, AuthReason::kJwtUnknownKey);
  if (cred->algorithm != token.alg) return fail(x, "Invalid algorithm", AuthReason::kJwtAlgMismatch);
  const auto& allowed = config_.verify.allowed_algs;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), token.alg) == allowed.end()) {
    return fail(x, "Invalid algorithm", AuthReason::kJwtAlgNotAllowed);
  }
  const auth::Key* key = config_.secret_is_base64 && is_hmac(cred->algorithm) ? cred->key_base64.get() : cred->key.get();
  if (key == nullptr) return fail(x, "Invalid key/secret", AuthReason::kJwtBadSecret);
  if (auth::verify_signature(token, *key) != auth::JwtError::kOk) {
    return fail(x, "Invalid signature", AuthReason::kJwtBadSignature);
  }
  if (auth::JwtError e = auth::check_claims(token.claims, config_.verify.claims, now); e != auth::JwtError::kOk) {
    return fail(x, e, false);
  }
  filter::authenticate(x, *x.consumers, cred->consumer, cred->id, false);
  out.credential = cred;
  return filter::Verdict::next();
}

filter::Verdict JwtFilter::with_jwks(filter::Exchange& x, const auth::Jwt& token, int64_t now, Outcome& out) const {
  std::shared_ptr<const auth::KeySet> keys = jwks_->keys();
  if (!keys) {
    // The identity provider has not answered yet: the token may be fine, so not a 401.
    observability::WorkerStats::count_auth_rejected(AuthPlugin::kJwt, AuthReason::kJwtJwksUnavailable);
    http::set_json_error(x.reply, 503, "Token signing keys are not available yet; try again later");
    x.reply.headers.add("Retry-After", retry_after_);
    return filter::Verdict::respond();
  }
  const auth::JwtError e = auth::verify_jwt(token, *keys, config_.verify, now);
  if (e == auth::JwtError::kUnknownKid) jwks_->on_unknown_kid();
  if (e == auth::JwtError::kBadSignature) return fail(x, "Invalid signature", AuthReason::kJwtBadSignature);
  if (e != auth::JwtError::kOk) return fail(x, e, false);

  std::string_view sub;
  if (const boost::json::value* v = token.claims.if_contains("sub"); v && v->is_string()) {
    const std::string_view text(v->get_string().data(), v->get_string().size());
    // It goes upstream in X-Credential-Identifier: only as a valid field value (no CR / LF).
    if (codec::http1::is_field_value(text)) sub = x.request.headers.own(text);
  }
  int consumer = -1;
  if (!config_.consumer_claim.empty()) {
    const boost::json::value* v = token.claims.if_contains(config_.consumer_claim);
    consumer = v && v->is_string() && x.consumers
                   ? x.consumers->find_consumer_by_username_or_custom_id(
                         std::string_view(v->get_string().data(), v->get_string().size()))
                   : -1;
    if (consumer < 0) return fail(x, "No consumer matches the token", AuthReason::kNoConsumer);
  }
  authenticate_jwks(x, consumer, sub);
  out.keys = std::move(keys);
  out.consumer = consumer;
  out.sub = sub;
  return filter::Verdict::next();
}

}  // namespace portico::filters
