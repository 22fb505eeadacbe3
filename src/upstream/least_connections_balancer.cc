#include "upstream/least_connections_balancer.h"

namespace portico::upstream {

LeastConnectionsBalancer::LeastConnectionsBalancer(std::vector<Target> targets)
    : Balancer(std::move(targets)) {}

int LeastConnectionsBalancer::pick(const PickContext& ctx) {
  const size_t n = targets_.size();
  if (n == 0) return -1;
  const bool skip = must_skip(ctx.exclude);
  int best = -1;
  for (size_t step = 0; step < n; ++step) {
    const size_t i = (cursor_ + step) % n;
    if (!usable(i) || (skip && static_cast<int>(i) == ctx.exclude)) continue;
    if (best < 0) {
      best = static_cast<int>(i);
      continue;
    }
    const auto b = static_cast<size_t>(best);
    // Compare (a_i + 1) / w_i with (a_b + 1) / w_b by cross-multiplying: exact, no floating point.
    const uint64_t lhs = (uint64_t{active_[i]} + 1) * targets_[b].weight;
    const uint64_t rhs = (uint64_t{active_[b]} + 1) * targets_[i].weight;
    if (lhs < rhs || (lhs == rhs && targets_[i].weight > targets_[b].weight)) {
      best = static_cast<int>(i);
    }
  }
  if (best >= 0) cursor_ = (static_cast<size_t>(best) + 1) % n;
  return best;
}

}  // namespace portico::upstream
