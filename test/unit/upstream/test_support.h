// Helpers shared by the balancer tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "upstream/balancer.h"

namespace portico::upstream::testing {

// Targets "10.0.0.<i+1>:80" with the given weights.
inline std::vector<Target> targets_with(const std::vector<uint32_t>& weights) {
  std::vector<Target> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    out.push_back({"10.0.0." + std::to_string(i + 1) + ":80", weights[i]});
  }
  return out;
}

// Deterministic xorshift64* so distribution tests are reproducible.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0x853c49e6748fea9bULL) : state_(seed) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dULL;
  }

 private:
  uint64_t state_;
};

// Counts picks per target over `n` picks with fresh random bits each time.
inline std::vector<int> count_picks(Balancer& b, int n, Rng& rng, int exclude = -1) {
  std::vector<int> counts(b.targets().size(), 0);
  for (int i = 0; i < n; ++i) {
    int picked = b.pick({.hash_key = {}, .random = rng.next(), .exclude = exclude});
    if (picked >= 0) ++counts[static_cast<size_t>(picked)];
  }
  return counts;
}

}  // namespace portico::upstream::testing
