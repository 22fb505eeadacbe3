// CorrelationIdFilter: Kong's `correlation-id` plugin. Every request reaching the upstream carries
// `header_name`: the client's own value when it sent one, else a generated id; with
// `echo_downstream` the same value is also set on the response to the client.
//
// Contract: built by `create()` on the control thread; immutable and shared by every worker.
// Hooks never wait. Generators keep per-worker state in thread_local storage (Kong keeps it per
// nginx worker): `uuid` a fresh UUID v4, `uuid#counter` one UUID per worker plus "#<n>",
// `tracker` the request's server address, port, process, connection and time (see the docs).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"

namespace portico::filters {

class CorrelationIdFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "correlation-id";
  static constexpr int kPriority = 100001;  // Kong's PRIORITY: before everything else

  enum class Generator { kUuid, kUuidCounter, kTracker };

  struct Config {
    std::string header_name = "Kong-Request-ID";
    Generator generator = Generator::kUuidCounter;
    bool echo_downstream = false;
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit CorrelationIdFilter(Config config) : config_(std::move(config)) {}

  uint32_t phases() const override {
    return filter::kOnRequest | (config_.echo_downstream ? uint32_t{filter::kOnResponse} : 0u);
  }
  filter::Step on_request(filter::Exchange& exchange) const override;
  filter::Step on_response(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }

  // Appends a generated id to `out` (exposed for tests).
  void generate(const filter::Exchange& exchange, std::string& out) const;

 private:
  Config config_;
};

}  // namespace portico::filters
