// RequestTransformerFilter: Kong's `request-transformer` plugin, header operations only for now.
// Changes the request headers before they go upstream: remove, rename, replace (only if present),
// add (only if absent), append (always another field), in that order.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_request never waits and always answers Verdict::next(). Kong's querystring, body, uri,
// http_method and allow operations are recognised and rejected at load time ("not supported yet")
// unless they hold their empty default, so no configured transformation is ever silently skipped.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"
#include "filters/header_ops.h"

namespace portico::filters {

class RequestTransformerFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "request-transformer";
  static constexpr int kPriority = 801;  // Kong's PRIORITY

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit RequestTransformerFilter(HeaderOps ops);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

  const HeaderOps& ops() const { return ops_; }

 private:
  HeaderOps ops_;
  // Kong replaces Host even when the request had none (HTTP/1.0), and the request keeps a copy of
  // it outside the header list; both are handled after the generic operations.
  std::optional<std::string> host_replacement_;
  bool renames_to_host_ = false;
};

}  // namespace portico::filters
