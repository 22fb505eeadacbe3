#include "filters/rate_limiting/local_counters.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace portico::filters::ratelimit {
namespace {

constexpr int64_t kMinuteBoundary = 1'700'000'040'000;
constexpr int64_t kT0 = kMinuteBoundary + 40'000;  // 40 s into a minute

TEST(LocalCounters, FixedWindowAdmitsTheLimitThenRefusesUntilTheWindowEnds) {
  LocalCounters c;
  const PeriodLimit limits[] = {{Period::kMinute, 3}};
  for (int i = 0; i < 3; ++i) {
    Decision d = c.windows("k", Algorithm::kFixedWindow, limits, kT0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.usage[0].remaining, 2 - i);
    EXPECT_EQ(d.usage[0].reset_seconds, 20);
  }
  Decision d = c.windows("k", Algorithm::kFixedWindow, limits, kT0 + 1000);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.usage[0].remaining, 0);
  EXPECT_EQ(d.retry_after_seconds, 19);
  EXPECT_TRUE(c.windows("other", Algorithm::kFixedWindow, limits, kT0).allowed);  // keys are separate
  EXPECT_TRUE(c.windows("k", Algorithm::kFixedWindow, limits, kT0 + 20'000).allowed);  // next minute
}

TEST(LocalCounters, EveryPeriodMustHaveRoomAndARefusalCountsInNone) {
  LocalCounters c;
  const PeriodLimit limits[] = {{Period::kSecond, 2}, {Period::kMinute, 3}};
  EXPECT_TRUE(c.windows("k", Algorithm::kFixedWindow, limits, kT0).allowed);
  EXPECT_TRUE(c.windows("k", Algorithm::kFixedWindow, limits, kT0).allowed);
  Decision d = c.windows("k", Algorithm::kFixedWindow, limits, kT0);  // the second is full
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.usage[1].remaining, 1);  // the minute still has one: the refusal was not counted
  d = c.windows("k", Algorithm::kFixedWindow, limits, kT0 + 1000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.usage[0].remaining, 1);
  EXPECT_EQ(d.usage[1].remaining, 0);
  d = c.windows("k", Algorithm::kFixedWindow, limits, kT0 + 2000);  // now the minute is full
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 18);
}

TEST(LocalCounters, SlidingWindowCarriesThePreviousWindowOver) {
  LocalCounters c;
  const PeriodLimit limits[] = {{Period::kMinute, 10}};
  const int64_t start = kMinuteBoundary;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(c.windows("k", Algorithm::kSlidingWindow, limits, start + 50'000).allowed);
  EXPECT_FALSE(c.windows("k", Algorithm::kSlidingWindow, limits, start + 59'000).allowed);
  // 15 s into the next minute, 3/4 of the previous 10 still count (7.5, rounded down): room for 3
  // (a fixed window would admit 10).
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += c.windows("k", Algorithm::kSlidingWindow, limits, start + 75'000).allowed;
  EXPECT_EQ(admitted, 3);
}

TEST(LocalCounters, TokenBucketPerKey) {
  LocalCounters c;
  const Bucket b{1, 2};
  const int64_t ns = 5'000'000'000;
  EXPECT_TRUE(c.bucket("k", b, ns, 5000).allowed);
  EXPECT_TRUE(c.bucket("k", b, ns, 5000).allowed);
  EXPECT_FALSE(c.bucket("k", b, ns, 5000).allowed);
  EXPECT_TRUE(c.bucket("j", b, ns, 5000).allowed);
  EXPECT_TRUE(c.bucket("k", b, ns + 1'000'000'000, 6000).allowed);
}

TEST(LocalCounters, ManyThreadsOnOneKeyAdmitExactlyTheLimit) {
  LocalCounters c;
  const PeriodLimit limits[] = {{Period::kHour, 10'000}};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5'000; ++i) admitted += c.windows("hot", Algorithm::kFixedWindow, limits, kT0).allowed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 10'000);
}

TEST(LocalCounters, MemoryIsBoundedAndExpiredKeysGo) {
  LocalCounters c;
  c.set_max_keys(64 * 10);  // 10 per stripe
  const PeriodLimit limits[] = {{Period::kSecond, 5}};
  for (int i = 0; i < 5000; ++i) c.windows("key" + std::to_string(i), Algorithm::kFixedWindow, limits, kT0);
  EXPECT_LE(c.size(), 64u * 10u);
  EXPECT_GT(c.evictions(), 0u);
  // A second later every entry has expired: new keys replace them without evicting live ones.
  const size_t evicted = c.evictions();
  for (int i = 0; i < 320; ++i) c.windows("new" + std::to_string(i), Algorithm::kFixedWindow, limits, kT0 + 2000);
  EXPECT_LE(c.size(), 64u * 10u);
  EXPECT_LT(c.evictions() - evicted, 16u);  // sweeps freed the room, not evictions
  c.set_max_keys(1'000'000);
}

}  // namespace
}  // namespace portico::filters::ratelimit
