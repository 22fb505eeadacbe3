// thread_random: a fast per-thread pseudo-random generator for sampling decisions on the data path
// (fault percentages). Not for anything security-sensitive.
//
// Contract: callable from any thread; each thread has its own state (thread_local), seeded once
// from std::random_device and the thread's identity, so workers never share or contend on it.
#pragma once

#include <cstdint>

namespace portico::filters {

// 64 uniformly distributed bits.
uint64_t thread_random();

// True with probability parts_per_million / 1'000'000 (always for >= 1'000'000, never for 0).
bool sample_ppm(uint32_t parts_per_million);

}  // namespace portico::filters
