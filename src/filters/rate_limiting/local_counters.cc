#include "filters/rate_limiting/local_counters.h"

#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace portico::filters::ratelimit {
namespace {

constexpr size_t kStripes = 64;
constexpr size_t kSweepEvery = 1024;  // inserts into a stripe between sweeps
constexpr size_t kEvictSample = 16;

struct Entry {
  std::array<int64_t, kPeriodCount> start{};     // window start of `count` (ms)
  std::array<int64_t, kPeriodCount> count{};
  std::array<int64_t, kPeriodCount> previous{};  // the window before `start` (sliding)
  int64_t tat_ns = 0;
  int64_t expires_ms = 0;
  uint64_t touched = 0;  // the stripe's clock at the last use, for eviction
};

// Keys carry their hash, computed once per decision: it picks the stripe (high bits) and the
// bucket inside the stripe's map (the map's hasher returns it).
struct Key {
  size_t hash;
  std::string text;
};
struct KeyView {
  size_t hash;
  std::string_view text;
};
struct Hash {
  using is_transparent = void;
  size_t operator()(const Key& k) const { return k.hash; }
  size_t operator()(const KeyView& k) const { return k.hash; }
};
struct Equal {
  using is_transparent = void;
  bool operator()(const Key& a, const Key& b) const { return a.text == b.text; }
  bool operator()(const KeyView& a, const Key& b) const { return a.text == b.text; }
  bool operator()(const Key& a, const KeyView& b) const { return a.text == b.text; }
};

std::atomic<size_t> g_max_keys{1'000'000};
std::atomic<size_t> g_evictions{0};

}  // namespace

struct LocalCounters::Stripe {
  std::mutex mutex;
  std::unordered_map<Key, Entry, Hash, Equal> map;
  size_t inserts = 0;
  size_t last_sweep = 0;
  uint64_t clock = 0;

  // Finds or creates the key's entry; sweeps and evicts as the stripe grows. Locked.
  Entry& get(const KeyView& key, int64_t now_ms) {
    ++clock;
    if (auto it = map.find(key); it != map.end()) {
      it->second.touched = clock;
      return it->second;
    }
    const size_t cap = std::max<size_t>(1, g_max_keys.load(std::memory_order_relaxed) / kStripes);
    // A sweep walks the whole stripe: at most once per kSweepEvery inserts, also when the stripe
    // is full (a flood of new keys then costs a sampled eviction each, not a walk each).
    if (++inserts - last_sweep >= kSweepEvery) {
      last_sweep = inserts;
      std::erase_if(map, [&](const auto& kv) { return kv.second.expires_ms <= now_ms; });
    }
    while (map.size() >= cap && !map.empty()) {
      // Make room from a sample: an expired entry if there is one (nothing lost), else the least
      // recently used (Redis's approximated LRU).
      auto victim = map.begin();
      bool expired = false;
      size_t seen = 0;
      for (auto it = map.begin(); it != map.end() && seen < kEvictSample; ++it, ++seen) {
        if (it->second.expires_ms <= now_ms) {
          victim = it;
          expired = true;
          break;
        }
        if (it->second.touched < victim->second.touched) victim = it;
      }
      map.erase(victim);
      if (!expired) g_evictions.fetch_add(1, std::memory_order_relaxed);
    }
    Entry& e = map.emplace(Key{key.hash, std::string(key.text)}, Entry{}).first->second;
    e.touched = clock;
    return e;
  }
};

LocalCounters& LocalCounters::instance() {
  static LocalCounters counters;
  return counters;
}

LocalCounters::LocalCounters() : stripes_(new Stripe[kStripes]) {}
LocalCounters::~LocalCounters() { delete[] stripes_; }

LocalCounters::Stripe& LocalCounters::stripe_for(size_t hash) {
  // The high bits: the low ones pick the bucket inside the stripe's map.
  return stripes_[(hash >> 58) % kStripes];
}

