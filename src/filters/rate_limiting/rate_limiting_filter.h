// RateLimitingFilter: Kong's `rate-limiting` plugin, exact on one process (`local`) and across
// gateway processes (`redis`).
//
// Kong's fields and defaults: `second` … `year` (at least one), `limit_by` (consumer, credential,
// ip, service, header + `header_name`, path + `path`; an identifier that is missing falls back to
// the client IP, as in Kong), `policy` (local, redis; `cluster` is read as redis), `fault_tolerant`
// (true), `hide_client_headers` (false), `error_code` (429), `error_message`
// ("API rate limit exceeded"), and Redis as Kong 3.x's `redis: {host, port, username, password,
// database, timeout, ssl, ssl_verify, server_name}` or the older flat `redis_host`, `redis_port`, …
// Portico's extensions: `algorithm` (fixed-window, Kong's and the default; sliding-window;
// token-bucket with `rate` per second and `burst`).
//
// Response: Kong's headers on every answer unless hide_client_headers — X-RateLimit-Limit-<Period>
// and X-RateLimit-Remaining-<Period> per configured period, RateLimit-Limit / -Remaining / -Reset
// for the most restrictive one (token-bucket: the bucket), and Retry-After on a refusal, which is
// `error_code` with {"message": error_message}.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers. The
// local policy never waits (one striped table per process, see local_counters.h); the redis
// policy waits for one round trip on the worker's pipelined connection (redis_policy.h). When the
// store fails: fault_tolerant admits the request without rate-limit headers (logged at most once a
// second per worker, counted); otherwise 500 {"message":"An unexpected error occurred"}.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"
#include "filters/rate_limiting/limits.h"
#include "redis/client.h"

namespace portico::filters {

class RateLimitingFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "rate-limiting";
  static constexpr int kPriority = 910;  // Kong's PRIORITY

  enum class LimitBy : uint8_t { kConsumer, kCredential, kIp, kService, kHeader, kPath };
  enum class Policy : uint8_t { kLocal, kRedis };

  struct Config {
    std::vector<ratelimit::PeriodLimit> limits;  // second … year order
    ratelimit::Algorithm algorithm = ratelimit::Algorithm::kFixedWindow;
    ratelimit::Bucket bucket;  // token-bucket
    LimitBy limit_by = LimitBy::kConsumer;
    std::string header_name;
    std::string path;
    Policy policy = Policy::kLocal;
    bool fault_tolerant = true;
    bool hide_client_headers = false;
    uint16_t error_code = 429;
    std::string error_message = "API rate limit exceeded";
    redis::RedisSettings redis;
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config, const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit RateLimitingFilter(Config config);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }

 private:
  // The counter key: route, service and the identifier (Kong keys by route and service ids).
  void key_of(const filter::Exchange& x, std::string& out) const;
  filter::Verdict apply(filter::Exchange& x, const ratelimit::Decision& d) const;
  filter::Verdict store_failed(filter::Exchange& x, std::string_view why) const;
  runtime::Task<filter::Verdict> decide_in_redis(filter::Exchange& x, std::string key) const;

  Config config_;
  // The limits as header values, formatted once (by position in config_.limits; [0] = burst).
  std::vector<std::string> limit_text_;
};

}  // namespace portico::filters
