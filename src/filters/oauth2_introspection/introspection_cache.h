// IntrospectionCache: what an OAuth2 introspection endpoint said about tokens, for a bounded time,
// shared by every worker of one plugin instance.
//
// Contract:
// - Keys are SHA-256 digests of the tokens (token_digest): a raw token is never stored, so a heap
//   dump or a log of the cache gives nothing a client could replay.
// - Shared across workers behind striped locks (kStripes mutexes, the stripe picked by the
//   digest's first byte). Why not per worker: an identity provider would otherwise see one call per
//   token per worker (N× the load and N× the latency misses), and a revocation seen by one worker
//   would not be seen by another. A lookup holds one stripe's mutex for a hash lookup and a
//   shared_ptr copy, so workers contend only when they hit the same stripe at the same instant.
// - Bounded: at most `max_entries` (spread evenly over the stripes). A full stripe first drops
//   its expired entries, then the entry that expires soonest.
// - Entries are immutable (shared_ptr<const Entry>): a reader keeps its copy while another
//   worker replaces or evicts it.
// - Thread-safe; never waits for I/O; allocates on insert only.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portico::filters {

// What one introspection answer means for the request path, computed once per answer.
struct Introspection {
  bool active = false;
  // Upstream headers to add (X-Credential-*), names and values already valid for the wire.
  std::vector<std::pair<std::string, std::string>> headers;
  // Index of the consumer matched by consumer_by in the plugin's snapshot; -1 when none.
  int consumer = -1;
  // The token's `nbf` (Unix seconds), 0 when absent: a token is refused until then.
  int64_t not_before = 0;
};

class IntrospectionCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kStripes = 16;

  explicit IntrospectionCache(size_t max_entries);

  // The cached answer for this digest if it has not expired; null otherwise.
  std::shared_ptr<const Introspection> find(std::string_view digest, Clock::time_point now);
  // Stores an answer until `expires` (replacing any earlier one).
  void insert(std::string digest, std::shared_ptr<const Introspection> value, Clock::time_point expires,
              Clock::time_point now);
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const Introspection> value;
    Clock::time_point expires;
  };
  struct Stripe {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;
  };
  Stripe& stripe_of(std::string_view digest) {
    return stripes_[digest.empty() ? 0 : static_cast<unsigned char>(digest[0]) % kStripes];
  }

  size_t per_stripe_;
  std::array<Stripe, kStripes> stripes_;
};

// SHA-256 of `token` (32 raw bytes).
std::string token_digest(std::string_view token);

}  // namespace portico::filters