Decision LocalCounters::windows(std::string_view key, Algorithm algorithm, std::span<const PeriodLimit> limits,
                                int64_t now_ms) {
  Decision d;
  std::array<Window, kPeriodCount> windows{};
  std::array<int64_t, kPeriodCount> used{};  // the count (fixed) or estimate (sliding) before this request
  const bool sliding = algorithm == Algorithm::kSlidingWindow;
  const KeyView k{std::hash<std::string_view>{}(key), key};
  Stripe& s = stripe_for(k.hash);
  std::lock_guard lock(s.mutex);
  Entry& e = s.get(k, now_ms);
  for (size_t i = 0; i < limits.size(); ++i) {
    const auto p = static_cast<size_t>(limits[i].period);
    const Window w = window_of(limits[i].period, now_ms);
    windows[i] = w;
    if (e.start[p] != w.start_ms) {
      const Window before = previous_window(limits[i].period, w);
      e.previous[p] = e.start[p] == before.start_ms ? e.count[p] : 0;
      e.start[p] = w.start_ms;
      e.count[p] = 0;
    }
    used[i] = sliding ? sliding_estimate(e.count[p], e.previous[p], w, now_ms) : e.count[p];
    if (used[i] + 1 > limits[i].limit) d.allowed = false;
  }
  d.periods = limits.size();
  int64_t expires = e.expires_ms;
  for (size_t i = 0; i < limits.size(); ++i) {
    const auto p = static_cast<size_t>(limits[i].period);
    PeriodUsage& u = d.usage[i];
    u.period = limits[i].period;
    u.limit = limits[i].limit;
    if (d.allowed) {
      ++e.count[p];
      u.remaining = limits[i].limit - used[i] - 1;
    } else {
      u.remaining = std::max<int64_t>(0, limits[i].limit - used[i]);
    }
    const Window& w = windows[i];
    u.reset_seconds = ceil_seconds(now_ms, w.end_ms);
    if (!d.allowed && used[i] + 1 > limits[i].limit) {
      const int64_t wait = sliding ? sliding_retry_after(e.count[p], e.previous[p], limits[i].limit, w, now_ms)
                                   : ceil_seconds(now_ms, w.end_ms);
      d.retry_after_seconds = std::max(d.retry_after_seconds, wait);
      u.remaining = 0;
    }
    // A sliding window needs this window's count during the next one too.
    expires = std::max(expires, sliding ? w.end_ms + (w.end_ms - w.start_ms) : w.end_ms);
  }
  e.expires_ms = expires;
  return d;
}

Decision LocalCounters::bucket(std::string_view key, const Bucket& bucket, int64_t now_ns, int64_t now_ms) {
  Decision d;
  const KeyView k{std::hash<std::string_view>{}(key), key};
  Stripe& s = stripe_for(k.hash);
  std::lock_guard lock(s.mutex);
  Entry& e = s.get(k, now_ms);
  gcra(bucket, now_ns, e.tat_ns, d);
  // Once TAT has passed the bucket is full again: the entry holds nothing worth keeping.
  e.expires_ms = now_ms + (std::max<int64_t>(0, e.tat_ns - now_ns) / 1'000'000) + 1;
  return d;
}

size_t LocalCounters::size() const {
  size_t n = 0;
  for (size_t i = 0; i < kStripes; ++i) {
    std::lock_guard lock(stripes_[i].mutex);
    n += stripes_[i].map.size();
  }
  return n;
}

void LocalCounters::set_max_keys(size_t max_keys) { g_max_keys.store(max_keys, std::memory_order_relaxed); }

size_t LocalCounters::evictions() const { return g_evictions.load(std::memory_order_relaxed); }

void LocalCounters::clear() {
  for (size_t i = 0; i < kStripes; ++i) {
    std::lock_guard lock(stripes_[i].mutex);
    stripes_[i].map.clear();
  }
}

}  // namespace portico::filters::ratelimit
