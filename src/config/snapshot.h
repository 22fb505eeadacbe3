// Snapshot: one compiled, immutable configuration, as every worker runs it.
//
// Contract: `compile()` runs on the control thread (and in `portico check`), performing the very
// same validation in both places. The result is published as shared_ptr<const Snapshot> and never
// changes; workers read it concurrently without locks. A request keeps the snapshot it started
// with until it ends, so a reload never changes a request mid-flight.
//
// Compilation does no I/O: targets that are IP literals get their endpoints at once, names wait
// for the control thread's resolver, which calls `with_addresses()` whenever an answer changes.
// That makes a new snapshot sharing the config, the route table and every unchanged cluster.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/loader.h"
#include "config/model.h"
#include "core/config_error.h"
#include "filter/consumer_directory.h"
#include "filter/registry.h"
#include "router/route_table.h"
#include "session/tls_server.h"
#include "upstream/cluster.h"

namespace portico::config {

// A plugin instance scoped to a consumer (and maybe a route and/or service): it applies only to
// requests authenticated as that consumer.
struct ConsumerPlugin {
  std::shared_ptr<const filter::Filter> filter;
  int priority = 0;
  std::string name;
  int route = -1;    // config route index, -1 = any
  int service = -1;  // config service index, -1 = any
};

struct Snapshot {
  std::shared_ptr<const Config> config;
  std::vector<std::shared_ptr<const upstream::Cluster>> clusters;  // one per service, same index
  std::shared_ptr<const router::RouteTable> routes;
  std::string version;
  uint64_t endpoints_generation = 0;  // +1 each time resolved addresses change the endpoints
  std::vector<std::vector<ConsumerPlugin>> consumer_plugins;  // by consumer index; may be shorter
  // What TLS listeners serve (certificates by SNI, mutual TLS); null when no certificate is
  // served. A connection takes the set of the snapshot current when it is accepted.
  std::shared_ptr<const session::TlsServerSet> tls;
  // Consumers with their credentials and ACL groups (key → credential, basic-auth username →
  // salted hash, consumer → groups), for the authentication plugins; never null once compiled.
  std::shared_ptr<const filter::ConsumerDirectory> consumers;

  // True when some plugin instance is scoped to `consumer`.
  bool has_consumer_plugins(int consumer) const;
  // The chain a request on `route` runs once a filter of priority `switch_priority` has
  // authenticated it as `consumer`: the route's chain with the consumer's instances of lower
  // priority merged in by Kong's precedence. Instances at or above `switch_priority` stay as they
  // were (they ran, or were passed, before the consumer was known: Kong picks each plugin's
  // instance once, when the access phase reaches it).
  filter::Chain chain_for(const router::Route& route, int consumer, int switch_priority) const;
};

struct CompileResult {
  std::shared_ptr<const Snapshot> snapshot;
  core::ConfigErrors errors;
  bool ok() const { return snapshot != nullptr; }
};

CompileResult compile(std::shared_ptr<const Config> config, const filter::Registry& registry);

// load_file + compile, errors of either step in one list.
CompileResult build_from_file(const std::string& path, const filter::Registry& registry);
CompileResult build_from_string(std::string_view text, const std::string& file_name,
                                const filter::Registry& registry);

// Every DNS name the snapshot's clusters balance over (IP literals excluded), sorted, unique.
std::vector<std::string> host_names(const Snapshot& snapshot);

// `snapshot` with endpoints rebuilt from `lookup`: clusters whose endpoints stay the same are
// shared, and `snapshot` itself is returned when none changes.
std::shared_ptr<const Snapshot> with_addresses(const std::shared_ptr<const Snapshot>& snapshot,
                                               const upstream::AddressLookup& lookup);

}  // namespace portico::config
