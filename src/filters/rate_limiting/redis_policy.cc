#include "filters/rate_limiting/redis_policy.h"

#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>
#include <vector>

namespace portico::filters::ratelimit {
namespace {

// KEYS: one counter per period. ARGV: the limits, then the keys' lifetimes in seconds.
// Returns {admitted (0/1), count of each period before this request}.
constexpr std::string_view kFixedScript = R"lua(
local n = #KEYS
local out = {1}
for i = 1, n do
  local c = tonumber(redis.call('GET', KEYS[i]) or '0')
  out[i + 1] = c
  if c + 1 > tonumber(ARGV[i]) then out[1] = 0 end
end
if out[1] == 1 then
  for i = 1, n do
    if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[n + i]) end
  end
end
return out
)lua";

// KEYS: per period, the current and the previous window's counter. ARGV: per period, the limit,
// the window's length and the time left in it (ms), the current key's lifetime (s).
// Returns {admitted, then per period: current count, previous count} before this request.
constexpr std::string_view kSlidingScript = R"lua(
local n = #KEYS / 2
local out = {1}
for i = 1, n do
  local cur = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local prev = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  local b = 4 * (i - 1)
  local estimate = cur + math.floor(prev * (tonumber(ARGV[b + 3]) / tonumber(ARGV[b + 2])))
  out[2 * i] = cur
  out[2 * i + 1] = prev
  if estimate + 1 > tonumber(ARGV[b + 1]) then out[1] = 0 end
end
if out[1] == 1 then
  for i = 1, n do
    if redis.call('INCR', KEYS[2 * i - 1]) == 1 then redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[4 * i]) end
  end
end
return out
)lua";

// GCRA on Redis's clock. KEYS: the bucket's TAT (µs). ARGV: emission interval (µs), burst.
// replicate_commands() lets a write follow TIME on Redis 3.2–4 (a no-op from Redis 5 on).
// Returns {admitted, tokens left, µs until admitted again (refused) or until full (admitted)}.
constexpr std::string_view kBucketScript = R"lua(
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now <= tolerance then
  redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
  return {1, math.floor((tolerance - (nxt - now)) / interval), nxt - now}
end
return {0, 0, nxt - tolerance - now}
)lua";

struct Script {
  std::string_view body;
  std::string sha;
};

