#include "filters/oauth2_introspection/oauth2_introspection_filter.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <utility>

#include "codec/http1/token.h"
#include "core/object_reader.h"
#include "filter/consumer_directory.h"
#include "filters/auth_common.h"
#include "filters/request_termination/query_args.h"
#include "http/message.h"
#include "observability/log.h"
#include "upstream/http_fetch.h"

namespace portico::filters {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using observability::AuthPlugin;
using observability::AuthReason;

constexpr std::string_view kMissingMessage = "The access token is missing";
constexpr std::string_view kInvalidMessage = "The access token is invalid or has expired";
constexpr std::string_view kMissingChallenge = "Bearer realm=\"service\"";
constexpr std::string_view kInvalidChallenge = "Bearer error=\"invalid_token\"";
constexpr std::string_view kUnavailableMessage = "The token introspection endpoint is unavailable";
constexpr std::string_view kBadAnswerMessage = "The token introspection endpoint gave an invalid answer";
constexpr std::string_view kQueryParam = "access_token";
constexpr size_t kMaxAnswerBytes = 64 * 1024;

// Claims Kong forwards, and the header each goes in.
constexpr std::pair<std::string_view, std::string_view> kForwardedClaims[] = {
    {"sub", "X-Credential-Sub"},          {"client_id", "X-Credential-Client-Id"},
    {"username", "X-Credential-Username"}, {"scope", "X-Credential-Scope"},
    {"token_type", "X-Credential-Token-Type"}, {"exp", "X-Credential-Exp"},
    {"iat", "X-Credential-Iat"},          {"nbf", "X-Credential-Nbf"},
    {"aud", "X-Credential-Aud"},          {"iss", "X-Credential-Iss"},
    {"jti", "X-Credential-Jti"},
};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

void form_encode(std::string_view in, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : in) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
}

// A JSON scalar (or list of scalars) as header text; empty when it has none.
std::string claim_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return std::string(v.get_string());
    case json::kind::int64: return std::to_string(v.get_int64());
    case json::kind::uint64: return std::to_string(v.get_uint64());
    case json::kind::double_: {
      const double d = v.get_double();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
        return std::to_string(static_cast<int64_t>(d));
      }
      return fmt::format("{}", d);
    }
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::array: {
      std::string out;
      for (const json::value& item : v.get_array()) {
        std::string text = item.is_array() || item.is_object() ? json::serialize(item) : claim_text(item);
        if (!out.empty()) out += ", ";
        out += text;
      }
      return out;
    }
    case json::kind::object: return json::serialize(v);
    case json::kind::null: break;
  }
  return {};
}

// A numeric claim in seconds (exp, nbf), when it is one.
bool claim_seconds(const json::object& o, std::string_view name, int64_t& out) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return false;
  if (v->is_int64()) {
    out = v->get_int64();
  } else if (v->is_uint64()) {
    out = static_cast<int64_t>(std::min<uint64_t>(v->get_uint64(), INT64_MAX));
  } else if (v->is_double() && std::isfinite(v->get_double())) {
    out = static_cast<int64_t>(v->get_double());
  } else {
    return false;
  }
  return true;
}

bool framing_header(std::string_view name) {
  using codec::http1::iequals;
  return iequals(name, "host") || iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection") || iequals(name, "content-type");
}

// Requests of one worker waiting for the same introspection (keyed by plugin instance and token
// digest): the first one calls the endpoint, the others wait on `wake`, which the caller cancels
// when it is done (or abandoned: a cancelled request must not leave the others waiting).
struct Pending {
  explicit Pending(const asio::any_io_executor& ex) : wake(ex) {}
  asio::steady_timer wake;
  bool done = false;
  std::shared_ptr<const Introspection> result;
  bool unavailable = false;
};
thread_local std::unordered_map<std::string, std::shared_ptr<Pending>> t_pending;

struct PendingGuard {
  std::string key;
  std::shared_ptr<Pending> pending;
  ~PendingGuard() {
    auto it = t_pending.find(key);
    if (it != t_pending.end() && it->second == pending) t_pending.erase(it);
    pending->wake.cancel();
  }
};

// An endpoint that is down fails every request: one line per worker per second is enough.
bool log_allowed() {
  thread_local std::chrono::steady_clock::time_point last{};
  const auto now = std::chrono::steady_clock::now();
  if (last != std::chrono::steady_clock::time_point{} && now - last < std::chrono::seconds(1)) return false;
  last = now;
  return true;
}

}  // namespace

