// LeastConnectionsBalancer: Kong `algorithm: least-connections`.
//
// Picks the usable target with the lowest (active + 1) / weight, i.e. the fewest active
// connections relative to its capacity; the +1 makes a heavier idle target beat a lighter idle
// one. Ties go to the larger weight, then to the first target at or after a round-robin cursor
// that advances on every pick, so equal idle targets share load instead of all traffic hitting
// target 0. Active counts come from on_start/on_finish (see balancer.h); ctx.hash_key and
// ctx.random are ignored. A pick scans all targets (O(n)); upstreams have few targets, and a scan
// needs no heap maintenance on every start/finish.
#pragma once

#include <cstddef>
#include <vector>

#include "upstream/balancer.h"

namespace portico::upstream {

class LeastConnectionsBalancer final : public Balancer {
 public:
  explicit LeastConnectionsBalancer(std::vector<Target> targets);

  int pick(const PickContext& ctx) override;

 private:
  size_t cursor_ = 0;
};

}  // namespace portico::upstream
