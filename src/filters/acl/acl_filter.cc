#include "filters/acl/acl_filter.h"

#include <algorithm>
#include <utility>

#include "core/object_reader.h"
#include "filter/consumer_directory.h"
#include "filters/auth_common.h"

namespace portico::filters {
namespace {

using observability::AuthPlugin;
using observability::AuthReason;

bool member_of_any(const std::vector<std::string>& groups, const std::vector<std::string>& list) {
  for (const std::string& g : groups) {
    if (std::find(list.begin(), list.end(), g) != list.end()) return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<const filter::Filter> AclFilter::create(const core::ConfigNode* node,
                                                        const std::string& path,
                                                        core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) {
    allow_or_deny_required(node, path, errors);
    return nullptr;
  }
  const size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  reader.get("allow", config.allow);
  reader.get("deny", config.deny);
  reader.get("hide_groups_header", config.hide_groups_header);
  for (std::string_view key : {"allow", "deny"}) {
    const auto& list = key == "allow" ? config.allow : config.deny;
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].empty()) {
        errors.add((*node->find(key))[i], core::path_index(reader.path_of(key), i),
                   "a group name must not be empty");
      }
    }
  }
  reader.finish();
  if (errors.count() == errors_before) {
    if (!config.allow.empty() && !config.deny.empty()) {
      errors.add(*node->find("deny"), reader.path_of("deny"),
                 "only one of these fields must be non-empty: 'config.allow', 'config.deny'");
    } else if (config.allow.empty() && config.deny.empty()) {
      allow_or_deny_required(node, path, errors);
    }
  }
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<AclFilter>(std::move(config));
}

filter::Step AclFilter::on_request(filter::Exchange& x) const {
  const filter::ConsumerEntry* c = x.consumers ? x.consumers->consumer(x.consumer_index) : nullptr;
  if (c == nullptr) return refuse(x, 401, "Unauthorized", {}, AuthPlugin::kAcl, AuthReason::kNoConsumer);
  const bool allowed = config_.allow.empty() ? !member_of_any(c->groups, config_.deny)
                                             : member_of_any(c->groups, config_.allow);
  if (!allowed) {
    return refuse(x, 403, "You cannot consume this service", {}, AuthPlugin::kAcl,
                  AuthReason::kForbidden);
  }
  if (config_.hide_groups_header || c->groups_header.empty()) {
    x.request.headers.remove("X-Consumer-Groups");
  } else {
    x.request.headers.set("X-Consumer-Groups", c->groups_header);
  }
  return filter::Verdict::next();
}

}  // namespace portico::filters