std::string OAuth2IntrospectionFilter::form_body(std::string_view token, std::string_view token_type_hint) {
  std::string body = "token=";
  form_encode(token, body);
  if (!token_type_hint.empty()) {
    body += "&token_type_hint=";
    form_encode(token_type_hint, body);
  }
  return body;
}

std::shared_ptr<const filter::Filter> OAuth2IntrospectionFilter::create(const core::ConfigNode* node,
                                                                        const std::string& path,
                                                                        core::ConfigErrors& errors) {
  if (node == nullptr) {
    errors.add(core::ConfigError{{}, {}, path,
                                 "missing required field 'introspection_url' (oauth2-introspection needs a config)"});
    return nullptr;
  }
  const size_t errors_before = errors.count();
  Config config;
  core::ObjectReader reader(*node, path, errors);
  reader.require("introspection_url");
  if (reader.get("introspection_url", config.introspection_url)) {
    const std::string why = upstream::check_fetch_url(config.introspection_url);
    if (!why.empty()) reader.error("introspection_url", "introspection_url: " + why);
  }
  reader.require("authorization_value");
  if (reader.get("authorization_value", config.authorization_value)) {
    // The value is a credential: the message never repeats it.
    if (config.authorization_value.empty()) {
      reader.error("authorization_value", "authorization_value must not be empty");
    } else if (!codec::http1::is_field_value(config.authorization_value)) {
      reader.error("authorization_value", "authorization_value must not contain control characters");
    }
  }
  reader.get("token_type_hint", config.token_type_hint);
  reader.get("ttl", config.ttl, 0.0, 31536000.0);
  reader.get("hide_credentials", config.hide_credentials);
  reader.get("run_on_preflight", config.run_on_preflight);
  read_anonymous(reader, config.anonymous);
  std::string consumer_by;
  if (reader.get_enum("consumer_by", consumer_by, {"username", "client_id"})) {
    config.consumer_by_client_id = consumer_by == "client_id";
  }
  if (const core::ConfigNode* map = reader.map("custom_introspection_headers")) {
    const std::string base = reader.path_of("custom_introspection_headers");
    for (const auto& [name, mark, value] : map->entries()) {
      const std::string at = core::path_key(base, name);
      if (!codec::http1::is_token(name)) {
        errors.add(*map, mark, at, "'" + name + "' is not a valid header name");
        continue;
      }
      if (framing_header(name)) {
        errors.add(*map, mark, at, "'" + name + "' is set by the introspection request itself");
        continue;
      }
      std::string text;
      if (!core::read_string(value, at, errors, text)) continue;
      if (!codec::http1::is_field_value(text)) {
        errors.add(value, at, "header values must not contain control characters");
        continue;
      }
      config.custom_introspection_headers.emplace_back(name, std::move(text));
    }
  }
  if (reader.get("custom_claims_forward", config.custom_claims_forward)) {
    const core::ConfigNode& list = *node->find("custom_claims_forward");
    for (size_t i = 0; i < config.custom_claims_forward.size(); ++i) {
      if (!codec::http1::is_token(config.custom_claims_forward[i])) {
        errors.add(list[i], core::path_index(reader.path_of("custom_claims_forward"), i),
                   "claim '" + config.custom_claims_forward[i] +
                       "' cannot be forwarded: X-Credential-<claim> must be a valid header name");
      }
    }
  }
  int64_t timeout_ms = 0;
  if (reader.get("timeout", timeout_ms, 1, 2147483646)) config.timeout = std::chrono::milliseconds(timeout_ms);
  int64_t keepalive = 0;
  reader.get("keepalive", keepalive, 0, 2147483646);  // accepted; each call has its own connection
  bool introspect_request = false;
  if (reader.get("introspect_request", introspect_request) && introspect_request) {
    reader.error("introspect_request",
                 "introspect_request: true is not supported: Portico does not forward the request's path and "
                 "headers to the introspection endpoint");
  }
  reader.finish();
  if (errors.count() != errors_before) return nullptr;

  auto filter = std::make_shared<OAuth2IntrospectionFilter>(std::move(config));
  if (filter->config_.introspection_url.size() >= 8 &&
      codec::http1::iequals(std::string_view(filter->config_.introspection_url).substr(0, 8), "https://")) {
    std::string tls_error;
    session::TlsClientOptions options;  // verified against the system trust store
    filter->tls_ = session::TlsContext::make_client(options, tls_error);
    if (!filter->tls_) {
      errors.add(*node, path + ".introspection_url", "cannot create the TLS client context: " + tls_error);
      return nullptr;
    }
  }
  return filter;
}

