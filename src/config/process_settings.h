// read_process_settings: the top-level `portico:` block → ProcessSettings.
//
// Contract (internal to src/config): records every problem in `errors`; fields not given keep
// their defaults (model.h). Durations are integer milliseconds; sizes are bytes.
#pragma once

#include <string>

#include "config/model.h"
#include "core/config_error.h"
#include "core/config_node.h"

namespace portico::config {

void read_process_settings(const core::ConfigNode& node, const std::string& path,
                           core::ConfigErrors& errors, ProcessSettings& out);

}  // namespace portico::config
