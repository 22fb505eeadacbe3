// Request metrics recorded by the `prometheus` plugin: one shard per worker, merged at scrape.
//
// Contract:
// - `MetricsShard` belongs to one worker and is touched only on that worker's thread: plain
//   integers, no atomics, no lock, no string work. The worker sets `MetricsShard::current()` for its
//   thread (WorkerContext::start) so a filter finds its shard without a lock.
// - Series are found by small integers: the configuration the request runs with (`config_key`),
//   the route's index in that configuration, then a hash lookup on (status, source, consumer).
//   Label text lives in `MetricNames`, built once per configuration on the control thread and
//   shared read-only.
// - A shard keeps one `MetricsEpoch` per configuration: the current one, plus the last few
//   retired ones (requests that started before a reload end in the epoch they started with). The
//   control thread never reads a shard: a scrape posts `collect()` to each worker, which returns
//   a copy of the current epoch and *moves out* the counts of retired epochs, so the control
//   thread can fold them into its own totals (metrics_collector.h) exactly once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace portico::observability {

// Kong's default latency buckets (milliseconds), the upper bounds of `_bucket{le}`; +Inf follows.
inline constexpr double kLatencyBucketsMs[] = {1,   2,   5,   7,    10,   15,   20,    30,    50,    75,
                                               100, 200, 500, 750, 1000, 2000, 5000, 10000, 30000, 60000};
inline constexpr size_t kLatencyBuckets = sizeof(kLatencyBucketsMs) / sizeof(kLatencyBucketsMs[0]);

// A histogram with per-bucket (non-cumulative) counts; the exposition makes them cumulative.
struct LatencyHistogram {
  uint64_t buckets[kLatencyBuckets + 1] = {};  // last: above every bound (+Inf only)
  uint64_t count = 0;
  double sum = 0;

  void observe(double ms) {
    size_t i = 0;
    while (i < kLatencyBuckets && ms > kLatencyBucketsMs[i]) ++i;
    ++buckets[i];
    ++count;
    sum += ms;
  }
  void merge(const LatencyHistogram& o) {
    for (size_t i = 0; i <= kLatencyBuckets; ++i) buckets[i] += o.buckets[i];
    count += o.count;
    sum += o.sum;
  }
};

// Adds the counts of `from` into `into`: RouteSeries or a collector's totals, whose request and
// bandwidth maps may be keyed differently (`request_key` and `consumer_key` turn a key of `from`
// into one of `into`).
template <typename Into, typename From, typename RequestKey, typename ConsumerKey>
void add_counts(Into& into, const From& from, RequestKey request_key, ConsumerKey consumer_key) {
  for (const auto& [k, v] : from.requests) into.requests[request_key(k)] += v;
  into.request_latency.merge(from.request_latency);
  into.upstream_latency.merge(from.upstream_latency);
  into.gateway_latency.merge(from.gateway_latency);
  for (const auto& [k, b] : from.bandwidth) {
    auto& t = into.bandwidth[consumer_key(k)];
    t.ingress += b.ingress;
    t.egress += b.egress;
  }
}
inline constexpr auto kSameKey = [](const auto& k) -> const auto& { return k; };

// Who produced the response, the `source` label of portico_http_requests_total.
enum class ResponseSource : uint8_t { kService = 0, kPortico = 1, kExit = 2 };
const char* response_source_name(ResponseSource s);

// Bytes per direction, the `direction` label of portico_bandwidth_bytes.
struct ByteCounts {
  uint64_t ingress = 0;  // from the client
  uint64_t egress = 0;   // to the client
};

// The last slot found in a map, so that a run of requests with the same key (the usual case: a
// route's requests mostly end with one status, for one consumer) skips the hash. Nodes of an
// unordered_map stay where they are while it grows, and the maps it serves only grow (nothing
// erases from them); a copy or a move starts empty, and a move empties its source (the nodes
// change owners).
template <typename Key, typename Value>
class LastSlot {
 public:
  LastSlot() = default;
  LastSlot(const LastSlot&) {}
  LastSlot(LastSlot&& o) noexcept { o.slot_ = nullptr; }
  LastSlot& operator=(const LastSlot&) {
    slot_ = nullptr;
    return *this;
  }
  LastSlot& operator=(LastSlot&& o) noexcept {
    slot_ = nullptr;
    o.slot_ = nullptr;
    return *this;
  }
  Value& find(std::unordered_map<Key, Value>& map, Key key) {
    if (slot_ != nullptr && key == key_) [[likely]] return *slot_;
    slot_ = &map[key];
    key_ = key;
    return *slot_;
  }

 private:
  Key key_{};
  Value* slot_ = nullptr;
};

// Everything recorded for one route of one configuration.
struct RouteSeries {
  // Requests by status, source and consumer, packed by request_key(). Only grows (LastSlot).
  std::unordered_map<uint64_t, uint64_t> requests;
  LatencyHistogram request_latency;   // head read → last byte sent
  LatencyHistogram upstream_latency;  // upstream connection ready → upstream response head
  LatencyHistogram gateway_latency;   // request latency minus upstream latency
  // By consumer index (-1: none, or per_consumer off). Only grows (LastSlot).
  std::unordered_map<int32_t, ByteCounts> bandwidth;