std::string sha1_hex(std::string_view text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

const Script& script(Algorithm algorithm) {
  static const Script fixed{kFixedScript, sha1_hex(kFixedScript)};
  static const Script sliding{kSlidingScript, sha1_hex(kSlidingScript)};
  static const Script bucket{kBucketScript, sha1_hex(kBucketScript)};
  switch (algorithm) {
    case Algorithm::kFixedWindow: return fixed;
    case Algorithm::kSlidingWindow: return sliding;
    case Algorithm::kTokenBucket: return bucket;
  }
  return fixed;
}

void append_number(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// EVALSHA, then EVAL when Redis does not have the script.
runtime::Task<redis::RedisResult> run_script(redis::RedisClient& client, const Script& s,
                                             std::vector<std::string> keys, std::vector<std::string> args) {
  std::vector<std::string> command;
  command.reserve(3 + keys.size() + args.size());
  command.emplace_back("EVALSHA");
  command.push_back(s.sha);
  command.push_back(std::to_string(keys.size()));
  for (auto& k : keys) command.push_back(std::move(k));
  for (auto& a : args) command.push_back(std::move(a));
  redis::RedisResult r = co_await client.call(command);
  if (r.ok && r.value.type == redis::RespType::kError && r.value.text.starts_with("NOSCRIPT")) {
    command[0] = "EVAL";
    command[1] = std::string(s.body);
    r = co_await client.call(std::move(command));
  }
  co_return r;
}

// Checks a script's reply: an array of `n` integers.
bool integers(const redis::RedisResult& r, size_t n, std::string& error) {
  if (!r.ok) {
    error = r.error;
    return false;
  }
  if (r.value.type == redis::RespType::kError) {
    error = "redis script failed: " + r.value.text;
    return false;
  }
  if (r.value.type != redis::RespType::kArray || r.value.elements.size() != n) {
    error = "redis script gave an unexpected reply";
    return false;
  }
  for (const auto& e : r.value.elements) {
    if (e.type != redis::RespType::kInteger) {
      error = "redis script gave an unexpected reply";
      return false;
    }
  }
  return true;
}

std::string window_key(std::string_view scope, Period p, const Window& w) {
  std::string key = "ratelimit:{";
  key.append(scope);
  key.append("}:");
  key.append(period_name(p));
  key.push_back(':');
  append_number(key, w.start_ms / 1000);
  return key;
}

std::mutex g_all_mutex;
std::vector<const redis::RedisClient*> g_all;  // every worker's clients, for /status

struct WorkerClients {
  std::vector<std::shared_ptr<redis::RedisClient>> clients;
  ~WorkerClients() {
    std::lock_guard lock(g_all_mutex);
    for (auto& c : clients) std::erase(g_all, c.get());
  }
};
thread_local WorkerClients t_clients;

}  // namespace

// Clients a worker keeps: settings that changed in a reload leave their client behind, so the
// oldest is closed beyond this many.
constexpr size_t kMaxClientsPerWorker = 8;

std::shared_ptr<redis::RedisClient> worker_redis_client(const boost::asio::any_io_executor& executor,
                                                        const redis::RedisSettings& settings) {
  auto& clients = t_clients.clients;
  for (size_t i = 0; i < clients.size(); ++i) {
    if (clients[i]->settings() == settings) {
      // Most recently used last: the one at the front is the first to go.
      if (i + 1 != clients.size()) std::rotate(clients.begin() + static_cast<std::ptrdiff_t>(i),
                                                clients.begin() + static_cast<std::ptrdiff_t>(i) + 1, clients.end());
      return clients.back();
    }
  }
  if (clients.size() >= kMaxClientsPerWorker) {
    {
      std::lock_guard lock(g_all_mutex);
      std::erase(g_all, clients.front().get());
    }
    clients.front()->close();  // calls in flight fail; their requests still hold the client
    clients.erase(clients.begin());
  }
  t_clients.clients.push_back(std::make_shared<redis::RedisClient>(executor, settings));
  {
    std::lock_guard lock(g_all_mutex);
    g_all.push_back(t_clients.clients.back().get());
  }
  return t_clients.clients.back();
}

redis::RedisClientStats all_redis_stats() {
  redis::RedisClientStats total;
  std::lock_guard lock(g_all_mutex);
  for (const auto* c : g_all) {
    const redis::RedisClientStats s = c->stats();
    total.calls += s.calls;
    total.failures += s.failures;
    total.connects += s.connects;
    total.connect_failures += s.connect_failures;
    total.fast_failures += s.fast_failures;
  }
  return total;
}

runtime::Task<RedisDecision> redis_windows(redis::RedisClient& client, std::string scope, Algorithm algorithm,
                                           std::span<const PeriodLimit> limits, int64_t now_ms) {
  const bool sliding = algorithm == Algorithm::kSlidingWindow;
  std::vector<std::string> keys;
  std::vector<std::string> args;
  std::array<Window, kPeriodCount> windows{};
  for (size_t i = 0; i < limits.size(); ++i) {
    const Window w = window_of(limits[i].period, now_ms);
    windows[i] = w;
    keys.push_back(window_key(scope, limits[i].period, w));
    if (sliding) keys.push_back(window_key(scope, limits[i].period, previous_window(limits[i].period, w)));
  }
  for (size_t i = 0; i < limits.size(); ++i) {
    const Window& w = windows[i];
    const int64_t length = w.end_ms - w.start_ms;
    // A counter lives through its window (and the next one for sliding windows), plus a second.
    const int64_t ttl = ceil_seconds(now_ms, w.end_ms + (sliding ? length : 0)) + 1;
    if (sliding) {
      args.push_back(std::to_string(limits[i].limit));
      args.push_back(std::to_string(length));
      args.push_back(std::to_string(std::max<int64_t>(0, w.end_ms - now_ms)));
      args.push_back(std::to_string(ttl));
    } else {
      args.push_back(std::to_string(limits[i].limit));
    }
  }
  if (!sliding) {
    for (size_t i = 0; i < limits.size(); ++i) {
      args.push_back(std::to_string(ceil_seconds(now_ms, windows[i].end_ms) + 1));
    }
  }
  const size_t n = limits.size();
  redis::RedisResult r =
      co_await run_script(client, script(sliding ? Algorithm::kSlidingWindow : Algorithm::kFixedWindow), std::move(keys),
                          std::move(args));
  RedisDecision out;
  if (!integers(r, 1 + (sliding ? 2 * n : n), out.error)) co_return out;
  out.ok = true;
  Decision& d = out.decision;
  const auto& e = r.value.elements;
  d.allowed = e[0].integer == 1;
  d.periods = n;
  for (size_t i = 0; i < n; ++i) {
    const Window& w = windows[i];
    const int64_t current = sliding ? e[1 + 2 * i].integer : e[1 + i].integer;
    const int64_t previous = sliding ? e[2 + 2 * i].integer : 0;
    const int64_t used = sliding ? sliding_estimate(current, previous, w, now_ms) : current;
    PeriodUsage& u = d.usage[i];
    u.period = limits[i].period;
    u.limit = limits[i].limit;
    u.reset_seconds = ceil_seconds(now_ms, w.end_ms);
    if (d.allowed) {
      u.remaining = std::max<int64_t>(0, limits[i].limit - used - 1);
    } else if (used + 1 > limits[i].limit) {
      u.remaining = 0;
      const int64_t wait = sliding ? sliding_retry_after(current, previous, limits[i].limit, w, now_ms)
                                   : ceil_seconds(now_ms, w.end_ms);
      d.retry_after_seconds = std::max(d.retry_after_seconds, wait);
    } else {
      u.remaining = std::max<int64_t>(0, limits[i].limit - used);
    }
  }
  co_return out;
}

runtime::Task<RedisDecision> redis_bucket(redis::RedisClient& client, std::string scope, Bucket bucket) {
  const auto interval_us = std::max<int64_t>(1, static_cast<int64_t>(1e6 / bucket.rate + 0.5));
  // Built outside the co_await expression: g++ 12 mishandles initializer lists inside one.
  std::vector<std::string> keys;
  keys.push_back("ratelimit:{" + scope + "}:bucket");
  std::vector<std::string> args;
  args.push_back(std::to_string(interval_us));
  args.push_back(std::to_string(bucket.burst));
  redis::RedisResult r = co_await run_script(client, script(Algorithm::kTokenBucket), std::move(keys), std::move(args));
  RedisDecision out;
  if (!integers(r, 3, out.error)) co_return out;
  out.ok = true;
  Decision& d = out.decision;
  const auto& e = r.value.elements;
  d.allowed = e[0].integer == 1;
  d.periods = 0;
  d.bucket_limit = bucket.burst;
  d.bucket_remaining = e[1].integer;
  const int64_t us = std::max<int64_t>(0, e[2].integer);
  if (d.allowed) {
    d.bucket_reset_seconds = (us + 999'999) / 1'000'000;
  } else {
    d.retry_after_seconds = std::max<int64_t>(1, (us + 999'999) / 1'000'000);
    d.bucket_reset_seconds = d.retry_after_seconds;
  }
  co_return out;
}

}  // namespace portico::filters::ratelimit
