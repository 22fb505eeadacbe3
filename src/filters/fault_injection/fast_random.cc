#include "filters/fault_injection/fast_random.h"

#include <chrono>
#include <functional>
#include <random>
#include <thread>

namespace portico::filters {
namespace {

constexpr uint32_t kMillion = 1'000'000;

uint64_t initial_seed() {
  std::random_device device;
  uint64_t seed = (static_cast<uint64_t>(device()) << 32) ^ device();
  // random_device may be deterministic on some platforms; mixing in the thread and the time keeps
  // two workers from drawing the same sequence.
  seed ^= std::hash<std::thread::id>{}(std::this_thread::get_id());
  seed ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return seed;
}

}  // namespace

uint64_t thread_random() {
  // splitmix64: one add and three multiply-xorshift steps per draw, full 2^64 period, good enough
  // statistics for sampling.
  thread_local uint64_t state = initial_seed();
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool sample_ppm(uint32_t parts_per_million) {
  if (parts_per_million >= kMillion) return true;
  if (parts_per_million == 0) return false;
  // The modulo bias over 2^64 is below 1e-13: irrelevant for fault sampling.
  return thread_random() % kMillion < parts_per_million;
}

}  // namespace portico::filters
