// CircuitBreaker: Envoy-style thresholds on what is in flight to one upstream (Kong `upstreams[]`
// or a plain service): open connections, requests waiting in connect, active requests and active
// retries, plus the counts a route's retry budget reads.
//
// Contract:
// - Built on the control thread while a snapshot compiles; shared by every worker (the cluster
//   holds it through shared_ptr, and connections it opened hold it too, so it outlives the
//   snapshot while any of them lives). Counts are per process: relaxed atomics, touched a few
//   times per request (not per byte), never locked. A slot is taken with one fetch_add and given
//   back if that went over the limit, so the count of admitted holders never exceeds a limit.
// - Counting is always on; limits apply only when `enforced()` (the config has a
//   `circuit_breakers` block). An unenforced breaker exists only to feed retry budgets.
// - A config reload builds new breakers (the limits may have changed), and before the new
//   snapshot is published each one adopts the counts of the breaker of the same upstream (or
//   plain service) in the running snapshot (`adopt_counts`): both then count into one set of
//   atomics, so requests and connections of the old snapshot still count against the new limits
//   and give their slots back to the same counts. A reload never resets what is in flight.
// - Slot is a move-only guard: it gives its resource back when destroyed or released, on any
//   thread (the counts are atomics). A default Slot holds nothing.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace portico::upstream {

struct CircuitBreakerLimits {
  uint32_t max_connections = 1024;       // Envoy's defaults
  uint32_t max_pending_requests = 1024;
  uint32_t max_requests = 1024;
  uint32_t max_retries = 3;
};

// Envoy's `retry_budget`: retries may be in flight while fewer than
// max(min_retry_concurrency, budget_percent% of the active requests) are.
struct RetryBudget {
  double budget_percent = 20.0;
  uint32_t min_retry_concurrency = 3;
};

class CircuitBreaker {
 public:
  enum Resource : uint8_t { kConnections = 0, kPendingRequests, kRequests, kRetries };
  static constexpr size_t kResources = 4;
  // The limit's name as configured ("max_requests", ...): the X-Portico-Overloaded value.
  static std::string_view limit_name(Resource r);
  // `upstream overloaded: <limit_name>`, the 503's JSON message.
  static std::string_view overload_message(Resource r);

  class Slot {
   public:
    Slot() = default;
    Slot(CircuitBreaker* breaker, Resource r) : breaker_(breaker), resource_(r) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot(Slot&& o) noexcept : breaker_(o.breaker_), resource_(o.resource_) { o.breaker_ = nullptr; }
    Slot& operator=(Slot&& o) noexcept {
      if (this != &o) {
        release();
        breaker_ = o.breaker_;
        resource_ = o.resource_;
        o.breaker_ = nullptr;
      }
      return *this;
    }
    ~Slot() { release(); }
    void release() {
      if (breaker_) breaker_->give_back(resource_);
      breaker_ = nullptr;
    }
    explicit operator bool() const { return breaker_ != nullptr; }

   private:
    CircuitBreaker* breaker_ = nullptr;
    Resource resource_ = kRequests;
  };

  // `limits` empty: count only, never refuse.
  explicit CircuitBreaker(const CircuitBreakerLimits* limits);

  bool enforced() const { return enforced_; }
  const CircuitBreakerLimits& limits() const { return limits_; }
  uint32_t active(Resource r) const { return counts_->at[r].value.load(std::memory_order_relaxed); }
  // Counts into `older`'s counts from now on (its limits stay this breaker's). Control thread,
  // before any worker sees this breaker; nothing may hold a slot of this breaker yet.
  void adopt_counts(const CircuitBreaker& older) { counts_ = older.counts_; }
  bool shares_counts_with(const CircuitBreaker& other) const { return counts_ == other.counts_; }

  // Takes one unit of `r` (connections, pending requests, requests) when under its limit (always
  // when not enforced). An empty Slot means the limit tripped and nothing was taken.
  Slot try_acquire(Resource r);
  // Takes one retry slot when a retry may start now: under `budget` when the route has one (it
  // replaces max_retries, as in Envoy), else under max_retries when enforced, else always.
  Slot try_acquire_retry(const RetryBudget* budget);
  // The retry concurrency `budget` allows with `active_requests` in flight (pure; for tests).
  static uint32_t budget_limit(const RetryBudget& budget, uint32_t active_requests);

 private:
  void give_back(Resource r) { counts_->at[r].value.fetch_sub(1, std::memory_order_relaxed); }
  Slot take(Resource r, uint32_t limit);
  uint32_t limit_of(Resource r) const;

  // One cache line each: workers bump different resources of the same breaker.
  struct alignas(64) Count {
    std::atomic<uint32_t> value{0};
  };
  struct Counts {
    Count at[kResources];
  };
  std::shared_ptr<Counts> counts_ = std::make_shared<Counts>();
  CircuitBreakerLimits limits_;
  bool enforced_ = false;
};

}  // namespace portico::upstream
