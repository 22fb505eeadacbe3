// RoundRobinBalancer: nginx's smooth weighted round robin (Kong `algorithm: round-robin`).
//
// Each pick adds every usable target's weight to its running `current` value, takes the target
// with the largest `current` and subtracts the round's total weight from it. Over any window of
// sum(weights) picks each target is chosen exactly `weight` times, and heavy targets are
// interleaved with light ones instead of being sent in bursts: weights {5,1,1} give
// a a b a c a a. Contract: see balancer.h; ctx.hash_key and ctx.random are ignored.
#pragma once

#include <cstdint>
#include <vector>

#include "upstream/balancer.h"

namespace portico::upstream {

class RoundRobinBalancer final : public Balancer {
 public:
  explicit RoundRobinBalancer(std::vector<Target> targets);

  int pick(const PickContext& ctx) override;

 protected:
  void on_usable_changed() override;

 private:
  std::vector<int64_t> current_;
};

}  // namespace portico::upstream
