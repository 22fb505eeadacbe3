// Helpers for plugin tests: load a plugin from Kong declarative YAML text through the project's
// YAML loader and the built-in registry, and build exchanges to run hooks on.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "config/yaml_document.h"
#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/exchange.h"
#include "filter/registry.h"
#include "filters/builtin.h"

namespace portico::filters::testing {

// The result of loading `plugins[0]` of a declarative document.
struct Loaded {
  std::shared_ptr<const core::ConfigNode> document;
  core::ConfigErrors errors;
  std::shared_ptr<const filter::Filter> filter;
  int priority = 0;

  std::string error_text() const { return errors.to_string(); }
};

inline const filter::Registry& builtin_registry() {
  static const filter::Registry registry = [] {
    filter::Registry r;
    register_builtin_plugins(r);
    return r;
  }();
  return registry;
}

// `yaml` is a whole declarative file ("kong.yaml") whose `plugins[0]` is the plugin under test.
inline Loaded load_plugin(std::string_view yaml) {
  Loaded out;
  out.document = config::parse_yaml_document(yaml, "kong.yaml", out.errors);
  if (!out.document) return out;
  const core::ConfigNode* plugins = out.document->find("plugins");
  if (plugins == nullptr || plugins->size() == 0) return out;
  const core::ConfigNode& entry = (*plugins)[0];
  const filter::PluginFactory* factory = builtin_registry().find(entry.find("name")->scalar());
  if (factory == nullptr) return out;
  out.priority = factory->priority;
  const core::ConfigNode* config = entry.find("config");
  if (config != nullptr && config->is_null()) config = nullptr;
  out.filter = factory->create(config, "plugins[0].config", out.errors);
  return out;
}

// A GET request as a worker would present it to the filters.
inline void fill_request(filter::Exchange& x, std::string_view path = "/echo",
                         std::string_view query = {}) {
  x.request.method = "GET";
  x.request.path = path;
  x.request.query = query;
  x.request.has_query = !query.empty();
  x.request.host = "Example.COM:8000";
  x.request.scheme = "http";
  x.request.server_port = 8000;
  x.request.headers.add("Host", "Example.COM:8000");
  x.request.headers.add("User-Agent", "test/1.0");
}

}  // namespace portico::filters::testing
