#include "upstream/least_request_balancer.h"

#include <algorithm>

#include "upstream/hash.h"

namespace portico::upstream {
namespace {

// Distinct odd constants so the two draws are independent functions of the caller's random bits.
constexpr uint64_t kFirstDraw = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kSecondDraw = 0xd1b54a32d192ed03ULL;

}  // namespace

LeastRequestBalancer::LeastRequestBalancer(std::vector<Target> targets)
    : Balancer(std::move(targets)) {
  on_usable_changed();
}

void LeastRequestBalancer::on_usable_changed() {
  candidates_.clear();
  cumulative_.clear();
  position_.assign(targets_.size(), -1);
  equal_weights_ = true;
  uint64_t sum = 0;
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (!usable(i)) continue;
    if (!candidates_.empty() && targets_[i].weight != targets_[static_cast<size_t>(candidates_[0])].weight) {
      equal_weights_ = false;
    }
    position_[i] = static_cast<int32_t>(candidates_.size());
    candidates_.push_back(static_cast<int32_t>(i));
    sum += targets_[i].weight;
    cumulative_.push_back(sum);
  }
}

int LeastRequestBalancer::draw(uint64_t bits, int skip_pos) const {
  const size_t n = candidates_.size();
  if (equal_weights_) {
    // Draw among n - 1 positions and step over the skipped one: uniform over the rest, no retry.
    const size_t range = skip_pos >= 0 ? n - 1 : n;
    size_t pos = reduce(bits, range);
    if (skip_pos >= 0 && pos >= static_cast<size_t>(skip_pos)) ++pos;
    return candidates_[pos];
  }
  const uint64_t total = cumulative_.back();
  uint64_t skip_begin = 0;
  uint64_t skip_weight = 0;
  if (skip_pos >= 0) {
    skip_begin = skip_pos == 0 ? 0 : cumulative_[static_cast<size_t>(skip_pos) - 1];
    skip_weight = cumulative_[static_cast<size_t>(skip_pos)] - skip_begin;
  }
  // Same trick in weight space: draw in [0, total - skipped) and jump over the skipped interval.
  uint64_t r = reduce(bits, total - skip_weight);
  if (skip_pos >= 0 && r >= skip_begin) r += skip_weight;
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
  return candidates_[static_cast<size_t>(it - cumulative_.begin())];
}

int LeastRequestBalancer::pick(const PickContext& ctx) {
  if (candidates_.empty()) return -1;
  const int skip_pos = must_skip(ctx.exclude) ? position_[static_cast<size_t>(ctx.exclude)] : -1;
  const int a = draw(mix64(ctx.random + kFirstDraw), skip_pos);
  const int b = draw(mix64(ctx.random + kSecondDraw), skip_pos);
  if (a == b) return a;
  const auto ia = static_cast<size_t>(a);
  const auto ib = static_cast<size_t>(b);
  // (active + 1) / weight compared by cross-multiplication; equal weights reduce to "fewer active".
  const uint64_t load_a = (uint64_t{active_[ia]} + 1) * targets_[ib].weight;
  const uint64_t load_b = (uint64_t{active_[ib]} + 1) * targets_[ia].weight;
  return load_b < load_a ? b : a;
}

}  // namespace portico::upstream
