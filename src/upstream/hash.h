// 64-bit hashing for load balancing: ring placement, key hashing and deriving random draws.
//
// Contract: pure functions, any thread. Values are stable within one build of the process, which
// is all balancers need (every worker computes the same ring); they are not a wire format and
// must never be persisted or compared across versions.
#pragma once

#include <cstdint>
#include <string_view>

namespace portico::upstream {

// A strong 64-bit finalizer (SplitMix64/Murmur3-style avalanche): every input bit flips about
// half of the output bits, so sequential inputs (slot numbers, counters) spread uniformly.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Hashes bytes 8 at a time; the result is passed through mix64 so short keys ("ip:port",
// addresses, cookie values) differing in one byte land far apart.
uint64_t hash64(std::string_view data, uint64_t seed = 0);

// Maps a uniformly distributed 64-bit value onto [0, n) without the bias of `%` (Lemire's
// multiply-high reduction). n == 0 returns 0.
inline uint64_t reduce(uint64_t value, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(value) * n) >> 64);
}

}  // namespace portico::upstream
