#include "upstream/round_robin_balancer.h"

#include <algorithm>

namespace portico::upstream {

RoundRobinBalancer::RoundRobinBalancer(std::vector<Target> targets)
    : Balancer(std::move(targets)), current_(targets_.size(), 0) {}

int RoundRobinBalancer::pick(const PickContext& ctx) {
  const bool skip = must_skip(ctx.exclude);
  int best = -1;
  int64_t total = 0;
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (!usable(i) || (skip && static_cast<int>(i) == ctx.exclude)) continue;
    current_[i] += targets_[i].weight;
    total += targets_[i].weight;
    // Strictly greater: on ties the earlier target wins, as in nginx, which is what makes the
    // documented sequences reproducible.
    if (best < 0 || current_[i] > current_[static_cast<size_t>(best)]) best = static_cast<int>(i);
  }
  if (best >= 0) current_[static_cast<size_t>(best)] -= total;
  return best;
}

void RoundRobinBalancer::on_usable_changed() {
  // A target leaving or rejoining would otherwise keep a stale credit or debt and get a burst or
  // a drought; restarting the schedule keeps it smooth (nginx resets likewise when peers change).
  std::fill(current_.begin(), current_.end(), 0);
}

}  // namespace portico::upstream
