// LocalCounters: the `local` policy's counters, one table per process shared by every worker.
//
// Contract
// - Thread-safe: 64 stripes, each a mutex and a hash map; a decision locks exactly one stripe
//   (chosen by the key's hash) for a few hundred nanoseconds, so all periods of one key are
//   checked and counted atomically and `--workers N` admits exactly the limit, never N times it.
// - Keys are opaque strings built by the plugin (scope, identifier); lookups take a string_view
//   and allocate only when a key is first seen.
// - Memory is bounded: an entry expires once its longest window (two for sliding windows; the
//   bucket's refill for token buckets) has passed, expired entries are swept as a stripe grows,
//   and beyond `max_keys` the least recently used of a small sample is forgotten (which can only
//   make a limit more lenient for that key, never stricter).
// - Reloads keep the table: counters belong to the process, as Kong's shared dict does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "filters/rate_limiting/limits.h"

namespace portico::filters::ratelimit {

class LocalCounters {
 public:
  static LocalCounters& instance();

  LocalCounters();
  ~LocalCounters();
  LocalCounters(const LocalCounters&) = delete;
  LocalCounters& operator=(const LocalCounters&) = delete;

  // fixed-window or sliding-window over `limits` (at least one) at `now_ms`.
  Decision windows(std::string_view key, Algorithm algorithm, std::span<const PeriodLimit> limits, int64_t now_ms);
  // token-bucket at `now_ns` (any monotonic or wall clock, the same for every call on the key).
  Decision bucket(std::string_view key, const Bucket& bucket, int64_t now_ns, int64_t now_ms);

  size_t size() const;
  void set_max_keys(size_t max_keys);
  size_t evictions() const;
  void clear();  // tests

 private:
  struct Stripe;
  Stripe& stripe_for(size_t hash);
  Stripe* stripes_;
};

}  // namespace portico::filters::ratelimit
