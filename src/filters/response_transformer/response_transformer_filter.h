// ResponseTransformerFilter: Kong's `response-transformer` plugin, header operations only for now.
// Changes the upstream response headers before they reach the client: remove, rename, replace
// (only if present), add (only if absent), append (always another field), in that order.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_response never waits and always answers Verdict::next(); it changes exchange.response.headers.
// Kong's JSON body operations (`json`, `json_types`) are recognised and rejected at load time ("not
// supported yet") unless they hold their empty default.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"
#include "filters/header_ops.h"

namespace portico::filters {

class ResponseTransformerFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "response-transformer";
  static constexpr int kPriority = 800;  // Kong's PRIORITY

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit ResponseTransformerFilter(HeaderOps ops) : ops_(std::move(ops)) {}

  uint32_t phases() const override { return filter::kOnResponse; }
  filter::Step on_response(filter::Exchange& exchange) const override;

  const HeaderOps& ops() const { return ops_; }

 private:
  HeaderOps ops_;
};

}  // namespace portico::filters
