#include "filters/rate_limiting/rate_limiting_filter.h"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <utility>

#include "core/object_reader.h"
#include "filter/consumer_directory.h"
#include "filters/rate_limiting/local_counters.h"
#include "filters/rate_limiting/redis_policy.h"
#include "http/message.h"
#include "observability/log.h"
#include "observability/worker_stats.h"
#include "session/tls.h"

namespace portico::filters {
namespace {

using ratelimit::Algorithm;
using ratelimit::Decision;
using ratelimit::Period;

constexpr std::string_view kLimitHeaders[] = {"X-RateLimit-Limit-Second", "X-RateLimit-Limit-Minute",
                                              "X-RateLimit-Limit-Hour",   "X-RateLimit-Limit-Day",
                                              "X-RateLimit-Limit-Month",  "X-RateLimit-Limit-Year"};
constexpr std::string_view kRemainingHeaders[] = {
    "X-RateLimit-Remaining-Second", "X-RateLimit-Remaining-Minute", "X-RateLimit-Remaining-Hour",
    "X-RateLimit-Remaining-Day",    "X-RateLimit-Remaining-Month",  "X-RateLimit-Remaining-Year"};
// Identifiers longer than this are hashed into the key, so a huge header cannot make huge keys.
constexpr size_t kMaxIdentifier = 128;

// Adds `name: value` and returns the value's text (owned by `headers`).
std::string_view add_number(http::HeaderMap& headers, std::string_view name, int64_t value) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  const std::string_view text = headers.own(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  headers.add(name, text);
  return text;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void append_identifier(std::string& out, std::string_view id) {
  if (id.size() <= kMaxIdentifier) {
    out.append(id);
    return;
  }
  // FNV-1a, 64 bits, twice with different offsets: collisions only merge two clients' counters.
  uint64_t a = 14695981039346656037ull, b = 1099511628211ull * 31;
  for (unsigned char c : id) {
    a = (a ^ c) * 1099511628211ull;
    b = (b ^ c) * 1099511628211ull + 7;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + 20, a, 16);
  *r.ptr++ = '.';
  r = std::to_chars(r.ptr, buf + sizeof buf, b, 16);
  out.append("#");
  out.append(buf, r.ptr);
}

// Kong's message for limits that shrink as periods grow.
std::string order_error(const ratelimit::PeriodLimit& small, const ratelimit::PeriodLimit& large) {
  return "The limit for " + std::string(ratelimit::period_name(large.period)) + "(" + std::to_string(large.limit) +
         ".0) cannot be lower than the limit for " + std::string(ratelimit::period_name(small.period)) + "(" +
         std::to_string(small.limit) + ".0)";
}

void read_redis_fields(core::ObjectReader& r, redis::RedisSettings& s, bool& ssl, bool& ssl_verify, bool flat) {
  auto name = [flat](std::string_view field) { return flat ? "redis_" + std::string(field) : std::string(field); };
  r.get(name("host"), s.host);
  r.get(name("port"), s.port, 1, 65535);
  r.get(name("username"), s.username);
  r.get(name("password"), s.password);
  r.get(name("database"), s.database, 0, 1 << 20);
  int timeout = 0;
  if (r.get(name("timeout"), timeout, 1, 3'600'000)) s.timeout = std::chrono::milliseconds(timeout);
  r.get(name("ssl"), ssl);
  r.get(name("ssl_verify"), ssl_verify);
  r.get(name("server_name"), s.server_name);
}

}  // namespace

std::shared_ptr<const filter::Filter> RateLimitingFilter::create(const core::ConfigNode* node, const std::string& path,
                                                                 core::ConfigErrors& errors) {
  static constexpr std::string_view kNeedOne =
      "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', "
      "'config.day', 'config.month', 'config.year'";
  Config c;
  if (node == nullptr) {
    errors.add(core::ConfigError{{}, {}, path, std::string(kNeedOne)});
    return nullptr;
  }
  const size_t errors_before = errors.count();
  core::ObjectReader r(*node, path, errors);
  for (size_t i = 0; i < ratelimit::kPeriodCount; ++i) {
    int64_t limit = 0;
    if (r.get(ratelimit::period_name(static_cast<Period>(i)), limit, 1, std::numeric_limits<int64_t>::max() / 4)) {
      c.limits.push_back({static_cast<Period>(i), limit});
    }
  }
  std::string algorithm = "fixed-window";
  r.get_enum("algorithm", algorithm, {"fixed-window", "sliding-window", "token-bucket"});
  c.algorithm = algorithm == "sliding-window" ? Algorithm::kSlidingWindow
                : algorithm == "token-bucket" ? Algorithm::kTokenBucket
                                              : Algorithm::kFixedWindow;
  const bool has_rate = r.get("rate", c.bucket.rate, 1e-6, 1e9);
  const bool has_burst = r.get("burst", c.bucket.burst, 1, 1'000'000'000);
  if (c.algorithm == Algorithm::kTokenBucket) {
    if (!has_rate) r.error("rate", "algorithm 'token-bucket' needs 'rate' (requests per second)");
    if (!has_burst) r.error("burst", "algorithm 'token-bucket' needs 'burst' (the bucket size)");
    if (!c.limits.empty()) {
      r.error(ratelimit::period_name(c.limits.front().period),
              "algorithm 'token-bucket' takes 'rate' and 'burst', not periods");
    }
  } else {
    if (has_rate) r.error("rate", "'rate' belongs to algorithm 'token-bucket'");
    if (has_burst) r.error("burst", "'burst' belongs to algorithm 'token-bucket'");
    if (c.limits.empty()) {
      errors.add(*node, path, std::string(kNeedOne));
    }
    for (size_t i = 1; i < c.limits.size(); ++i) {
      if (c.limits[i].limit < c.limits[i - 1].limit) {
        r.error(ratelimit::period_name(c.limits[i].period), order_error(c.limits[i - 1], c.limits[i]));
      }
    }
  }
  std::string limit_by = "consumer";
  if (r.get_enum("limit_by", limit_by, {"consumer", "credential", "ip", "service", "header", "path", "consumer-group"})) {
    if (limit_by == "consumer-group") r.error("limit_by", "limit_by 'consumer-group' is not supported yet");
  }
  c.limit_by = limit_by == "credential" ? LimitBy::kCredential
               : limit_by == "ip"       ? LimitBy::kIp
               : limit_by == "service"  ? LimitBy::kService
               : limit_by == "header"   ? LimitBy::kHeader
               : limit_by == "path"     ? LimitBy::kPath
                                        : LimitBy::kConsumer;
  r.get("header_name", c.header_name);
  if (c.limit_by == LimitBy::kHeader && c.header_name.empty()) {
    r.error("header_name", "'header_name' is required when 'limit_by' is 'header'");
  }
  if (r.get("path", c.path) && (c.path.empty() || c.path.front() != '/' || c.path.find("//") != std::string::npos)) {
    r.error("path", "path must start with '/' and must not contain empty segments");
  }
  if (c.limit_by == LimitBy::kPath && c.path.empty()) {
    r.error("path", "'path' is required when 'limit_by' is 'path'");
  }
  std::string policy = "local";
  r.get_enum("policy", policy, {"local", "cluster", "redis"});
  c.policy = policy == "local" ? Policy::kLocal : Policy::kRedis;  // cluster: counters in Redis too
  r.get("fault_tolerant", c.fault_tolerant);
  r.get("hide_client_headers", c.hide_client_headers);
  r.get("error_code", c.error_code, 100, 599);
  r.get("error_message", c.error_message);
  double sync_rate = -1;
  if (r.get("sync_rate", sync_rate, -1, 1e9) && sync_rate != -1) {
    r.error("sync_rate", "sync_rate is not supported: every decision is made in the store at once (exact)");
  }
  double jitter = 0;
  if (r.get("retry_after_jitter_max", jitter, 0, 1e9) && jitter != 0) {
    r.error("retry_after_jitter_max", "retry_after_jitter_max is not supported yet");
  }

  // Redis: Kong 3.x nests it; older Kong used flat redis_* fields. Both are read.
  bool ssl = false;
  bool ssl_verify = false;
  std::string host_before = c.redis.host;
  c.redis.host.clear();
  read_redis_fields(r, c.redis, ssl, ssl_verify, true);
  if (const core::ConfigNode* nested = r.map("redis")) {
    core::ObjectReader rr(*nested, core::path_key(path, "redis"), errors);
    read_redis_fields(rr, c.redis, ssl, ssl_verify, false);
    for (std::string_view f : {"connect_timeout", "send_timeout", "read_timeout", "keepalive_pool_size",
                               "keepalive_backlog"}) {
      rr.ignore(f);
    }
    for (std::string_view f : {"sentinel_master", "sentinel_role", "sentinel_nodes", "sentinel_username",
                               "sentinel_password", "cluster_nodes", "cluster_max_redirections",
                               "connection_is_proxied"}) {
      rr.reject(f, "Redis Sentinel and Cluster are not supported yet; use a single Redis endpoint");
    }
    rr.finish();
  }
  // Kong requires a host with policy redis; Portico defaults to a local Redis so that Kong's short
  // form `{ minute: 600, policy: redis }` works as written.
  if (c.redis.host.empty()) c.redis.host = host_before;
  if (ssl) {
    session::TlsClientOptions options;
    options.verify = ssl_verify;
    std::string error;
    c.redis.tls = session::TlsContext::make_client(options, error);
    if (!c.redis.tls) r.error("redis", "cannot set up TLS to Redis: " + error);
  }
  r.finish();
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<RateLimitingFilter>(std::move(c));
}

RateLimitingFilter::RateLimitingFilter(Config config) : config_(std::move(config)) {
  if (config_.algorithm == Algorithm::kTokenBucket) {
    limit_text_.push_back(std::to_string(config_.bucket.burst));
  } else {
    for (const auto& l : config_.limits) limit_text_.push_back(std::to_string(l.limit));
  }
}

void RateLimitingFilter::key_of(const filter::Exchange& x, std::string& out) const {
  out.clear();
  out.append(x.route_name);
  out.push_back('|');
  out.append(x.service_name);
  out.push_back('|');
  // Each kind of identifier has its own prefix, so no value of one kind (a header, a subject)
  // can name another's counter (a client's IP).
  std::string_view id;
  std::string_view kind;
  switch (config_.limit_by) {
    case LimitBy::kConsumer:
      if (!x.consumer_id.empty()) {
        kind = "consumer:";
        id = x.consumer_id;
      } else if (!x.credential_id.empty()) {
        kind = "credential:";
        id = x.credential_id;
      } else if (x.consumers != nullptr) {
        // A consumer declared without an id (Kong always has one): its username names it.
        if (const filter::ConsumerEntry* c = x.consumers->consumer(x.consumer_index); c && !c->username.empty()) {
          kind = "user:";
          id = c->username;
        }
      }
      break;
    case LimitBy::kCredential:
      kind = "credential:";
      id = x.credential_id;
      break;
    case LimitBy::kIp:
      break;
    case LimitBy::kService:
      kind = "service:";
      id = x.service_name;
      break;
    case LimitBy::kHeader:
      kind = "header:";
      if (auto v = x.request.headers.get(config_.header_name)) id = *v;
      break;
    case LimitBy::kPath:
      kind = "path:";
      if (x.request.path == config_.path) id = config_.path;
      break;
  }
  if (id.empty()) {
    kind = "ip:";
    id = x.request.client_ip;
  }
  out.append(kind);
  append_identifier(out, id);
}

filter::Verdict RateLimitingFilter::apply(filter::Exchange& x, const Decision& d) const {
  if (!config_.hide_client_headers) {
    http::HeaderMap& h = x.response_fields;  // cleared per request: each name is added once
    if (d.periods == 0) {
      h.add("RateLimit-Limit", limit_text_[0]);
      add_number(h, "RateLimit-Remaining", d.bucket_remaining);
      add_number(h, "RateLimit-Reset", d.bucket_reset_seconds);
    } else {
      // The most restrictive period: the least remaining, the longer period on a tie (Kong).
      size_t chosen = 0;
      std::string_view chosen_remaining;
      for (size_t i = 0; i < d.periods; ++i) {
        const auto& u = d.usage[i];
        const auto p = static_cast<size_t>(u.period);
        h.add(kLimitHeaders[p], limit_text_[i]);
        const std::string_view remaining = add_number(h, kRemainingHeaders[p], u.remaining);
        if (u.remaining <= d.usage[chosen].remaining) {
          chosen = i;
          chosen_remaining = remaining;
        }
      }
      h.add("RateLimit-Limit", limit_text_[chosen]);
      h.add("RateLimit-Remaining", chosen_remaining);
      add_number(h, "RateLimit-Reset", d.allowed ? d.usage[chosen].reset_seconds : d.retry_after_seconds);
    }
  }
  if (d.allowed) return filter::Verdict::next();
  observability::WorkerStats::count_rate_limited();
  http::set_json_error(x.reply, config_.error_code, config_.error_message);
  add_number(x.reply.headers, "Retry-After", std::max<int64_t>(1, d.retry_after_seconds));
  return filter::Verdict::respond();
}

filter::Verdict RateLimitingFilter::store_failed(filter::Exchange& x, std::string_view why) const {
  observability::WorkerStats::count_rate_limit_store_error();
  thread_local int64_t last_logged_ms = 0;
  const int64_t now = wall_ms();
  if (now - last_logged_ms >= 1000) {
    last_logged_ms = now;
    PORTICO_LOG_WARN("rate-limiting: redis {}:{} failed ({}); {}", config_.redis.host, config_.redis.port, why,
                     config_.fault_tolerant ? "admitting requests (fault_tolerant)" : "answering 500");
  }
  if (config_.fault_tolerant) return filter::Verdict::next();
  http::set_json_error(x.reply, 500, "An unexpected error occurred");
  return filter::Verdict::respond();
}

runtime::Task<filter::Verdict> RateLimitingFilter::decide_in_redis(filter::Exchange& x, std::string key) const {
  const std::shared_ptr<redis::RedisClient> client = ratelimit::worker_redis_client(x.executor(), config_.redis);
  ratelimit::RedisDecision r;
  if (config_.algorithm == Algorithm::kTokenBucket) {
    r = co_await ratelimit::redis_bucket(*client, std::move(key), config_.bucket);
  } else {
    r = co_await ratelimit::redis_windows(*client, std::move(key), config_.algorithm, config_.limits, wall_ms());
  }
  if (!r.ok) co_return store_failed(x, r.error);
  co_return apply(x, r.decision);
}

filter::Step RateLimitingFilter::on_request(filter::Exchange& x) const {
  thread_local std::string key;
  key_of(x, key);
  if (config_.policy == Policy::kRedis) return decide_in_redis(x, key);
  auto& counters = ratelimit::LocalCounters::instance();
  if (config_.algorithm == Algorithm::kTokenBucket) {
    return apply(x, counters.bucket(key, config_.bucket, steady_ns(), wall_ms()));
  }
  return apply(x, counters.windows(key, config_.algorithm, config_.limits, wall_ms()));
}

}  // namespace portico::filters
