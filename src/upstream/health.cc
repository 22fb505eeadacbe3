#include "upstream/health.h"

#include <algorithm>

namespace portico::upstream {

namespace {

bool listed(const std::vector<int>& statuses, int status) {
  return std::find(statuses.begin(), statuses.end(), status) != statuses.end();
}

// Kong's counters are 8 bits; saturating keeps a long outage from wrapping around.
void bump(uint32_t& counter) {
  if (counter < 255) ++counter;
}

}  // namespace

ProbeOutcome classify_status(const HealthCheckSettings& settings, int status) {
  if (listed(settings.healthy_statuses, status)) return ProbeOutcome::kSuccess;
  if (listed(settings.unhealthy_statuses, status)) return ProbeOutcome::kHttpFailure;
  return ProbeOutcome::kIgnored;
}

ProbeOutcome classify_passive(const PassiveSettings& settings, int status) {
  if (settings.type == PassiveSettings::Type::kTcp) return ProbeOutcome::kSuccess;
  if (listed(settings.healthy_statuses, status)) return ProbeOutcome::kSuccess;
  if (listed(settings.unhealthy_statuses, status)) return ProbeOutcome::kHttpFailure;
  return ProbeOutcome::kIgnored;
}

int parse_status_line(std::string_view head) {
  constexpr std::string_view kPrefix = "HTTP/1.";
  if (head.size() < 12 || head.substr(0, kPrefix.size()) != kPrefix) return -1;
  if (head[8] != ' ') return -1;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return -1;
    status = status * 10 + (head[i] - '0');
  }
  if (head.size() > 12 && head[12] != ' ' && head[12] != '\r') return -1;
  return status < 100 ? -1 : status;
}

bool HealthCounter::record(ProbeOutcome outcome, const HealthCheckSettings& s) {
  auto fails = [&](uint32_t& counter, uint32_t threshold) {
    successes_ = 0;
    bump(counter);
    if (healthy_ && threshold > 0 && counter >= threshold) {
      healthy_ = false;
      return true;
    }
    return false;
  };
  switch (outcome) {
    case ProbeOutcome::kSuccess:
      http_failures_ = tcp_failures_ = timeouts_ = 0;
      bump(successes_);
      if (!healthy_ && s.successes > 0 && successes_ >= s.successes) {
        healthy_ = true;
        return true;
      }
      return false;
    case ProbeOutcome::kHttpFailure: return fails(http_failures_, s.http_failures);
    case ProbeOutcome::kTcpFailure: return fails(tcp_failures_, s.tcp_failures);
    case ProbeOutcome::kTimeout: return fails(timeouts_, s.timeouts);
    case ProbeOutcome::kIgnored: return false;
  }
  return false;
}

std::chrono::milliseconds EjectionBackoff::eject(Clock::time_point now, const PassiveSettings& s) {
  if (ejections_ > 0 && now - readmitted_ >= s.ejection_max) ejections_ = 0;
  if (ejections_ < 1000000) ++ejections_;
  if (s.ejection_base.count() <= 0) return std::chrono::milliseconds(0);
  const auto max = std::max(s.ejection_max, s.ejection_base);
  if (s.ejection_base.count() > max.count() / ejections_) return max;
  return std::min(max, s.ejection_base * ejections_);
}

EndpointHealth::EndpointHealth(size_t endpoints)
    : size_(endpoints),
      flags_(std::make_unique<std::atomic<uint8_t>[]>(endpoints)),
      passive_(std::make_unique<PassiveCounters[]>(endpoints)) {
  for (size_t i = 0; i < size_; ++i) flags_[i].store(1, std::memory_order_relaxed);
}

void EndpointHealth::set(size_t index, bool healthy) {
  if (index >= size_ || (flags_[index].load(std::memory_order_relaxed) != 0) == healthy) return;
  if (healthy) clear_passive(index);
  flags_[index].store(healthy ? 1 : 0, std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_release);
}

void EndpointHealth::set_passive_sink(PassiveSink sink) {
  if (sink_set_.load(std::memory_order_relaxed)) return;
  sink_ = std::move(sink);
  sink_set_.store(true, std::memory_order_release);
}

void EndpointHealth::clear_passive(size_t index) {
  if (index >= size_) return;
  PassiveCounters& c = passive_[index];
  c.successes.store(0, std::memory_order_relaxed);
  c.http_failures.store(0, std::memory_order_relaxed);
  c.tcp_failures.store(0, std::memory_order_relaxed);
  c.timeouts.store(0, std::memory_order_relaxed);
}

void EndpointHealth::report(size_t index, const std::string& key, ProbeOutcome outcome, const PassiveSettings& s) {
  if (index >= size_ || outcome == ProbeOutcome::kIgnored) return;
  PassiveCounters& c = passive_[index];
  // Writes only what changes: a run of successes on a healthy endpoint is loads only.
  auto clear = [](std::atomic<uint32_t>& counter) {
    if (counter.load(std::memory_order_relaxed) != 0) counter.store(0, std::memory_order_relaxed);
  };
  // True for the one report that makes the counter reach `threshold`.
  auto reaches = [](std::atomic<uint32_t>& counter, uint32_t threshold) {
    if (threshold == 0) return false;
    return counter.fetch_add(1, std::memory_order_relaxed) + 1 == threshold;
  };
  bool decided = false;
  bool healthy = false;
  if (outcome == ProbeOutcome::kSuccess) {
    clear(c.http_failures);
    clear(c.tcp_failures);
    clear(c.timeouts);
    // Only counted while it can matter: the endpoint is out (a request already on its way to it).
    if (s.successes > 0 && !this->healthy(index)) {
      decided = reaches(c.successes, s.successes);
      healthy = true;
    }
  } else {
    clear(c.successes);
    if (!this->healthy(index)) return;  // already out: nothing to decide
    if (outcome == ProbeOutcome::kHttpFailure) decided = reaches(c.http_failures, s.http_failures);
    if (outcome == ProbeOutcome::kTcpFailure) decided = reaches(c.tcp_failures, s.tcp_failures);
    if (outcome == ProbeOutcome::kTimeout) decided = reaches(c.timeouts, s.timeouts);
  }
  if (decided && sink_set_.load(std::memory_order_acquire)) sink_(key, healthy);
}

void EndpointHealth::set_down(bool down) {
  if (this->down() == down) return;
  down_.store(down ? 1 : 0, std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_release);
}

}  // namespace portico::upstream
