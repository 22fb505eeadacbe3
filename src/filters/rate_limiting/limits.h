// Rate-limit arithmetic shared by the local and the Redis policies: Kong's periods and their
// calendar windows, the three algorithms' decisions, and the response values they produce.
//
// Contract: pure functions and plain structs; no clock is read here (times are arguments: Unix
// milliseconds), no allocation, callable from any thread.
//
// Algorithms (the `algorithm` field of the rate-limiting plugin):
// - fixed-window (Kong's): one counter per period and calendar window (UTC; months and years
//   have their real lengths). A request is admitted when every configured period has room; it
//   is then counted in all of them. A refused request is not counted.
// - sliding-window: the weighted estimate `current + previous × (1 − elapsed / length)` of the
//   period must stay below the limit (the Cloudflare / Kong Enterprise approximation).
// - token-bucket: GCRA with `rate` tokens per second and a bucket of `burst` tokens (the AWS
//   throttling model): the theoretical arrival time (TAT) advances by 1/rate per request and a
//   request is admitted while TAT − now ≤ burst / rate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portico::filters::ratelimit {

enum class Period : uint8_t { kSecond, kMinute, kHour, kDay, kMonth, kYear };
inline constexpr size_t kPeriodCount = 6;

// "second", ..., "year" (Kong's field names).
std::string_view period_name(Period p);
// "Second", ..., "Year" (the suffix of X-RateLimit-Limit-<Period>).
std::string_view period_title(Period p);

// The calendar window of `p` holding `now_ms`: [start, end) in Unix milliseconds (UTC).
struct Window {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};
Window window_of(Period p, int64_t now_ms);
// The window just before `w` (same period).
Window previous_window(Period p, const Window& w);

enum class Algorithm : uint8_t { kFixedWindow, kSlidingWindow, kTokenBucket };

struct PeriodLimit {
  Period period = Period::kMinute;
  int64_t limit = 0;
};

// What a request saw for one period.
struct PeriodUsage {
  Period period = Period::kMinute;
  int64_t limit = 0;
  int64_t remaining = 0;      // after this request (0 when refused)
  int64_t reset_seconds = 0;  // until the window ends (fixed) or the estimate has room (sliding)
};

struct Decision {
  bool allowed = true;
  std::array<PeriodUsage, kPeriodCount> usage{};
  size_t periods = 0;
  int64_t retry_after_seconds = 0;  // when refused: whole seconds until a request may pass
  // The token bucket's values (periods == 0): bucket size, tokens left, seconds until full.
  int64_t bucket_limit = 0;
  int64_t bucket_remaining = 0;
  int64_t bucket_reset_seconds = 0;
};

// Whole seconds from `now_ms` to `until_ms`, rounded up, at least 1 when until_ms > now_ms.
int64_t ceil_seconds(int64_t now_ms, int64_t until_ms);

// Sliding window: the estimated count of `window` at `now_ms` from the current and the previous
// window's counts.
int64_t sliding_estimate(int64_t current, int64_t previous, const Window& window, int64_t now_ms);
// Sliding window: whole seconds until the estimate drops to limit − 1 so one more request fits.
int64_t sliding_retry_after(int64_t current, int64_t previous, int64_t limit, const Window& window,
                            int64_t now_ms);

// GCRA: decides one request with the stored TAT (nanoseconds; 0 = never seen) and updates it
// when admitted. Fills the bucket fields of `d`.
struct Bucket {
  double rate = 1;   // tokens per second
  int64_t burst = 1; // bucket size
};
void gcra(const Bucket& bucket, int64_t now_ns, int64_t& tat_ns, Decision& d);

}  // namespace portico::filters::ratelimit
