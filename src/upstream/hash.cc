#include "upstream/hash.h"

#include <cstring>

namespace portico::upstream {
namespace {

constexpr uint64_t kPrime1 = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kPrime2 = 0xc2b2ae3d27d4eb4fULL;

constexpr uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

}  // namespace

uint64_t hash64(std::string_view data, uint64_t seed) {
  uint64_t h = seed ^ (data.size() * kPrime1);
  const char* p = data.data();
  size_t left = data.size();
  while (left >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // memcpy: keys are not aligned
    h ^= mix64(word * kPrime2);
    h = rotl(h, 27) * kPrime1 + 0x52dce729;
    p += 8;
    left -= 8;
  }
  if (left > 0) {
    uint64_t tail = 0;
    std::memcpy(&tail, p, left);
    // Tag the tail with its length so "a\0" and "a" differ even though the padding is zero.
    h ^= mix64((tail ^ (static_cast<uint64_t>(left) << 59)) * kPrime2);
    h = rotl(h, 31) * kPrime1;
  }
  return mix64(h);
}

}  // namespace portico::upstream
