#include "upstream/least_request_balancer.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace portico::upstream {
namespace {

using testing::count_picks;
using testing::Rng;
using testing::targets_with;

TEST(LeastRequest, IdleEqualTargetsShareEvenly) {
  LeastRequestBalancer b(targets_with({1, 1, 1, 1}));
  Rng rng;
  auto counts = count_picks(b, 40000, rng);
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

TEST(LeastRequest, BusierTargetGetsFewerPicks) {
  LeastRequestBalancer b(targets_with({1, 1}));
  for (int i = 0; i < 10; ++i) b.on_start(0);
  Rng rng;
  auto counts = count_picks(b, 20000, rng);
  // Target 0 wins only when both draws land on it: 1/4 of picks.
  EXPECT_NEAR(counts[0], 5000, 400);
  EXPECT_NEAR(counts[1], 15000, 400);
}

TEST(LeastRequest, OneBusyAmongFourIsMostlyAvoided) {
  LeastRequestBalancer b(targets_with({1, 1, 1, 1}));
  for (int i = 0; i < 5; ++i) b.on_start(2);
  Rng rng;
  auto counts = count_picks(b, 32000, rng);
  EXPECT_NEAR(counts[2], 32000 / 16, 300);  // both draws on the busy one
  for (int t : {0, 1, 3}) EXPECT_GT(counts[static_cast<size_t>(t)], counts[2] * 4);
}

TEST(LeastRequest, SelfBalancesUnderLoad) {
  // Simulate requests that start on pick and never finish: P2C keeps counts close together.
  LeastRequestBalancer b(targets_with({1, 1, 1, 1, 1}));
  Rng rng;
  for (int i = 0; i < 5000; ++i) b.on_start(b.pick({.random = rng.next()}));
  uint32_t lo = b.active(0), hi = b.active(0);
  for (int t = 1; t < 5; ++t) {
    lo = std::min(lo, b.active(t));
    hi = std::max(hi, b.active(t));
  }
  EXPECT_LE(hi - lo, 10u);
}

TEST(LeastRequest, WeightsShapeIdleDistribution) {
  LeastRequestBalancer b(targets_with({3, 1}));
  Rng rng;
  auto counts = count_picks(b, 40000, rng);
  // Draws are weighted 3:1 and, with no load, (0+1)/3 < (0+1)/1 so the heavier wins any mixed
  // pair: target 1 is picked only when both draws hit it, (1/4)^2 = 1/16.
  EXPECT_NEAR(counts[1], 40000 / 16, 300);
}

TEST(LeastRequest, WeightedLoadSettlesByCapacity) {
  LeastRequestBalancer b(targets_with({3, 1}));
  Rng rng;
  for (int i = 0; i < 4000; ++i) b.on_start(b.pick({.random = rng.next()}));
  EXPECT_NEAR(static_cast<double>(b.active(0)) / b.active(1), 3.0, 0.3);
}

TEST(LeastRequest, ZeroWeightAndUnavailableNeverPicked) {
  LeastRequestBalancer b(targets_with({0, 1, 1, 2}));
  b.set_available(2, false);
  Rng rng;
  auto counts = count_picks(b, 5000, rng);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2], 0);
  EXPECT_EQ(counts[1] + counts[3], 5000);
  b.set_available(1, false);
  b.set_available(3, false);
  EXPECT_EQ(b.pick({.random = rng.next()}), -1);
  b.set_available(2, true);
  EXPECT_EQ(b.pick({.random = rng.next()}), 2);
}

class Exclude : public ::testing::TestWithParam<std::vector<uint32_t>> {};

TEST_P(Exclude, HonouredWhenAnotherTargetExists) {
  LeastRequestBalancer b(targets_with(GetParam()));
  Rng rng;
  for (int excluded = 0; excluded < static_cast<int>(GetParam().size()); ++excluded) {
    auto counts = count_picks(b, 2000, rng, excluded);
    EXPECT_EQ(counts[static_cast<size_t>(excluded)], 0) << "excluded " << excluded;
  }
}

INSTANTIATE_TEST_SUITE_P(LeastRequest, Exclude,
                         ::testing::Values(std::vector<uint32_t>{1, 1},
                                           std::vector<uint32_t>{1, 1, 1, 1},
                                           std::vector<uint32_t>{5, 1, 2},
                                           std::vector<uint32_t>{1, 9}));

TEST(LeastRequest, ExcludeIgnoredWhenOnlyTarget) {
  LeastRequestBalancer b(targets_with({1, 1}));
  b.set_available(1, false);
  EXPECT_EQ(b.pick({.random = 42, .exclude = 0}), 0);
}

}  // namespace
}  // namespace portico::upstream
