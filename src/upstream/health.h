// Health: what active health checks decide about an upstream's endpoints, and how workers see it.
//
// Design
// - Probes run on the control thread (HealthChecker). Each endpoint ("ip:port") has a
//   HealthCounter: a pure state machine over consecutive probe outcomes with Kong's rules (a
//   success clears every failure counter, a failure clears the success counter; a counter that
//   reaches its threshold flips the state; a threshold of 0 never does).
// - Publication to workers: each Cluster owns an EndpointHealth, one std::atomic<uint8_t> per
//   endpoint (same index as Cluster::endpoints) plus a version. The control thread writes a flag,
//   then bumps the version (release). A worker compares the version with the one its Balancer
//   last applied (one acquire load per request; a plain load on x86) and only when it moved
//   re-reads the flags into Balancer::set_available. So the pick path costs nothing while health
//   is stable, no post() is needed, and a balancer built later from the same cluster picks the
//   state up on its first request.
// - Health follows endpoints by key: a cluster rebuilt for new DNS answers or a reload gets a new
//   EndpointHealth (all healthy), and the HealthChecker copies the known state into it by key
//   before the snapshot is published. Endpoints it never saw start healthy (as in Kong).
//
// - Passive checks (Kong `healthchecks.passive`): workers report the outcome of every upstream
//   attempt with EndpointHealth::report(). The consecutive counters are per endpoint relaxed
//   atomics inside the EndpointHealth (a success only writes when something is to clear, so a
//   healthy endpoint's hot path is loads). The worker whose report makes a counter reach its
//   threshold (exactly once: fetch_add returned threshold - 1) hands the decision to the sink,
//   which posts it to the control thread; the HealthChecker there owns the state machine, writes
//   the flag as for an active result, and (Portico's outlier ejection) re-admits the endpoint
//   after ejection_base x n (n = consecutive ejections, capped at ejection_max). A flag turning
//   healthy clears that endpoint's passive counters. Counters live with the EndpointHealth, so a
//   cluster rebuilt for new addresses starts them at 0 (the states are carried over by key).
//
// Contract
// - HealthCounter, EjectionBackoff, classify_status, classify_passive, parse_status_line: pure,
//   any thread.
// - EndpointHealth: set()/set_down()/set_passive_sink() on the control thread only (the sink once,
//   before workers see the cluster); the readers and report() on any thread. Out-of-range
//   indices read as healthy and are ignored by set() and report().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "session/tls.h"

namespace portico::upstream {

// Kong `healthchecks.passive` plus Portico's ejection back-off.
struct PassiveSettings {
  enum class Type { kHttp, kTcp };
  Type type = Type::kHttp;  // tcp: statuses are not looked at (any response is a success)
  std::vector<int> healthy_statuses = {200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                                       300, 301, 302, 303, 304, 305, 306, 307, 308};
  std::vector<int> unhealthy_statuses = {429, 500, 503};
  uint32_t successes = 0;      // healthy.successes
  uint32_t http_failures = 0;  // unhealthy.http_failures
  uint32_t tcp_failures = 0;   // unhealthy.tcp_failures
  uint32_t timeouts = 0;       // unhealthy.timeouts
  // Portico: an ejected endpoint comes back after ejection_base x n (capped at ejection_max);
  // ejection_base 0 = Kong's behaviour (only active checks bring it back).
  std::chrono::milliseconds ejection_base{30000};
  std::chrono::milliseconds ejection_max{300000};

  bool enabled() const { return successes > 0 || http_failures > 0 || tcp_failures > 0 || timeouts > 0; }
  bool operator==(const PassiveSettings&) const = default;
};

// Kong `healthchecks` as a cluster runs it (compiled from config::HealthChecks).
// A TLS context compared by its settings (identity), not by address: a reload that rebuilds an
// equal context does not count as changed health-check settings.
struct ProbeTls {
  std::shared_ptr<const session::TlsContext> context;
  bool operator==(const ProbeTls& o) const {
    if (!context || !o.context) return context == o.context;
    return context->identity() == o.context->identity();
  }
};

struct HealthCheckSettings {
  enum class Type { kHttp, kTcp, kHttps };
  Type type = Type::kHttp;
  std::string http_path = "/";
  std::chrono::milliseconds timeout{1000};
  uint32_t concurrency = 10;  // probes of one upstream in flight at once
  std::string headers;        // extra request header lines, each "Name: value\r\n"
  std::chrono::milliseconds healthy_interval{0};    // 0: healthy endpoints are not probed
  std::chrono::milliseconds unhealthy_interval{0};  // 0: unhealthy endpoints are not probed
  std::vector<int> healthy_statuses = {200, 302};
  std::vector<int> unhealthy_statuses = {429, 404, 500, 501, 502, 503, 504, 505};
  uint32_t successes = 0;      // healthy.successes
  uint32_t http_failures = 0;  // unhealthy.http_failures
  uint32_t tcp_failures = 0;   // unhealthy.tcp_failures
  uint32_t timeouts = 0;       // unhealthy.timeouts
  double threshold = 0;        // percent of healthy weight under which the whole upstream is down
  // https probes: the TLS context (verification on or off, CAs, client certificate) and the server
  // name to send and verify (empty: the target's host when it is a name, none for an address).
  ProbeTls tls;
  std::string https_sni;
  PassiveSettings passive;

