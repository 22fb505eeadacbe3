#include "upstream/consistent_hash_balancer.h"

#include <cmath>
#include <limits>

#include "upstream/hash.h"

namespace portico::upstream {
namespace {

// Seeds keep the ring-placement hash independent from the request-key hash, so a key string that
// equals a target key is not correlated with that target's slots.
constexpr uint64_t kTargetSeed = 0x7f4a7c159e3779b9ULL;
constexpr uint64_t kKeySeed = 0x2545f4914f6cdd1dULL;

// (0, 1): 53 random bits plus a half step so ln() never sees 0.
double unit_interval(uint64_t bits) {
  return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53;
}

}  // namespace

ConsistentHashBalancer::ConsistentHashBalancer(std::vector<Target> targets, uint32_t slots)
    : Balancer(std::move(targets)), ring_(slots, -1) {
  std::vector<uint64_t> target_hash(targets_.size());
  std::vector<double> inverse_weight(targets_.size());
  for (size_t t = 0; t < targets_.size(); ++t) {
    target_hash[t] = hash64(targets_[t].key, kTargetSeed);
    inverse_weight[t] = targets_[t].weight > 0 ? 1.0 / targets_[t].weight : 0.0;
  }
  uint32_t common_weight = 0;
  bool equal_weights = true;
  for (const Target& t : targets_) {
    if (t.weight == 0) continue;
    if (common_weight != 0 && t.weight != common_weight) equal_weights = false;
    common_weight = t.weight;
  }
  for (uint32_t s = 0; s < slots; ++s) {
    const uint64_t slot_hash = mix64(uint64_t{s} + kTargetSeed);
    int32_t best = -1;
    if (equal_weights) {
      // With one weight the lowest -ln(u) / w is simply the largest u: no logarithm needed, and
      // the winner is exactly the one the weighted race below would choose.
      uint64_t best_u = 0;
      for (size_t t = 0; t < targets_.size(); ++t) {
        if (targets_[t].weight == 0) continue;
        const uint64_t u = mix64(target_hash[t] ^ slot_hash) >> 11;
        if (best < 0 || u > best_u) {
          best_u = u;
          best = static_cast<int32_t>(t);
        }
      }
      ring_[s] = best;
      continue;
    }
    double best_score = std::numeric_limits<double>::infinity();
    for (size_t t = 0; t < targets_.size(); ++t) {
      if (targets_[t].weight == 0) continue;  // weight 0 owns no slots: it is disabled
      const double u = unit_interval(mix64(target_hash[t] ^ slot_hash));
      // Exponential race: min of Exp(weight) variables is won by t with probability w_t / sum(w).
      const double score = -std::log(u) * inverse_weight[t];
      // Ties (identical keys) go to the lower index so every worker agrees.
      if (score < best_score) {
        best_score = score;
        best = static_cast<int32_t>(t);
      }
    }
    ring_[s] = best;
  }
}

uint32_t ConsistentHashBalancer::slot_of(std::string_view hash_key) const {
  return static_cast<uint32_t>(reduce(hash64(hash_key, kKeySeed), ring_.size()));
}

int ConsistentHashBalancer::pick(const PickContext& ctx) {
  if (usable_count() == 0 || ring_.empty()) return -1;
  const bool skip = must_skip(ctx.exclude);
  const uint32_t start = ctx.hash_key.empty()
                             ? static_cast<uint32_t>(reduce(mix64(ctx.random), ring_.size()))
                             : slot_of(ctx.hash_key);
  const size_t n = ring_.size();
  for (size_t step = 0; step < n; ++step) {
    const int32_t owner = ring_[(start + step) % n];
    if (owner < 0 || !usable(static_cast<size_t>(owner))) continue;
    if (skip && owner == ctx.exclude) continue;
    return owner;
  }
  // Reached only when every usable target owns no slot (more targets than slots): still answer
  // rather than fail the request.
  for (size_t t = 0; t < targets_.size(); ++t) {
    if (usable(t) && !(skip && static_cast<int>(t) == ctx.exclude)) return static_cast<int>(t);
  }
  return -1;
}

}  // namespace portico::upstream
