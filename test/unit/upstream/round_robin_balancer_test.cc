#include "upstream/round_robin_balancer.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace portico::upstream {
namespace {

using testing::targets_with;

std::string sequence(Balancer& b, int n, int exclude = -1) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    int picked = b.pick({.exclude = exclude});
    out.push_back(picked < 0 ? '-' : static_cast<char>('a' + picked));
  }
  return out;
}

struct SequenceCase {
  std::vector<uint32_t> weights;
  std::string expected;
};

class SmoothSequence : public ::testing::TestWithParam<SequenceCase> {};

TEST_P(SmoothSequence, MatchesNginx) {
  RoundRobinBalancer b(targets_with(GetParam().weights));
  EXPECT_EQ(sequence(b, static_cast<int>(GetParam().expected.size())), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    RoundRobin, SmoothSequence,
    ::testing::Values(
        // nginx's documented example (ngx_http_upstream_round_robin.c): a a b a c a a, repeating.
        SequenceCase{{5, 1, 1}, "aabacaaaabacaa"},
        SequenceCase{{1, 1, 1}, "abcabc"},
        SequenceCase{{2, 1}, "abaaba"},
        SequenceCase{{1}, "aaa"},
        SequenceCase{{0, 1}, "bbb"},
        SequenceCase{{3, 0, 1}, "aacaaaca"}));

TEST(RoundRobin, DistributionProportionalToWeights) {
  const std::vector<uint32_t> weights = {50, 30, 15, 5};
  RoundRobinBalancer b(targets_with(weights));
  testing::Rng rng;
  auto counts = testing::count_picks(b, 10000, rng);
  // Smooth WRR is exact over every multiple of sum(weights) = 100 picks.
  for (size_t i = 0; i < weights.size(); ++i) EXPECT_EQ(counts[i], static_cast<int>(weights[i]) * 100);
}

TEST(RoundRobin, ZeroWeightNeverPicked) {
  RoundRobinBalancer b(targets_with({0, 3, 0, 2}));
  testing::Rng rng;
  auto counts = testing::count_picks(b, 1000, rng);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2], 0);
  EXPECT_EQ(counts[1], 600);
  EXPECT_EQ(counts[3], 400);
}

TEST(RoundRobin, AllZeroWeightsOrNoTargets) {
  RoundRobinBalancer zero(targets_with({0, 0}));
  EXPECT_EQ(zero.pick({}), -1);
  RoundRobinBalancer none({});
  EXPECT_EQ(none.pick({}), -1);
}

TEST(RoundRobin, UnavailableSkippedAndRestored) {
  RoundRobinBalancer b(targets_with({1, 1, 1}));
  b.set_available(1, false);
  EXPECT_EQ(sequence(b, 4), "acac");
  b.set_available(0, false);
  b.set_available(2, false);
  EXPECT_EQ(b.pick({}), -1);
  b.set_available(1, true);
  EXPECT_EQ(sequence(b, 2), "bb");
  b.set_available(0, true);
  b.set_available(2, true);
  EXPECT_EQ(sequence(b, 3), "abc");
}

TEST(RoundRobin, ExcludeHonouredWhenAnotherExists) {
  RoundRobinBalancer b(targets_with({5, 1}));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(b.pick({.exclude = 0}), 1);
  b.set_available(1, false);
  // The excluded target is the only one left: a retry still gets somewhere to go.
  EXPECT_EQ(b.pick({.exclude = 0}), 0);
  // Excluding an unavailable or out-of-range target changes nothing.
  EXPECT_EQ(b.pick({.exclude = 1}), 0);
  EXPECT_EQ(b.pick({.exclude = 7}), 0);
}

TEST(RoundRobin, ActiveAccountingIgnoredByPick) {
  RoundRobinBalancer b(targets_with({1, 1}));
  b.on_start(0);
  b.on_start(0);
  EXPECT_EQ(b.active(0), 2u);
  EXPECT_EQ(sequence(b, 2), "ab");
  b.on_finish(0);
  b.on_finish(0);
  b.on_finish(0);  // unmatched: saturates at zero
  EXPECT_EQ(b.active(0), 0u);
  b.on_start(-1);  // out of range: ignored
  b.on_finish(9);
  b.set_available(9, false);
  EXPECT_EQ(sequence(b, 2), "ab");
}

}  // namespace
}  // namespace portico::upstream