  static uint64_t request_key(uint16_t status, ResponseSource source, int32_t consumer) {
    return uint64_t{status} | (uint64_t{static_cast<uint8_t>(source)} << 16) |
           (uint64_t{static_cast<uint32_t>(consumer + 1)} << 24);
  }
  static uint16_t key_status(uint64_t k) { return static_cast<uint16_t>(k & 0xffff); }
  static ResponseSource key_source(uint64_t k) { return static_cast<ResponseSource>((k >> 16) & 0xff); }
  static int32_t key_consumer(uint64_t k) { return static_cast<int32_t>(static_cast<uint32_t>(k >> 24)) - 1; }

  // Worker thread: the counter and byte counts a request adds to.
  uint64_t& requests_of(uint16_t status, ResponseSource source, int32_t consumer) {
    return last_request_.find(requests, request_key(status, source, consumer));
  }
  ByteCounts& bandwidth_of(int32_t consumer) { return last_bandwidth_.find(bandwidth, consumer); }

  void merge(const RouteSeries& o);
  bool empty() const {
    return requests.empty() && request_latency.count == 0 && upstream_latency.count == 0 &&
           gateway_latency.count == 0 && bandwidth.empty();
  }

 private:
  LastSlot<uint64_t, uint64_t> last_request_;
  LastSlot<int32_t, ByteCounts> last_bandwidth_;
};

// Label values of one configuration, by index. Built on the control thread; immutable.
struct MetricNames {
  std::vector<std::string> routes;          // by config route index: name, else id
  std::vector<std::string> route_services;  // the route's service label (name, else id; "" = none)
  std::vector<std::string> consumers;       // by consumer index: username, else custom_id, else id
  const std::string& route(size_t i) const { return i < routes.size() ? routes[i] : empty_; }
  const std::string& service_of(size_t i) const { return i < route_services.size() ? route_services[i] : empty_; }
  const std::string& consumer(int32_t i) const {
    return i >= 0 && static_cast<size_t>(i) < consumers.size() ? consumers[static_cast<size_t>(i)] : empty_;
  }

 private:
  std::string empty_;
};

// The series of one configuration on one worker.
struct MetricsEpoch {
  const void* config_key = nullptr;
  // Keeps the configuration alive while requests may still record into this epoch, so its
  // address (the key) cannot be reused by a newer configuration. Released once evicted.
  std::shared_ptr<const void> config_owner;
  std::shared_ptr<const MetricNames> names;
  std::vector<std::unique_ptr<RouteSeries>> routes;  // by route index; null until first use
  bool retired = false;

  MetricsEpoch() = default;
  MetricsEpoch(MetricsEpoch&&) = default;
  MetricsEpoch& operator=(MetricsEpoch&&) = default;
  MetricsEpoch copy() const;  // deep copy
};

class MetricsShard {
 public:
  // Retired epochs kept per worker; a request ending after this many reloads is not recorded.
  static constexpr size_t kMaxRetiredEpochs = 2;
  // Evicted epochs waiting for a scrape; beyond this, the oldest are discarded (nobody scrapes).
  static constexpr size_t kMaxEvictedEpochs = 16;

  // The shard of the calling thread's worker, or null (control thread, tests).
  static MetricsShard* current() { return current_; }
  static void set_current(MetricsShard* shard) { current_ = shard; }

  // Worker thread (or before it starts). Makes `config` (its address is the key requests carry)
  // the current configuration; the previous epoch is retired. No-op when it is already current.
  void begin_epoch(std::shared_ptr<const void> config, std::shared_ptr<const MetricNames> names);

  // Worker thread: the series of `route` in the epoch of `config_key`, created on first use; null
  // when the epoch is gone (too many reloads since) or the index is out of range.
  RouteSeries* series(const void* config_key, int32_t route) {
    MetricsEpoch* e = (!epochs_.empty() && epochs_.back().config_key == config_key) ? &epochs_.back()
                                                                                      : find(config_key);
    if (e == nullptr || route < 0 || static_cast<size_t>(route) >= e->routes.size()) {
      ++dropped_;
      return nullptr;
    }
    auto& slot = e->routes[static_cast<size_t>(route)];
    if (!slot) slot = std::make_unique<RouteSeries>();
    return slot.get();
  }

  // Worker thread. A copy of the current epoch, and the retired epochs' counts moved out (they
  // restart from zero here, so each count reaches the control thread once). Epochs pushed out of
  // the retired list by reloads since the last collect are handed over too.
  std::vector<MetricsEpoch> collect();

  // Records lost because their epoch was gone.
  uint64_t dropped() const { return dropped_; }

 private:
  MetricsEpoch* find(const void* config_key);

  // Constant-initialised and defined here, so reading it needs no TLS wrapper call.
  static inline thread_local MetricsShard* current_ = nullptr;
  std::vector<MetricsEpoch> epochs_;  // oldest first; the back one is current
  std::vector<MetricsEpoch> evicted_;  // no longer recorded into; waiting for collect()
  uint64_t dropped_ = 0;
};

}  // namespace portico::observability
