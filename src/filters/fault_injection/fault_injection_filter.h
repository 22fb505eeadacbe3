// FaultInjectionFilter: Portico's `fault-injection` plugin, a chaos-testing tool with the semantics
// of Envoy's HTTP fault filter: delay a share of requests by a fixed time, then abort a share of
// them with a chosen status, as if the upstream were slow or failing.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_request runs on a worker:
// - no fault drawn: a ready Verdict::next() (no coroutine frame);
// - abort without delay: a ready Verdict::respond() with exchange.reply filled;
// - delay drawn: a Task that suspends on a steady_timer made on exchange.executor() for
//   `fixed_delay`, then continues or aborts. The task refers to the exchange and to this filter: the
//   core awaits it before the exchange is reused, and the request holds the snapshot that owns the
//   filter. Cancelling the request cancels the timer; the task then answers an Error (downstream,
//   499) instead of continuing.
// Each percentage is drawn independently per request from a thread-local PRNG.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"

namespace portico::filters {

class FaultInjectionFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "fault-injection";
  // Just above request-termination (2): faults hit requests that passed auth, limits and
  // transforms, which is where a slow or failing upstream would hit them.
  static constexpr int kPriority = 3;
  static constexpr int64_t kMaxDelayMs = 3'600'000;
  static constexpr std::string_view kDefaultAbortMessage = "fault filter abort";

  struct Delay {
    std::chrono::milliseconds fixed_delay{0};
    uint32_t parts_per_million = 1'000'000;  // percentage × 10'000
  };
  struct Abort {
    uint16_t http_status = 0;
    uint32_t parts_per_million = 1'000'000;
    std::string message{kDefaultAbortMessage};
  };
  struct Config {
    std::optional<Delay> delay;
    std::optional<Abort> abort;
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit FaultInjectionFilter(Config config);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }

 private:
  runtime::Task<filter::Verdict> delay_then(filter::Exchange& exchange, bool abort) const;
  filter::Verdict answer_abort(filter::Exchange& exchange) const;

  Config config_;
  std::string abort_body_;  // the JSON body, built once
};

}  // namespace portico::filters
