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
// Contract
// - HealthCounter, classify_status, parse_status_line: pure, any thread.
// - EndpointHealth: set()/set_down() on the control thread only; the readers on any thread.
//   Out-of-range indices read as healthy and are ignored by set().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portico::upstream {

// Kong `healthchecks` as a cluster runs it (compiled from config::HealthChecks).
struct HealthCheckSettings {
  enum class Type { kHttp, kTcp };
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

  bool active() const { return healthy_interval.count() > 0 || unhealthy_interval.count() > 0; }
  bool operator==(const HealthCheckSettings&) const = default;
};

enum class ProbeOutcome { kSuccess, kHttpFailure, kTcpFailure, kTimeout, kIgnored };

// A response status as a probe outcome: healthy statuses succeed, unhealthy ones fail, any other
// status is ignored (no counter moves), as in Kong.
ProbeOutcome classify_status(const HealthCheckSettings& settings, int status);

// The status of an HTTP/1.x status line at the start of `head` ("HTTP/1.1 200 OK\r\n..."), or -1.
int parse_status_line(std::string_view head);

class HealthCounter {
 public:
  // Records one outcome; true when the state changed.
  bool record(ProbeOutcome outcome, const HealthCheckSettings& settings);
  bool healthy() const { return healthy_; }
  // Counters restart (e.g. when the settings change); the state stays.
  void reset_counters() { successes_ = http_failures_ = tcp_failures_ = timeouts_ = 0; }

 private:
  bool healthy_ = true;
  uint32_t successes_ = 0;
  uint32_t http_failures_ = 0;
  uint32_t tcp_failures_ = 0;
  uint32_t timeouts_ = 0;
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

 private:
  size_t size_;
  std::unique_ptr<std::atomic<uint8_t>[]> flags_;
  std::atomic<uint8_t> down_{0};
  std::atomic<uint64_t> version_{0};
};

}  // namespace portico::upstream