  bool active() const { return healthy_interval.count() > 0 || unhealthy_interval.count() > 0; }
  bool operator==(const HealthCheckSettings&) const = default;
};

enum class ProbeOutcome { kSuccess, kHttpFailure, kTcpFailure, kTimeout, kIgnored };

// A response status as a probe outcome: healthy statuses succeed, unhealthy ones fail, any other
// status is ignored (no counter moves), as in Kong.
ProbeOutcome classify_status(const HealthCheckSettings& settings, int status);

// A proxied response status as a passive outcome (tcp type: always a success).
ProbeOutcome classify_passive(const PassiveSettings& settings, int status);

// The status of an HTTP/1.x status line at the start of `head` ("HTTP/1.1 200 OK\r\n..."), or -1.
int parse_status_line(std::string_view head);

class HealthCounter {
 public:
  // Records one outcome; true when the state changed.
  bool record(ProbeOutcome outcome, const HealthCheckSettings& settings);
  bool healthy() const { return healthy_; }
  // Counters restart (e.g. when the settings change); the state stays.
  void reset_counters() { successes_ = http_failures_ = tcp_failures_ = timeouts_ = 0; }
  // A decision made elsewhere (passive checks, ejection end): the state is set, counters restart.
  void force(bool healthy) {
    healthy_ = healthy;
    reset_counters();
  }

 private:
  bool healthy_ = true;
  uint32_t successes_ = 0;
  uint32_t http_failures_ = 0;
  uint32_t tcp_failures_ = 0;
  uint32_t timeouts_ = 0;
};

// Outlier ejection back-off: the n-th consecutive ejection lasts min(base x n, max). An endpoint
// that stayed in for `max` since it was re-admitted starts again at n = 1.
class EjectionBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  // An ejection at `now`: how long it lasts (0 when base is 0: no re-admission by time).
  std::chrono::milliseconds eject(Clock::time_point now, const PassiveSettings& settings);
  void readmitted(Clock::time_point now) { readmitted_ = now; }
  uint32_t ejections() const { return ejections_; }

 private:
  uint32_t ejections_ = 0;
  Clock::time_point readmitted_{};
};

class EndpointHealth {
 public:
  explicit EndpointHealth(size_t endpoints);
  EndpointHealth(const EndpointHealth&) = delete;
  EndpointHealth& operator=(const EndpointHealth&) = delete;

  size_t size() const { return size_; }
  bool healthy(size_t index) const {
    return index >= size_ || flags_[index].load(std::memory_order_relaxed) != 0;
  }
  // The healthy weight fell under `threshold`: no endpoint may be picked.
  bool down() const { return down_.load(std::memory_order_relaxed) != 0; }
  // Moves after every change; readers that saw a version then read the flags see at least it.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  void set(size_t index, bool healthy);
  void set_down(bool down);

  // Passive checks. The sink receives (endpoint key, healthy) when a counter reaches its
  // threshold, on the reporting thread; it must only post. Set once; later calls are ignored.
  using PassiveSink = std::function<void(const std::string& key, bool healthy)>;
  void set_passive_sink(PassiveSink sink);
  // One upstream attempt's outcome on endpoint `index` (key: its "ip:port").
  void report(size_t index, const std::string& key, ProbeOutcome outcome, const PassiveSettings& settings);
  // The endpoint's passive counters restart (also done by set(index, true) when it changes).
  void clear_passive(size_t index);

 private:
  struct PassiveCounters {
    std::atomic<uint32_t> successes{0};
    std::atomic<uint32_t> http_failures{0};
    std::atomic<uint32_t> tcp_failures{0};
    std::atomic<uint32_t> timeouts{0};
  };
  size_t size_;
  std::unique_ptr<std::atomic<uint8_t>[]> flags_;
  std::unique_ptr<PassiveCounters[]> passive_;
  PassiveSink sink_;
  std::atomic<bool> sink_set_{false};
  std::atomic<uint8_t> down_{0};
  std::atomic<uint64_t> version_{0};
};

}  // namespace portico::upstream
