// The `redis` policy of the rate-limiting plugin: one atomic Lua script per decision.
//
// Contract
// - Runs on a worker. Each worker keeps its own RedisClient per distinct Redis settings
//   (thread-local, created on first use with the worker's executor), so connections are
//   persistent, pipelined and never shared between threads.
// - One round trip per decision: EVALSHA with the script's SHA-1; only when Redis answers
//   NOSCRIPT (first use, a restarted or flushed Redis) is the script sent with EVAL, which also
//   caches it there.
// - Scripts check every configured period and count the request in all of them only when all
//   have room, atomically inside Redis, so any number of gateway processes sharing one Redis
//   admit exactly the limit. fixed-window: one counter key per period and window (expiring with
//   its window); sliding-window: the current and previous windows' keys, weighted with the time
//   left in the window (computed by the gateway); token-bucket: GCRA on Redis's own clock (TIME),
//   so gateways with skewed clocks agree.
// - Keys: `ratelimit:{<scope>}:<period>:<window start in seconds>` and
//   `ratelimit:{<scope>}:bucket`; the braces make a Redis Cluster hash tag, so all keys of one
//   decision live in one slot.
// - On failure (`ok` false) `error` says why (transport or script error), for the log.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "filters/rate_limiting/limits.h"
#include "redis/client.h"
#include "runtime/task.h"

namespace portico::filters::ratelimit {

struct RedisDecision {
  bool ok = false;
  std::string error;
  Decision decision;
};

// `limits` must stay valid until the task completes (they belong to the plugin's config).
runtime::Task<RedisDecision> redis_windows(redis::RedisClient& client, std::string scope, Algorithm algorithm,
                                           std::span<const PeriodLimit> limits, int64_t now_ms);
runtime::Task<RedisDecision> redis_bucket(redis::RedisClient& client, std::string scope, Bucket bucket);

// This worker's client for `settings`, created on first use with `executor` (the worker's). A
// caller keeps the pointer while it awaits: the worker may close a client it no longer needs.
std::shared_ptr<redis::RedisClient> worker_redis_client(const boost::asio::any_io_executor& executor,
                                                        const redis::RedisSettings& settings);
// Calls and failures of every Redis client of this process (admin /status).
redis::RedisClientStats all_redis_stats();

}  // namespace portico::filters::ratelimit
