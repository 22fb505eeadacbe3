// RequestSizeLimitingFilter: Kong's `request-size-limiting` plugin. A request whose
// Content-Length exceeds `allowed_payload_size` (in `size_unit`) is answered 413 "Request size
// limit exceeded" before any byte goes upstream. A chunked body gets the limit as
// Exchange::max_body_bytes, which the proxy's body streaming enforces: once the body passes it,
// the upstream attempt is closed and the client gets the 413 (when no response has started).
// With `require_content_length`, a chunked request (a body without Content-Length) is answered
// 411 "A valid Content-Length header is required".
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_request never waits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"

namespace portico::filters {

class RequestSizeLimitingFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "request-size-limiting";
  static constexpr int kPriority = 951;

  struct Config {
    uint64_t allowed_payload_size = 128;
    std::string size_unit = "megabytes";
    bool require_content_length = false;
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);
  explicit RequestSizeLimitingFilter(Config config);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;
  uint64_t limit_bytes() const { return limit_; }

 private:
  Config config_;
  uint64_t limit_ = 0;
};

}  // namespace portico::filters
