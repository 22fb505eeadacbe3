// Counter / Gauge: statistics written by exactly one worker thread and read by the control thread.
//
// Contract: `add()` / `set()` only from the owning worker; `value()` from any thread. A single writer
// needs no read-modify-write instruction: a relaxed load and store compile to plain moves, so the
// request path pays no locked instruction and no cache-line ping-pong.
#pragma once

#include <atomic>
#include <cstdint>

namespace portico::core {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void add(int64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

}  // namespace portico::core
