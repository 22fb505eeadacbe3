// RequestTerminationFilter: Kong's `request-termination` plugin. Answers every request (or, with
// `trigger`, every request carrying that header or query argument) with a fixed response, without
// contacting the upstream.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_request never waits (always a ready Verdict): it fills exchange.reply and answers
// Verdict::respond(), or Verdict::next() when a trigger is configured and absent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"

namespace portico::filters {

class RequestTerminationFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "request-termination";
  static constexpr int kPriority = 2;  // Kong's PRIORITY: after auth, limits and transforms

  struct Config {
    uint16_t status_code = 503;
    std::optional<std::string> message;
    std::optional<std::string> body;
    std::optional<std::string> content_type;
    bool echo = false;
    std::string trigger;  // empty: always terminate
  };

  // Reads `config` (null = all defaults). Records errors and returns null when invalid.
  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);
  // The message Kong sends for `status` when none is configured, or null when it sends no body.
  static const char* default_message(uint16_t status);

  explicit RequestTerminationFilter(Config config);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }

 private:
  bool triggered(const http::Request& request) const;

  Config config_;
  // Resolved once so the hot path only copies: the reply's content type and body.
  std::string content_type_;
  std::string body_;
  // Echo's "message": the configured one, else the status's default (absent when neither).
  std::optional<std::string> echo_message_;
  // `trigger` as nginx also matches it against header names: '_' read as '-'.
  std::string trigger_as_header_;
};

}  // namespace portico::filters
