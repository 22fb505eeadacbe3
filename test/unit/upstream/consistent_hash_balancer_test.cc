#include "upstream/consistent_hash_balancer.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace portico::upstream {
namespace {

using testing::targets_with;

std::string key_of(uint64_t n) { return "user-" + std::to_string(n); }

int pick_key(Balancer& b, std::string_view key, int exclude = -1) {
  return b.pick({.hash_key = key, .random = 0, .exclude = exclude});
}

// Picks for keys 0..n-1, mapped to target keys so that rings with different target orders or
// counts can be compared by identity rather than index.
std::vector<std::string> owners(Balancer& b, int n) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    int t = pick_key(b, key_of(static_cast<uint64_t>(i)));
    out.push_back(t < 0 ? std::string() : b.targets()[static_cast<size_t>(t)].key);
  }
  return out;
}

TEST(ConsistentHash, SameKeySameTarget) {
  ConsistentHashBalancer b(targets_with({1, 1, 1, 1}), kDefaultSlots);
  for (int i = 0; i < 1000; ++i) {
    std::string key = key_of(static_cast<uint64_t>(i));
    int first = pick_key(b, key);
    ASSERT_GE(first, 0);
    EXPECT_EQ(pick_key(b, key), first);
  }
  // Another worker's balancer, built from the same targets, agrees.
  ConsistentHashBalancer other(targets_with({1, 1, 1, 1}), kDefaultSlots);
  EXPECT_EQ(owners(b, 2000), owners(other, 2000));
}

struct DistributionCase {
  std::vector<uint32_t> weights;
  uint32_t slots;
};

class Distribution : public ::testing::TestWithParam<DistributionCase> {};

TEST_P(Distribution, WithinTenPercentOfWeights) {
  const auto& weights = GetParam().weights;
  ConsistentHashBalancer b(targets_with(weights), GetParam().slots);
  double total_weight = 0;
  for (uint32_t w : weights) total_weight += w;

  std::vector<int> slot_counts(weights.size(), 0);
  for (int32_t owner : b.ring()) ++slot_counts[static_cast<size_t>(owner)];

  constexpr int kKeys = 100000;
  testing::Rng rng;
  std::vector<int> counts(weights.size(), 0);
  for (int i = 0; i < kKeys; ++i) ++counts[static_cast<size_t>(pick_key(b, key_of(rng.next())))];
  for (size_t t = 0; t < weights.size(); ++t) {
    const double share = weights[t] / total_weight;
    EXPECT_NEAR(counts[t], kKeys * share, kKeys * share * 0.10) << "target " << t;
    EXPECT_NEAR(slot_counts[t], GetParam().slots * share, GetParam().slots * share * 0.10)
        << "slots of target " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(ConsistentHash, Distribution,
                         ::testing::Values(DistributionCase{{1, 1, 1, 1}, kDefaultSlots},
                                           DistributionCase{{100, 50, 25, 25}, kDefaultSlots},
                                           DistributionCase{{10, 30, 60}, kMaxSlots},
                                           DistributionCase{{1, 1, 1, 1, 1, 1, 1, 1}, 20000}));

TEST(ConsistentHash, ZeroWeightOwnsNothing) {
  ConsistentHashBalancer b(targets_with({1, 0, 1}), 1000);
  for (int32_t owner : b.ring()) EXPECT_NE(owner, 1);
  ConsistentHashBalancer all_zero(targets_with({0, 0}), 100);
  EXPECT_EQ(pick_key(all_zero, "k"), -1);
  ConsistentHashBalancer empty({}, 100);
  EXPECT_EQ(pick_key(empty, "k"), -1);
}

TEST(ConsistentHash, AddingATargetMovesAboutOneFifthOnlyOntoIt) {
  auto four = targets_with({1, 1, 1, 1});
  auto five = targets_with({1, 1, 1, 1, 1});
  ConsistentHashBalancer before(four, kDefaultSlots);
  ConsistentHashBalancer after(five, kDefaultSlots);
  const std::string& added = five[4].key;
  constexpr int kKeys = 20000;
  auto a = owners(before, kKeys);
  auto b = owners(after, kKeys);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (a[static_cast<size_t>(i)] == b[static_cast<size_t>(i)]) continue;
    ++moved;
    EXPECT_EQ(b[static_cast<size_t>(i)], added) << "key " << i << " moved between old targets";
  }
  // Ideal is 1/5 = 20%; allow statistical margin, and never more than 25%.
  EXPECT_GT(moved, kKeys * 0.17);
  EXPECT_LT(moved, kKeys * 0.25);
}

TEST(ConsistentHash, AddingAHeavierTargetMovesItsShareOnlyOntoIt) {
  // Equal weights take a fast path when building the ring; unequal ones the weighted race. Both
  // must agree, or going from one to the other would reshuffle keys between old targets.
  ConsistentHashBalancer before(targets_with({1, 1, 1}), kDefaultSlots);
  ConsistentHashBalancer after(targets_with({1, 1, 1, 3}), kDefaultSlots);
  const std::string added = after.targets()[3].key;
  constexpr int kKeys = 20000;
  auto a = owners(before, kKeys);
  auto b = owners(after, kKeys);
  int moved = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    ++moved;
    EXPECT_EQ(b[i], added);
  }
  EXPECT_NEAR(moved, kKeys / 2, kKeys * 0.04);  // weight 3 of 6
}

