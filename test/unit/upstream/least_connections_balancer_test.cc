#include "upstream/least_connections_balancer.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace portico::upstream {
namespace {

using testing::targets_with;

void load(Balancer& b, const std::vector<uint32_t>& active) {
  for (size_t i = 0; i < active.size(); ++i) {
    for (uint32_t k = 0; k < active[i]; ++k) b.on_start(static_cast<int>(i));
  }
}

struct LeastCase {
  const char* name;
  std::vector<uint32_t> weights;
  std::vector<uint32_t> active;
  int expected;
};

class LeastLoaded : public ::testing::TestWithParam<LeastCase> {};

TEST_P(LeastLoaded, PicksLowestActivePerWeight) {
  LeastConnectionsBalancer b(targets_with(GetParam().weights));
  load(b, GetParam().active);
  EXPECT_EQ(b.pick({}), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    LeastConnections, LeastLoaded,
    ::testing::Values(
        LeastCase{"FewestActive", {1, 1, 1}, {3, 0, 1}, 1},
        LeastCase{"FewestActiveLast", {1, 1, 1}, {3, 2, 1}, 2},
        // (4+1)/10 = 0.5 beats (1+1)/1 = 2: capacity counts, not raw connections.
        LeastCase{"WeightScalesLoad", {10, 1}, {4, 1}, 0},
        LeastCase{"WeightScalesLoadOtherWay", {10, 1}, {30, 1}, 1},
        // (0+1)/1 vs (1+1)/2: equal ratios, the heavier target wins the tie.
        LeastCase{"TieBrokenByWeight", {1, 2}, {0, 1}, 1},
        LeastCase{"IdleHeavierWins", {1, 5, 2}, {0, 0, 0}, 1},
        LeastCase{"ZeroWeightNeverPicked", {0, 1}, {0, 100}, 1}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(LeastConnections, EqualTiesRotate) {
  LeastConnectionsBalancer b(targets_with({1, 1, 1}));
  std::vector<int> picks;
  for (int i = 0; i < 6; ++i) picks.push_back(b.pick({}));
  EXPECT_EQ(picks, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(LeastConnections, FollowsLoadAsRequestsStartAndFinish) {
  LeastConnectionsBalancer b(targets_with({1, 1}));
  int first = b.pick({});
  b.on_start(first);
  int second = b.pick({});
  EXPECT_NE(first, second);
  b.on_start(second);
  b.on_start(second);
  EXPECT_EQ(b.pick({}), first);
  b.on_finish(second);
  b.on_finish(second);
  b.on_start(first);
  EXPECT_EQ(b.pick({}), second);
}

TEST(LeastConnections, BalancesActiveCountsUnderSustainedLoad) {
  LeastConnectionsBalancer b(targets_with({3, 1}));
  for (int i = 0; i < 400; ++i) b.on_start(b.pick({}));
  // Connections settle in proportion to weight.
  EXPECT_NEAR(b.active(0), 300, 2);
  EXPECT_NEAR(b.active(1), 100, 2);
}

TEST(LeastConnections, UnavailableAndExclude) {
  LeastConnectionsBalancer b(targets_with({1, 1, 1}));
  load(b, {5, 0, 9});
  b.set_available(1, false);
  EXPECT_EQ(b.pick({}), 0);
  EXPECT_EQ(b.pick({.exclude = 0}), 2);
  b.set_available(0, false);
  b.set_available(2, false);
  EXPECT_EQ(b.pick({}), -1);
  b.set_available(2, true);
  EXPECT_EQ(b.pick({.exclude = 2}), 2);  // the only one left
  EXPECT_EQ(b.active(0), 5u);            // counts survive health changes
}

}  // namespace
}  // namespace portico::upstream