OAuth2IntrospectionFilter::OAuth2IntrospectionFilter(Config config)
    : config_(std::move(config)), cache_(std::make_shared<IntrospectionCache>(kCacheEntries)) {}

filter::Verdict OAuth2IntrospectionFilter::refuse_token(filter::Exchange& x, bool missing) const {
  if (!config_.anonymous.empty()) {
    return authenticate_anonymous(x, config_.anonymous) ? filter::Verdict::next() : filter::Verdict::respond();
  }
  return refuse(x, 401, missing ? kMissingMessage : kInvalidMessage, missing ? kMissingChallenge : kInvalidChallenge,
                AuthPlugin::kOAuth2Introspection, missing ? AuthReason::kMissing : AuthReason::kInvalid);
}

filter::Verdict OAuth2IntrospectionFilter::apply(filter::Exchange& x, const Introspection& result) const {
  if (!result.active) return refuse_token(x, false);
  if (result.not_before > 0 && result.not_before > unix_now()) return refuse_token(x, false);
  if (result.consumer >= 0 && x.consumers != nullptr) {
    filter::authenticate(x, *x.consumers, result.consumer, {}, false);
  }
  http::HeaderMap& h = x.request.headers;
  for (const auto& [name, value] : result.headers) h.set(h.own(name), h.own(value));
  return filter::Verdict::next();
}

filter::Step OAuth2IntrospectionFilter::on_request(filter::Exchange& x) const {
  http::Request& r = x.request;
  if (!config_.run_on_preflight && r.method == "OPTIONS") return filter::Verdict::next();
  if (!config_.anonymous.empty() && already_authenticated(x)) return filter::Verdict::next();

  std::string_view token;
  std::string decoded;
  bool from_header = false;
  if (auto auth = r.headers.get("authorization")) {
    std::string_view v = *auth;
    if (v.size() > 7 && codec::http1::iequals(v.substr(0, 7), "bearer ")) {
      v.remove_prefix(7);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      token = v;
      from_header = !token.empty();
    }
  }
  bool from_query = false;
  if (token.empty() && r.has_query) {
    for_each_query_arg(r.query, [&](std::string_view k, std::string_view v, bool) {
      if (!from_query && !v.empty() && decodes_to(k, kQueryParam)) {
        from_query = true;
        token = decoded_view(v, decoded);
      }
    });
  }
  if (token.empty()) return refuse_token(x, true);

  if (config_.hide_credentials) {
    // `token` views the old header value or query, which stay alive in the request buffer.
    if (from_header) r.headers.remove("authorization");
    if (from_query) hide_query_arg(r, kQueryParam);
  }

  std::string digest = token_digest(token);
  if (config_.ttl > 0) {
    if (auto hit = cache_->find(digest, IntrospectionCache::Clock::now())) return apply(x, *hit);
  }
  return introspect(x, std::string(token), std::move(digest));
}

runtime::Task<filter::Verdict> OAuth2IntrospectionFilter::introspect(filter::Exchange& x, std::string token,
                                                                     std::string digest) const {
  std::string key(reinterpret_cast<const char*>(this), sizeof(this));
  key += digest;
  Outcome outcome;
  bool have = false;
  if (auto it = t_pending.find(key); it != t_pending.end()) {
    std::shared_ptr<Pending> p = it->second;  // keeps the state alive while we wait
    co_await p->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (p->done) {
      outcome.result = p->result;
      outcome.unavailable = p->unavailable;
      have = true;
    }
    // Not done: the caller was abandoned or is too slow; ask ourselves.
  }
  if (!have) {
    auto p = std::make_shared<Pending>(co_await asio::this_coro::executor);
    p->wake.expires_after(config_.timeout + std::chrono::seconds(1));
    t_pending[key] = p;
    PendingGuard guard{key, p};
    outcome = co_await call_endpoint(x.consumers, std::move(token));
    p->done = true;
    p->result = outcome.result;
    p->unavailable = outcome.unavailable;
    if (outcome.result && config_.ttl > 0) {
      cache_->insert(std::move(digest), outcome.result, outcome.expires, IntrospectionCache::Clock::now());
    }
  }
  if (!outcome.result) {
    if (outcome.unavailable) {
      observability::WorkerStats::count_auth_rejected(AuthPlugin::kOAuth2Introspection,
                                                      AuthReason::kIntrospectionUnavailable);
      http::set_json_error(x.reply, 503, kUnavailableMessage);
      x.reply.headers.add("Retry-After", "1");
    } else {
      observability::WorkerStats::count_auth_rejected(AuthPlugin::kOAuth2Introspection,
                                                      AuthReason::kIntrospectionBadAnswer);
      http::set_json_error(x.reply, 502, kBadAnswerMessage);
    }
    co_return filter::Verdict::respond();
  }
  co_return apply(x, *outcome.result);
}