TEST(ConsistentHash, RemovingATargetMovesOnlyItsKeys) {
  auto five = targets_with({1, 1, 1, 1, 1});
  auto four = five;
  const std::string removed = four[2].key;
  four.erase(four.begin() + 2);
  ConsistentHashBalancer before(five, kDefaultSlots);
  ConsistentHashBalancer after(four, kDefaultSlots);
  constexpr int kKeys = 20000;
  auto a = owners(before, kKeys);
  auto b = owners(after, kKeys);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    const auto& was = a[static_cast<size_t>(i)];
    if (was == removed) {
      ++moved;
      EXPECT_NE(b[static_cast<size_t>(i)], removed);
    } else {
      EXPECT_EQ(b[static_cast<size_t>(i)], was) << "key " << i << " moved off a surviving target";
    }
  }
  EXPECT_NEAR(moved, kKeys / 5, kKeys * 0.03);
}

TEST(ConsistentHash, TargetOrderDoesNotMatter) {
  auto targets = targets_with({3, 1, 2});
  auto reversed = std::vector<Target>(targets.rbegin(), targets.rend());
  ConsistentHashBalancer a(targets, 5000);
  ConsistentHashBalancer b(reversed, 5000);
  EXPECT_EQ(owners(a, 3000), owners(b, 3000));
}

TEST(ConsistentHash, WeightChangeMovesKeysOnlyTowardTheChangedTarget) {
  ConsistentHashBalancer before(targets_with({1, 1, 1}), kDefaultSlots);
  ConsistentHashBalancer after(targets_with({1, 1, 2}), kDefaultSlots);
  auto a = owners(before, 10000);
  auto b = owners(after, 10000);
  const std::string heavier = after.targets()[2].key;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      EXPECT_EQ(b[i], heavier);
    }
  }
}

TEST(ConsistentHash, UnavailableTargetsKeysWalkOnOthersStay) {
  ConsistentHashBalancer b(targets_with({1, 1, 1, 1}), kDefaultSlots);
  auto healthy = owners(b, 5000);
  const std::string down = b.targets()[1].key;
  b.set_available(1, false);
  auto degraded = owners(b, 5000);
  for (size_t i = 0; i < healthy.size(); ++i) {
    if (healthy[i] == down) {
      EXPECT_NE(degraded[i], down);
      EXPECT_FALSE(degraded[i].empty());
    } else {
      EXPECT_EQ(degraded[i], healthy[i]);
    }
  }
  b.set_available(1, true);
  EXPECT_EQ(owners(b, 5000), healthy);
  for (int t = 0; t < 4; ++t) b.set_available(t, false);
  EXPECT_EQ(pick_key(b, "anything"), -1);
}

TEST(ConsistentHash, ExcludeMovesARetryElsewhere) {
  ConsistentHashBalancer b(targets_with({1, 1, 1}), 1000);
  for (int i = 0; i < 500; ++i) {
    std::string key = key_of(static_cast<uint64_t>(i));
    int first = pick_key(b, key);
    int retry = pick_key(b, key, first);
    EXPECT_NE(retry, first);
    EXPECT_GE(retry, 0);
  }
  ConsistentHashBalancer single(targets_with({1}), 100);
  EXPECT_EQ(pick_key(single, "k", 0), 0);
}

TEST(ConsistentHash, EmptyKeySpreadsByRandom) {
  ConsistentHashBalancer b(targets_with({1, 3}), kDefaultSlots);
  testing::Rng rng;
  auto counts = testing::count_picks(b, 20000, rng);
  EXPECT_NEAR(counts[0], 5000, 600);
  EXPECT_NEAR(counts[1], 15000, 600);
}

TEST(ConsistentHash, MoreTargetsThanSlotsStillAnswers) {
  ConsistentHashBalancer b(targets_with(std::vector<uint32_t>(40, 1)), kMinSlots);
  std::vector<bool> owns(40, false);
  for (int32_t owner : b.ring()) owns[static_cast<size_t>(owner)] = true;
  int slotless = -1;
  for (int t = 0; t < 40; ++t) {
    if (!owns[static_cast<size_t>(t)]) slotless = t;
  }
  ASSERT_GE(slotless, 0);
  for (int t = 0; t < 40; ++t) {
    if (t != slotless) b.set_available(t, false);
  }
  EXPECT_EQ(pick_key(b, "k"), slotless);
}

}  // namespace
}  // namespace portico::upstream
