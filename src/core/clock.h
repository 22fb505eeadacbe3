// Clock helpers shared by every layer: a monotonic clock for durations and the wall clock for logs.
#pragma once

#include <chrono>
#include <cstdint>

namespace portico::core {

using MonoClock = std::chrono::steady_clock;
using MonoTime = MonoClock::time_point;

inline double ms_between(MonoTime a, MonoTime b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace portico::core