runtime::Task<OAuth2IntrospectionFilter::Outcome> OAuth2IntrospectionFilter::call_endpoint(
    const filter::ConsumerDirectory* consumers, std::string token) const {
  upstream::FetchRequest req;
  req.method = "POST";
  req.url = config_.introspection_url;
  req.timeout = config_.timeout;
  req.max_body_bytes = kMaxAnswerBytes;
  req.tls = tls_;
  req.headers.emplace_back("Authorization", config_.authorization_value);
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.headers.emplace_back("Accept", "application/json");
  for (const auto& [name, value] : config_.custom_introspection_headers) {
    // Configured headers win over the defaults (index 0: Authorization, 2: Accept).
    if (codec::http1::iequals(name, "authorization")) {
      req.headers[0].second = value;
    } else if (codec::http1::iequals(name, "accept")) {
      req.headers[2].second = value;
    } else {
      req.headers.emplace_back(name, value);
    }
  }
  req.body = form_body(token, config_.token_type_hint);

  Outcome out;
  upstream::FetchResponse resp = co_await upstream::http_fetch(std::move(req));
  if (!resp.ok) {
    if (log_allowed()) PORTICO_LOG_WARN("oauth2-introspection: {}: {}", config_.introspection_url, resp.error);
    out.unavailable = true;
    co_return out;
  }
  if (resp.status != 200) {
    if (log_allowed()) {
      PORTICO_LOG_WARN("oauth2-introspection: {} answered {}", config_.introspection_url, resp.status);
    }
    co_return out;
  }
  boost::system::error_code ec;
  json::value doc = json::parse(resp.body, ec);
  const json::object* o = !ec && doc.is_object() ? &doc.get_object() : nullptr;
  const json::value* active = o ? o->if_contains("active") : nullptr;
  if (active == nullptr || !active->is_bool()) {
    if (log_allowed()) {
      PORTICO_LOG_WARN("oauth2-introspection: {} answered 200 without a JSON object with a boolean 'active'",
                       config_.introspection_url);
    }
    co_return out;
  }

  auto result = std::make_shared<Introspection>();
  const auto now = IntrospectionCache::Clock::now();
  const auto ttl = std::chrono::duration_cast<IntrospectionCache::Clock::duration>(
      std::chrono::duration<double>(config_.ttl));
  int64_t exp = 0;
  const bool has_exp = active->get_bool() && claim_seconds(*o, "exp", exp);
  if (!active->get_bool() || (has_exp && exp <= unix_now())) {
    out.expires = now + std::min<IntrospectionCache::Clock::duration>(ttl, kNegativeTtl);
    out.result = std::move(result);  // inactive
    co_return out;
  }
  result->active = true;
  out.expires = now + ttl;
  if (has_exp) out.expires = std::min(out.expires, now + std::chrono::seconds(exp - unix_now()));
  int64_t nbf = 0;
  if (claim_seconds(*o, "nbf", nbf)) result->not_before = nbf;

  auto forward = [&](std::string_view claim, std::string header) {
    const json::value* v = o->if_contains(claim);
    if (v == nullptr) return;
    std::string text = claim_text(*v);
    if (text.empty() || !codec::http1::is_field_value(text)) return;
    result->headers.emplace_back(std::move(header), std::move(text));
  };
  for (const auto& [claim, header] : kForwardedClaims) forward(claim, std::string(header));
  for (const std::string& claim : config_.custom_claims_forward) forward(claim, "X-Credential-" + claim);

  if (consumers != nullptr) {
    const json::value* v = o->if_contains(config_.consumer_by_client_id ? "client_id" : "username");
    if (v != nullptr && v->is_string() && !v->get_string().empty()) {
      const std::string_view name(v->get_string());
      result->consumer = config_.consumer_by_client_id ? consumers->find_consumer_by_custom_id(name)
                                                       : consumers->find_consumer_by_username(name);
    }
  }
  out.result = std::move(result);
  co_return out;
}

}  // namespace portico::filters
