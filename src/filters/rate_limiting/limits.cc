#include "filters/rate_limiting/limits.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace portico::filters::ratelimit {
namespace {

constexpr int64_t kSecondMs = 1000;
constexpr int64_t kDayMs = 86400 * kSecondMs;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Unix ms of 00:00 UTC on the first day of `month` (1..12) of `year`.
int64_t month_start_ms(int year, unsigned month) {
  using namespace std::chrono;
  const sys_days d = year_month_day{std::chrono::year{year}, std::chrono::month{month}, day{1}};
  return static_cast<int64_t>(d.time_since_epoch().count()) * kDayMs;
}

}  // namespace

std::string_view period_name(Period p) {
  static constexpr std::string_view kNames[] = {"second", "minute", "hour", "day", "month", "year"};
  return kNames[static_cast<size_t>(p)];
}

std::string_view period_title(Period p) {
  static constexpr std::string_view kNames[] = {"Second", "Minute", "Hour", "Day", "Month", "Year"};
  return kNames[static_cast<size_t>(p)];
}

Window window_of(Period p, int64_t now_ms) {
  auto fixed = [&](int64_t length) {
    const int64_t start = floor_div(now_ms, length) * length;
    return Window{start, start + length};
  };
  switch (p) {
    case Period::kSecond: return fixed(kSecondMs);
    case Period::kMinute: return fixed(60 * kSecondMs);
    case Period::kHour: return fixed(3600 * kSecondMs);
    case Period::kDay: return fixed(kDayMs);
    case Period::kMonth:
    case Period::kYear: {
      using namespace std::chrono;
      const sys_days today{days{floor_div(now_ms, kDayMs)}};
      const year_month_day ymd{today};
      const int y = static_cast<int>(ymd.year());
      const unsigned m = static_cast<unsigned>(ymd.month());
      if (p == Period::kMonth) {
        return Window{month_start_ms(y, m), m == 12 ? month_start_ms(y + 1, 1) : month_start_ms(y, m + 1)};
      }
      return Window{month_start_ms(y, 1), month_start_ms(y + 1, 1)};
    }
  }
  return {};
}

Window previous_window(Period p, const Window& w) { return window_of(p, w.start_ms - 1); }

int64_t ceil_seconds(int64_t now_ms, int64_t until_ms) {
  if (until_ms <= now_ms) return 0;
  return (until_ms - now_ms + kSecondMs - 1) / kSecondMs;
}

int64_t sliding_estimate(int64_t current, int64_t previous, const Window& window, int64_t now_ms) {
  const int64_t length = window.end_ms - window.start_ms;
  const int64_t left = std::clamp<int64_t>(window.end_ms - now_ms, 0, length);
  // previous × (1 − elapsed / length) = previous × left / length, rounded down.
  const auto weighted = static_cast<int64_t>(static_cast<__int128>(previous) * left / length);
  return current + weighted;
}

int64_t sliding_retry_after(int64_t current, int64_t previous, int64_t limit, const Window& window,
                            int64_t now_ms) {
  const int64_t length = window.end_ms - window.start_ms;
  const int64_t room = limit - 1;  // the estimate that lets one more request in
  if (room < 0) return ceil_seconds(now_ms, window.end_ms);
  if (current <= room) {
    if (previous <= 0) return 1;
    // current + previous × left / length ≤ room  ⇔  left ≤ (room − current) × length / previous
    const auto left_max = static_cast<int64_t>(static_cast<__int128>(room - current) * length / previous);
    return std::max<int64_t>(1, ceil_seconds(now_ms, window.end_ms - left_max));
  }
  // This window alone is over: wait into the next one, where this window's count decays.
  const int64_t next_length = length;  // close enough for months of different lengths
  const auto left_max = static_cast<int64_t>(static_cast<__int128>(room) * next_length / current);
  return std::max<int64_t>(1, ceil_seconds(now_ms, window.end_ms + next_length - left_max));
}

void gcra(const Bucket& bucket, int64_t now_ns, int64_t& tat_ns, Decision& d) {
  const auto interval = static_cast<int64_t>(std::llround(1e9 / bucket.rate));
  const int64_t tolerance = interval * bucket.burst;
  const int64_t tat = std::max(tat_ns, now_ns);
  const int64_t next = tat + interval;
  d.periods = 0;
  d.bucket_limit = bucket.burst;
  if (next - now_ns <= tolerance) {
    tat_ns = next;
    d.allowed = true;
    d.bucket_remaining = (tolerance - (next - now_ns)) / interval;
    d.retry_after_seconds = 0;
  } else {
    d.allowed = false;
    d.bucket_remaining = 0;
    const int64_t wait_ns = next - tolerance - now_ns;
    d.retry_after_seconds = std::max<int64_t>(1, (wait_ns + 999'999'999) / 1'000'000'000);
  }
  const int64_t full_ns = std::max<int64_t>(0, std::max(tat_ns, now_ns) - now_ns);
  d.bucket_reset_seconds = (full_ns + 999'999'999) / 1'000'000'000;
}

}  // namespace portico::filters::ratelimit
