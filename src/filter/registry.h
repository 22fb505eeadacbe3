// Registry: plugin name → how to build a Filter from its `config:` block.
//
// Contract: filled on the control thread before any config is compiled (see
// filters/builtin.h); read-only afterwards. `create` runs on the control thread while a snapshot
// compiles: it validates `config` (null when the plugin entry has no `config:`), records every
// problem in `errors` with the node's file:line:column and `path` (the YAML path of the config
// map, e.g. "services[0].plugins[1].config"), and returns null when anything was wrong.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filter/filter.h"

namespace portico::core {
class ConfigNode;
class ConfigErrors;
}  // namespace portico::core

namespace portico::filter {

struct PluginFactory {
  std::string name;
  // Kong's PRIORITY: higher runs earlier in the request phases.
  int priority = 0;
  std::function<std::shared_ptr<const Filter>(const core::ConfigNode* config,
                                              const std::string& path, core::ConfigErrors& errors)>
      create;
};

class Registry {
 public:
  void add(PluginFactory factory);
  const PluginFactory* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<PluginFactory> factories_;
};

}  // namespace portico::filter
