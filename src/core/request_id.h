// RequestIdGenerator: fast, unpredictable-enough request ids (UUID v4 text) for X-Request-Id.
//
// Contract: one generator per worker thread (not thread-safe). Seeded from the OS CSPRNG; the ids
// correlate logs and are not secrets, so a xoshiro256** stream is enough and costs no syscall.
#pragma once

#include <cstdint>
#include <string_view>

namespace portico::core {

class RequestIdGenerator {
 public:
  RequestIdGenerator();
  // Writes 36 characters (8-4-4-4-12 lower-case hex, version 4, variant 10) into `out`.
  void next(char* out);
  uint64_t next_u64();

 private:
  uint64_t s_[4];
};

}  // namespace portico::core
