// Loader: Kong declarative configuration (YAML or JSON) → config::Config.
//
// Contract:
// - Control thread only (startup, `portico check`, POST /config). Never throws: every problem,
//   including I/O and internal failures, comes back in LoadResult::errors.
// - `config` is set if and only if `errors` is empty. Errors are collected (up to
//   core::ConfigErrors::kMaxErrors), each naming file:line:column and the YAML path.
// - Structure and Kong field validation happen here; plugin names and plugin `config` contents
//   are NOT validated here (the plugin registry does that from PluginInstance::config/mark).
// - docs/configuration.md is the user-facing reference for everything accepted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"
#include "config/yaml_document.h"
#include "core/config_error.h"

namespace portico::config {

struct LoadOptions {
  EnvLookup env;  // `${VAR}` lookups; empty = the process environment
};

struct LoadResult {
  std::optional<Config> config;
  core::ConfigErrors errors;

  bool ok() const { return config.has_value(); }
};

LoadResult load_file(const std::string& path, const LoadOptions& options = {});
// `file_name` is only used in error messages and Config::file.
LoadResult load_string(std::string_view text, std::string file_name,
                       const LoadOptions& options = {});

}  // namespace portico::config
