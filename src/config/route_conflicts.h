// check_route_conflicts: load errors for routes that can never match anything.
//
// Contract (internal to src/config): a route is reported when every path it has (or "no path")
// is already claimed by routes defined before it with exactly the same other criteria — hosts,
// methods, headers, snis, whether plain HTTP is accepted and, for regex paths, regex_priority —
// because Kong's priority order then always picks the earlier route (creation order breaks the
// tie). Routes of a disabled service neither claim nor are claimed. Comparison is case-insensitive where matching is (hosts, header names and values).
// Partly shadowed routes are legal, as in Kong. Runs after the entities loaded without errors.
#pragma once

#include "config/model.h"
#include "core/config_error.h"
#include "core/config_node.h"

namespace portico::config {

void check_route_conflicts(const Config& config, const core::ConfigNode& root, core::ConfigErrors& errors);

}  // namespace portico::config
