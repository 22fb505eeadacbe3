// Snapshot: one compiled, immutable configuration, as every worker runs it.
//
// Contract: `compile()` runs on the control thread (and in `portico check`), performing the very
// same validation in both places. The result is published as shared_ptr<const Snapshot> and never
// changes; workers read it concurrently without locks. A request keeps the snapshot it started
// with until it ends, so a reload never changes a request mid-flight.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/loader.h"
#include "config/model.h"
#include "core/config_error.h"
#include "filter/registry.h"
#include "router/route_table.h"
#include "upstream/cluster.h"

namespace portico::config {

struct Snapshot {
  std::shared_ptr<const Config> config;
  std::vector<std::unique_ptr<upstream::Cluster>> clusters;  // one per service, same index
  router::RouteTable routes;
  std::string version;
};

struct CompileOptions {
  // Resolve service host names now (run) or not (check: DNS may be unreachable where the file is
  // checked; a name that does not resolve at run time answers 503).
  bool resolve_hosts = true;
};

struct CompileResult {
  std::shared_ptr<const Snapshot> snapshot;
  core::ConfigErrors errors;
  bool ok() const { return snapshot != nullptr; }
};

CompileResult compile(std::shared_ptr<const Config> config, const filter::Registry& registry,
                      const CompileOptions& options = {});

// load_file + compile, errors of either step in one list.
CompileResult build_from_file(const std::string& path, const filter::Registry& registry,
                              const CompileOptions& options = {});
CompileResult build_from_string(std::string_view text, const std::string& file_name,
                                const filter::Registry& registry, const CompileOptions& options = {});

}  // namespace portico::config
