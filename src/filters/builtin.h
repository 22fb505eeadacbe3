// register_builtin_plugins: adds every plugin implemented in src/filters to a Registry, under its
// Kong name and with its Kong PRIORITY.
//
// Contract: call once on the control thread, before any configuration is compiled. Each factory
// validates a plugin's `config:` map (null when absent) and returns null after recording errors.
#pragma once

#include "filter/registry.h"

namespace portico::filters {

void register_builtin_plugins(filter::Registry& registry);

}  // namespace portico::filters
