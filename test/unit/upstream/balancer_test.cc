#include "upstream/balancer.h"

#include <gtest/gtest.h>

#include "test_support.h"
#include "upstream/consistent_hash_balancer.h"
#include "upstream/hash.h"

namespace portico::upstream {
namespace {

using testing::targets_with;

TEST(Algorithm, ParsesKongNamesAndRoundTrips) {
  struct Case {
    const char* name;
    std::optional<Algorithm> expected;
  };
  const Case cases[] = {
      {"round-robin", Algorithm::kRoundRobin},
      {"least-connections", Algorithm::kLeastConnections},
      {"consistent-hashing", Algorithm::kConsistentHashing},
      {"least-request", Algorithm::kLeastRequest},
      {"Round-Robin", std::nullopt},
      {"round_robin", std::nullopt},
      {"latency", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse_algorithm(c.name), c.expected) << c.name;
    if (c.expected) {
      EXPECT_EQ(algorithm_name(*c.expected), c.name);
    }
  }
}

class Factory : public ::testing::TestWithParam<Algorithm> {};

TEST_P(Factory, BuildsAWorkingBalancer) {
  auto b = make_balancer(GetParam(), targets_with({1, 1, 1}));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->targets().size(), 3u);
  testing::Rng rng;
  for (int i = 0; i < 100; ++i) {
    int t = b->pick({.hash_key = "k", .random = rng.next()});
    EXPECT_GE(t, 0);
    EXPECT_LT(t, 3);
  }
  for (int t = 0; t < 3; ++t) b->set_available(t, false);
  EXPECT_EQ(b->pick({.hash_key = "k", .random = rng.next()}), -1);
  EXPECT_FALSE(b->available(0));
  auto empty = make_balancer(GetParam(), {});
  EXPECT_EQ(empty->pick({.hash_key = "k", .random = 1}), -1);
}

INSTANTIATE_TEST_SUITE_P(Balancer, Factory,
                         ::testing::Values(Algorithm::kRoundRobin, Algorithm::kLeastConnections,
                                           Algorithm::kConsistentHashing,
                                           Algorithm::kLeastRequest));

TEST(Factory, SlotsDefaultAndClamp) {
  auto ring_size = [](uint32_t slots) {
    auto b = make_balancer(Algorithm::kConsistentHashing, targets_with({1, 1}), slots);
    return static_cast<ConsistentHashBalancer&>(*b).ring().size();
  };
  EXPECT_EQ(ring_size(0), kDefaultSlots);
  EXPECT_EQ(ring_size(3), kMinSlots);
  EXPECT_EQ(ring_size(1000000), kMaxSlots);
  EXPECT_EQ(ring_size(777), 777u);
}

TEST(Hash, StableAndSpread) {
  EXPECT_EQ(hash64("10.0.0.1:80"), hash64("10.0.0.1:80"));
  EXPECT_NE(hash64("10.0.0.1:80"), hash64("10.0.0.2:80"));
  EXPECT_NE(hash64("a"), hash64(std::string_view("a\0", 2)));
  EXPECT_NE(hash64("abcdefgh"), hash64("abcdefgh", 1));
  EXPECT_NE(hash64(""), hash64("", 1));
  // Avalanche: one flipped input bit flips about half of the output bits.
  double flipped = 0;
  constexpr int kRounds = 2000;
  for (int i = 0; i < kRounds; ++i) {
    std::string s = "key-" + std::to_string(i) + "-padding";
    std::string t = s;
    t[static_cast<size_t>(i) % t.size()] ^= 1;
    flipped += __builtin_popcountll(hash64(s) ^ hash64(t));
  }
  EXPECT_NEAR(flipped / kRounds, 32.0, 1.5);
}

TEST(Hash, ReduceStaysInRange) {
  testing::Rng rng;
  for (uint64_t n : {1ull, 2ull, 7ull, 10000ull, 65536ull}) {
    for (int i = 0; i < 1000; ++i) EXPECT_LT(reduce(rng.next(), n), n);
  }
  EXPECT_EQ(reduce(~0ull, 10), 9u);
  EXPECT_EQ(reduce(0, 10), 0u);
}

}  // namespace
}  // namespace portico::upstream
