// Balancer: per-worker load balancing over one upstream's targets (Kong `upstreams[].algorithm`).
//
// Design
// - Input is the immutable target list of a snapshot (`Target{key, weight}`); index i of every
//   call below means targets[i] of that list. A target with weight 0 is never picked (Kong uses
//   weight 0 to disable a target).
// - Each worker builds its own Balancer from the snapshot and owns it: the mutable state (smooth
//   round-robin positions, active counts, availability) is touched by that worker only, so there
//   are no atomics and no locks. A new snapshot means a new Balancer; state is not carried over.
//   Counts are therefore per worker: least-connections and least-request balance this worker's
//   load, as nginx and Envoy do per worker/thread.
// - Pure logic: no I/O, no clock, no allocation in pick(). Randomness is supplied by the caller
//   through PickContext::random so picks are deterministic and testable.
//
// Contract
// - Thread: the owning worker only. Nothing here suspends or throws.
// - pick() returns an index into the targets, or -1 when no target is available (every target is
//   unavailable or has weight 0). pick() does not change active counts: the caller calls
//   on_start(i) when it actually sends to i and on_finish(i) exactly once when that request or
//   connection ends (including on failure and cancellation).
// - set_available(i, false) removes i from selection until set_available(i, true) (health checks,
//   outlier ejection). Active counts survive availability changes.
// - sync_health(h) brings availability up to date with a cluster's EndpointHealth (upstream/
//   health.h): one atomic load when nothing changed since the last call; when it did, every
//   target's availability is set from h (all unavailable while h.down()).
// - PickContext::exclude names a target a retry should avoid; it is honoured whenever another
//   target is available, and ignored (the excluded target is returned) when it is the only one.
// - Out-of-range indices passed to on_start/on_finish/set_available are ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upstream/health.h"

namespace portico::upstream {

struct Target {
  std::string key;  // "ip:port"; also the identity that places the target on the hash ring
  uint32_t weight = 100;  // Kong's default target weight
};

struct PickContext {
  std::string_view hash_key = {};  // consistent-hashing only; empty = no key (see that balancer)
  uint64_t random = 0;        // uniformly random bits from the worker's generator
  int exclude = -1;           // a retry prefers another target than this one
};

enum class Algorithm { kRoundRobin, kLeastConnections, kConsistentHashing, kLeastRequest };

// Kong's names: "round-robin" (Kong's default), "least-connections", "consistent-hashing", plus
// Portico's "least-request" (Envoy's power-of-two-choices). Anything else is std::nullopt.
std::optional<Algorithm> parse_algorithm(std::string_view name);
std::string_view algorithm_name(Algorithm algorithm);

// Kong's `slots`: size of the consistent-hashing ring. Other algorithms ignore it.
inline constexpr uint32_t kDefaultSlots = 10000;
inline constexpr uint32_t kMinSlots = 10;
inline constexpr uint32_t kMaxSlots = 65536;

class Balancer {
 public:
  explicit Balancer(std::vector<Target> targets);
  virtual ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // Index of the chosen target, or -1 when none is available.
  virtual int pick(const PickContext& ctx) = 0;

  // Active request/connection accounting for the target the caller actually used.
  virtual void on_start(int index);
  virtual void on_finish(int index);

  // Health: an unavailable target is skipped by pick().
  virtual void set_available(int index, bool available);
  void sync_health(const EndpointHealth& health) {
    if (health.version() != health_version_) apply_health(health);
  }

  const std::vector<Target>& targets() const { return targets_; }
  uint32_t active(int index) const;
  bool available(int index) const;

 protected:
  bool valid(int index) const { return index >= 0 && static_cast<size_t>(index) < targets_.size(); }
  // Available and weight > 0: may be picked at all.
  bool usable(size_t index) const { return usable_[index] != 0; }
  size_t usable_count() const { return usable_count_; }
  // True when `exclude` names a usable target and another usable target exists, i.e. when the
  // pick must skip it.
  bool must_skip(int exclude) const {
    return valid(exclude) && usable_[static_cast<size_t>(exclude)] && usable_count_ > 1;
  }
  // Called after the usable set changed, for balancers that cache it.
  virtual void on_usable_changed() {}

  std::vector<Target> targets_;
  std::vector<uint32_t> active_;

 private:
  void apply_health(const EndpointHealth& health);

  std::vector<uint8_t> available_;
  std::vector<uint8_t> usable_;  // uint8_t, not vector<bool>: a plain load on the pick path
  size_t usable_count_ = 0;
  uint64_t health_version_ = 0;  // EndpointHealth::version() last applied (0: all healthy)
};

// Builds the balancer for `algorithm`. `slots` only matters for consistent hashing: 0 means
// kDefaultSlots, other values are clamped into [kMinSlots, kMaxSlots] (config validation rejects
// them earlier; clamping keeps this function total).
std::unique_ptr<Balancer> make_balancer(Algorithm algorithm, std::vector<Target> targets,
                                        uint32_t slots = kDefaultSlots);

}  // namespace portico::upstream
