// LeastRequestBalancer: Envoy's least_request with choice_count 2 (power of two choices), offered
// as Portico's `algorithm: least-request`.
//
// A pick draws two usable targets at random (with replacement, as Envoy does) and returns the one
// with fewer active requests. Two draws avoid the herd that "global least loaded" causes when
// many pickers see the same counts, while still steering away from slow targets.
//
// Weights (documented simplification): Envoy switches to an EDF schedule scaled by
// weight / (active + 1)^active_request_bias when weights differ. Here both draws are weighted
// (a target is drawn with probability weight / sum(weights)) and the two are compared by
// (active + 1) / weight, i.e. Envoy's formula with active_request_bias = 1. With equal weights
// this is exactly Envoy's unweighted P2C. Ties go to the first draw.
//
// Randomness: both draws are derived from ctx.random (two independent 64-bit values through
// mix64), so one random number per pick suffices. ctx.hash_key is ignored. A pick is O(log n)
// for weighted targets and O(1) otherwise; the usable set is cached and rebuilt only when
// availability changes. Contract otherwise as in balancer.h.
#pragma once

#include <cstdint>
#include <vector>

#include "upstream/balancer.h"

namespace portico::upstream {

class LeastRequestBalancer final : public Balancer {
 public:
  explicit LeastRequestBalancer(std::vector<Target> targets);

  int pick(const PickContext& ctx) override;

 protected:
  void on_usable_changed() override;

 private:
  // One random draw among the usable targets, never returning `skip_pos` (a position in
  // candidates_, or -1 for none).
  int draw(uint64_t bits, int skip_pos) const;

  std::vector<int32_t> candidates_;  // usable target indices, ascending
  std::vector<uint64_t> cumulative_;  // cumulative_[k] = sum of weights of candidates_[0..k]
  std::vector<int32_t> position_;     // target index -> position in candidates_, -1 if absent
  bool equal_weights_ = true;
};

}  // namespace portico::upstream
