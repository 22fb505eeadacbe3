#include "upstream/circuit_breaker.h"

#include <cmath>
#include <limits>

namespace portico::upstream {

std::string_view CircuitBreaker::limit_name(Resource r) {
  switch (r) {
    case kConnections: return "max_connections";
    case kPendingRequests: return "max_pending_requests";
    case kRequests: return "max_requests";
    case kRetries: return "max_retries";
  }
  return "max_requests";
}

std::string_view CircuitBreaker::overload_message(Resource r) {
  switch (r) {
    case kConnections: return "upstream overloaded: max_connections";
    case kPendingRequests: return "upstream overloaded: max_pending_requests";
    case kRequests: return "upstream overloaded: max_requests";
    case kRetries: return "upstream overloaded: max_retries";
  }
  return "upstream overloaded: max_requests";
}

CircuitBreaker::CircuitBreaker(const CircuitBreakerLimits* limits) {
  if (limits) {
    limits_ = *limits;
    enforced_ = true;
  }
}

uint32_t CircuitBreaker::limit_of(Resource r) const {
  if (!enforced_) return std::numeric_limits<uint32_t>::max();
  switch (r) {
    case kConnections: return limits_.max_connections;
    case kPendingRequests: return limits_.max_pending_requests;
    case kRequests: return limits_.max_requests;
    case kRetries: return limits_.max_retries;
  }
  return 0;
}

CircuitBreaker::Slot CircuitBreaker::take(Resource r, uint32_t limit) {
  if (counts_->at[r].value.fetch_add(1, std::memory_order_relaxed) >= limit) {
    give_back(r);
    return {};
  }
  return Slot(this, r);
}

CircuitBreaker::Slot CircuitBreaker::try_acquire(Resource r) { return take(r, limit_of(r)); }

uint32_t CircuitBreaker::budget_limit(const RetryBudget& budget, uint32_t active_requests) {
  // Envoy rounds the share down; the floor keeps a trickle of retries on a quiet upstream.
  const double share = std::floor(budget.budget_percent / 100.0 * static_cast<double>(active_requests));
  const uint32_t by_share = share >= 4294967295.0 ? std::numeric_limits<uint32_t>::max() : static_cast<uint32_t>(share);
  return std::max(budget.min_retry_concurrency, by_share);
}

CircuitBreaker::Slot CircuitBreaker::try_acquire_retry(const RetryBudget* budget) {
  if (budget) return take(kRetries, budget_limit(*budget, active(kRequests)));
  return take(kRetries, limit_of(kRetries));
}

}  // namespace portico::upstream
