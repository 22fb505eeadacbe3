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

EndpointHealth::EndpointHealth(size_t endpoints)
    : size_(endpoints), flags_(std::make_unique<std::atomic<uint8_t>[]>(endpoints)) {
  for (size_t i = 0; i < size_; ++i) flags_[i].store(1, std::memory_order_relaxed);
}

void EndpointHealth::set(size_t index, bool healthy) {
  if (index >= size_ || (flags_[index].load(std::memory_order_relaxed) != 0) == healthy) return;
  flags_[index].store(healthy ? 1 : 0, std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_release);
}

void EndpointHealth::set_down(bool down) {
  if (this->down() == down) return;
  down_.store(down ? 1 : 0, std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_release);
}

}  // namespace portico::upstream
