#include "filters/rate_limiting/limits.h"

#include <gtest/gtest.h>

namespace portico::filters::ratelimit {
namespace {

constexpr int64_t kSec = 1000;
// 2024-02-29T23:59:59.500Z (a leap day, the last second of a month).
constexpr int64_t kLeapDayEnd = 1709251199500;

TEST(RateLimitWindows, FixedPeriodsAlignToUtcBoundaries) {
  Window w = window_of(Period::kSecond, 1500);
  EXPECT_EQ(w.start_ms, 1000);
  EXPECT_EQ(w.end_ms, 2000);
  w = window_of(Period::kMinute, 125 * kSec);
  EXPECT_EQ(w.start_ms, 120 * kSec);
  EXPECT_EQ(w.end_ms, 180 * kSec);
  w = window_of(Period::kDay, kLeapDayEnd);
  EXPECT_EQ(w.start_ms, 1709164800000);
  EXPECT_EQ(w.end_ms, 1709251200000);
}

TEST(RateLimitWindows, MonthsAndYearsHaveTheirCalendarLengths) {
  Window m = window_of(Period::kMonth, kLeapDayEnd);
  EXPECT_EQ(m.start_ms, 1706745600000);          // 2024-02-01
  EXPECT_EQ(m.end_ms, 1709251200000);            // 2024-03-01
  EXPECT_EQ(m.end_ms - m.start_ms, 29 * 86400 * kSec);
  Window before = previous_window(Period::kMonth, m);
  EXPECT_EQ(before.end_ms, m.start_ms);
  EXPECT_EQ(before.end_ms - before.start_ms, 31 * 86400 * kSec);  // January
  Window y = window_of(Period::kYear, kLeapDayEnd);
  EXPECT_EQ(y.start_ms, 1704067200000);          // 2024-01-01
  EXPECT_EQ(y.end_ms - y.start_ms, 366 * 86400 * kSec);
  Window dec = window_of(Period::kMonth, 1735689599000);  // 2024-12-31T23:59:59Z
  EXPECT_EQ(dec.end_ms, 1735689600000);                   // 2025-01-01
}

TEST(RateLimitWindows, CeilSecondsRoundsUp) {
  EXPECT_EQ(ceil_seconds(1000, 1000), 0);
  EXPECT_EQ(ceil_seconds(1000, 1001), 1);
  EXPECT_EQ(ceil_seconds(1000, 61000), 60);
  EXPECT_EQ(ceil_seconds(1500, 61000), 60);
}

TEST(RateLimitSliding, TheEstimateWeighsThePreviousWindowByWhatIsLeft) {
  const Window w{60 * kSec, 120 * kSec};
  EXPECT_EQ(sliding_estimate(0, 100, w, 60 * kSec), 100);   // start: all of the previous window
  EXPECT_EQ(sliding_estimate(10, 100, w, 90 * kSec), 60);   // half way: half of it
  EXPECT_EQ(sliding_estimate(10, 100, w, 120 * kSec), 10);  // end: none of it
}

TEST(RateLimitSliding, RetryAfterIsWhenTheEstimateHasRoomAgain) {
  const Window w{60 * kSec, 120 * kSec};
  // limit 10, previous 20, current 0, at the window start: estimate 20; room (9) once
  // 20 × left/60 ≤ 9 → left ≤ 27 s → 33 s from now.
  EXPECT_EQ(sliding_retry_after(0, 20, 10, w, 60 * kSec), 33);
  // The current window alone is over the limit: into the next window.
  EXPECT_GT(sliding_retry_after(12, 0, 10, w, 60 * kSec), 60);
}

TEST(RateLimitBucket, BurstThenOneTokenPerIntervalAsAwsThrottling) {
  Bucket b{50, 100};  // ThrottlingRateLimit 50, ThrottlingBurstLimit 100
  int64_t tat = 0;
  const int64_t t0 = 1'000'000'000'000;
  int admitted = 0;
  Decision d;
  for (int i = 0; i < 150; ++i) {
    gcra(b, t0, tat, d);
    if (d.allowed) ++admitted;
  }
  EXPECT_EQ(admitted, 100);  // the whole burst at once, nothing more
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 1);
  EXPECT_EQ(d.bucket_limit, 100);
  // 100 ms later, 5 tokens (50/s) have come back.
  admitted = 0;
  for (int i = 0; i < 10; ++i) {
    gcra(b, t0 + 100'000'000, tat, d);
    if (d.allowed) ++admitted;
  }
  EXPECT_EQ(admitted, 5);
  // After 2 s idle the bucket is full again.
  gcra(b, t0 + 3'000'000'000, tat, d);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.bucket_remaining, 99);
}

}  // namespace
}  // namespace portico::filters::ratelimit
