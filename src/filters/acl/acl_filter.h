// AclFilter: Kong's `acl` plugin. Lets a request through only when its authenticated consumer
// belongs to one of the `allow` groups (or to none of the `deny` groups), from the snapshot's
// `acls`. No consumer: 401 "Unauthorized"; refused: 403 "You cannot consume this service". When
// allowed, the consumer's groups go upstream in X-Consumer-Groups unless `hide_groups_header`.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_request never waits. It must run after authentication (Kong's priority 950 < key-auth's
// 1250 and basic-auth's 1100).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"

namespace portico::filters {

class AclFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "acl";
  static constexpr int kPriority = 950;

  struct Config {
    std::vector<std::string> allow;
    std::vector<std::string> deny;
    bool hide_groups_header = false;
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);
  explicit AclFilter(Config config) : config_(std::move(config)) {}

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

 private:
  Config config_;
};

}  // namespace portico::filters
