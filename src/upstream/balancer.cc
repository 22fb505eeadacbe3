#include "upstream/balancer.h"

#include <algorithm>

#include "upstream/consistent_hash_balancer.h"
#include "upstream/least_connections_balancer.h"
#include "upstream/least_request_balancer.h"
#include "upstream/round_robin_balancer.h"

namespace portico::upstream {

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  if (name == "round-robin") return Algorithm::kRoundRobin;
  if (name == "least-connections") return Algorithm::kLeastConnections;
  if (name == "consistent-hashing") return Algorithm::kConsistentHashing;
  if (name == "least-request") return Algorithm::kLeastRequest;
  return std::nullopt;
}

std::string_view algorithm_name(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kRoundRobin: return "round-robin";
    case Algorithm::kLeastConnections: return "least-connections";
    case Algorithm::kConsistentHashing: return "consistent-hashing";
    case Algorithm::kLeastRequest: return "least-request";
  }
  return "round-robin";
}

Balancer::Balancer(std::vector<Target> targets)
    : targets_(std::move(targets)),
      active_(targets_.size(), 0),
      available_(targets_.size(), 1),
      usable_(targets_.size(), 0) {
  for (size_t i = 0; i < targets_.size(); ++i) {
    usable_[i] = targets_[i].weight > 0;
    usable_count_ += usable_[i];
  }
}

Balancer::~Balancer() = default;

void Balancer::on_start(int index) {
  if (valid(index)) ++active_[static_cast<size_t>(index)];
}

void Balancer::on_finish(int index) {
  // Saturate rather than wrap: an unmatched finish must not make a target look infinitely busy.
  if (valid(index) && active_[static_cast<size_t>(index)] > 0) --active_[static_cast<size_t>(index)];
}

void Balancer::set_available(int index, bool available) {
  if (!valid(index)) return;
  const auto i = static_cast<size_t>(index);
  available_[i] = available;
  const uint8_t usable = available && targets_[i].weight > 0;
  if (usable == usable_[i]) return;
  usable_[i] = usable;
  usable ? ++usable_count_ : --usable_count_;
  on_usable_changed();
}

void Balancer::apply_health(const EndpointHealth& health) {
  // Read the version first: a change made while the flags are read moves it again, so the next
  // request applies that one too.
  health_version_ = health.version();
  const bool down = health.down();
  for (size_t i = 0; i < targets_.size(); ++i) set_available(static_cast<int>(i), !down && health.healthy(i));
}

uint32_t Balancer::active(int index) const {
  return valid(index) ? active_[static_cast<size_t>(index)] : 0;
}

bool Balancer::available(int index) const {
  return valid(index) && available_[static_cast<size_t>(index)] != 0;
}

std::unique_ptr<Balancer> make_balancer(Algorithm algorithm, std::vector<Target> targets,
                                        uint32_t slots) {
  switch (algorithm) {
    case Algorithm::kRoundRobin:
      return std::make_unique<RoundRobinBalancer>(std::move(targets));
    case Algorithm::kLeastConnections:
      return std::make_unique<LeastConnectionsBalancer>(std::move(targets));
    case Algorithm::kConsistentHashing:
      slots = slots == 0 ? kDefaultSlots : std::clamp(slots, kMinSlots, kMaxSlots);
      return std::make_unique<ConsistentHashBalancer>(std::move(targets), slots);
    case Algorithm::kLeastRequest:
      return std::make_unique<LeastRequestBalancer>(std::move(targets));
  }
  return std::make_unique<RoundRobinBalancer>(std::move(targets));
}

}  // namespace portico::upstream
