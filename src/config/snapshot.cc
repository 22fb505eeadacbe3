#include "config/snapshot.h"

#include <map>
#include <unordered_map>

#include "core/object_reader.h"
#include "http/header_map.h"

namespace portico::config {
namespace {

// Kong's plugin precedence without consumers: a plugin configured on route+service beats one on
// the route, which beats one on the service, which beats a global one.
int scope_rank(const PluginInstance& p, const Route& r, size_t route_index) {
  bool on_route = p.route == static_cast<int>(route_index);
  bool on_service = p.service >= 0 && p.service == r.service;
  if (p.route >= 0 && !on_route) return -1;
  if (p.service >= 0 && !on_service) return -1;
  if (on_route && on_service) return 3;
  if (on_route) return 2;
  if (on_service) return 1;
  return 0;
}

// A service whose host names an upstream balances over the upstream's targets (each resolved,
// every address carrying the target's weight) with its algorithm and hash policy.
void configure_upstream(const Upstream& u, upstream::Cluster& c, const CompileOptions& options) {
  c.upstream_name = u.name;
  c.algorithm = upstream::parse_algorithm(u.algorithm).value_or(upstream::Algorithm::kRoundRobin);
  c.slots = u.slots;
  c.hash.hash_on = upstream::parse_hash_on(u.hash_on).value_or(upstream::HashOn::kNone);
  c.hash.hash_fallback = upstream::parse_hash_on(u.hash_fallback).value_or(upstream::HashOn::kNone);
  c.hash.hash_on_header = u.hash_on_header;
  c.hash.hash_fallback_header = u.hash_fallback_header;
  c.hash.hash_on_cookie = u.hash_on_cookie;
  c.hash.hash_on_query_arg = u.hash_on_query_arg;
  c.hash.hash_fallback_query_arg = u.hash_fallback_query_arg;
  c.hash.hash_on_uri_capture = u.hash_on_uri_capture;
  c.hash.hash_fallback_uri_capture = u.hash_fallback_uri_capture;
  if (!u.host_header.empty()) c.host_header = u.host_header;
  c.endpoints.clear();
  c.resolve_error.clear();
  if (!options.resolve_hosts) return;
  std::string errors;
  for (const auto& t : u.targets) {
    upstream::Cluster one;
    one.host = t.host;
    one.port = t.port;
    upstream::resolve(one);
    if (!one.resolve_error.empty()) errors += (errors.empty() ? "" : "; ") + one.resolve_error;
    for (auto& ep : one.endpoints) {
      ep.weight = t.weight;
      bool dup = false;
      for (const auto& e : c.endpoints) dup = dup || e.key == ep.key;
      if (!dup) c.endpoints.push_back(std::move(ep));
    }
  }
  if (c.endpoints.empty()) {
    c.resolve_error = u.targets.empty() ? "upstream " + u.name + " has no targets" : errors;
  }
}

}  // namespace

CompileResult compile(std::shared_ptr<const Config> config, const filter::Registry& registry,
                      const CompileOptions& options) {
  CompileResult result;
  auto snap = std::make_shared<Snapshot>();
  snap->config = config;
  snap->version = config->version;
  const core::ConfigNode& root = *config->document;

  std::unordered_map<std::string_view, const Upstream*> upstreams_by_name;
  for (const auto& u : config->upstreams) upstreams_by_name.emplace(u.name, &u);
  for (size_t i = 0; i < config->services.size(); ++i) {
    const Service& s = config->services[i];
    auto c = std::make_unique<upstream::Cluster>();
    c->index = i;
    c->name = s.name.empty() ? s.id : s.name;
    c->host = s.host;
    c->port = s.port;
    bool default_port = (s.protocol == "http" && s.port == 80) || (s.protocol == "https" && s.port == 443);
    c->host_header = s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host;
    if (!default_port) c->host_header += ":" + std::to_string(s.port);
    c->path = s.path;
    c->retries = s.retries;
    c->connect_timeout = std::chrono::milliseconds(s.connect_timeout);
    c->write_timeout = std::chrono::milliseconds(s.write_timeout);
    c->read_timeout = std::chrono::milliseconds(s.read_timeout);
    if (s.protocol != "http") {
      result.errors.add(root, s.mark, s.yaml_path + ".protocol",
                        "protocol \"" + s.protocol + "\" is not supported yet (use http)");
    }
    auto named = upstreams_by_name.find(s.host);
    const Upstream* up = named == upstreams_by_name.end() ? nullptr : named->second;
    if (up) {
      configure_upstream(*up, *c, options);
    } else if (options.resolve_hosts) {
      upstream::resolve(*c);
    }
    snap->clusters.push_back(std::move(c));
  }

  // One Filter per plugin entry, shared by every route it applies to.
  std::vector<std::shared_ptr<const filter::Filter>> filters(config->plugins.size());
  std::vector<int> priorities(config->plugins.size(), 0);
  for (size_t i = 0; i < config->plugins.size(); ++i) {
    const PluginInstance& p = config->plugins[i];
    const filter::PluginFactory* factory = registry.find(p.name);
    if (!factory) {
      std::string known;
      for (const auto& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
      result.errors.add(root, p.mark, p.yaml_path + ".name",
                        "unknown plugin \"" + p.name + "\" (available: " + known + ")");
      continue;
    }
    if (p.consumer >= 0) {
      result.errors.add(root, p.mark, p.yaml_path + ".consumer",
                        "consumer-scoped plugins are not supported yet");
      continue;
    }
    auto f = factory->create(p.config, p.yaml_path + ".config", result.errors);
    if (!f) continue;
    filters[i] = std::move(f);
    priorities[i] = factory->priority;
  }

  // Plugin candidates per scope, so each route looks only at the plugins that can apply to it
  // (global, its service's, its own) instead of every plugin of the file. Disabled instances are
  // not loaded at all (as in Kong), so a less specific one applies.
  std::vector<size_t> global_plugins;
  std::unordered_map<int, std::vector<size_t>> plugins_by_service;
  std::unordered_map<int, std::vector<size_t>> plugins_by_route;
  for (size_t pi = 0; pi < config->plugins.size(); ++pi) {
    const PluginInstance& p = config->plugins[pi];
    if (!filters[pi] || !p.enabled) continue;
    if (p.route >= 0) {
      plugins_by_route[p.route].push_back(pi);
    } else if (p.service >= 0) {
      plugins_by_service[p.service].push_back(pi);
    } else {
      global_plugins.push_back(pi);
    }
  }

  std::vector<std::unique_ptr<router::Route>> routes;
  for (size_t ri = 0; ri < config->routes.size(); ++ri) {
    const Route& r = config->routes[ri];
    auto route = std::make_unique<router::Route>();
    route->index = ri;
    route->name = r.name.empty() ? r.id : r.name;
    if (r.service >= 0) {
      route->cluster = static_cast<size_t>(r.service);
      route->service_name = snap->clusters[route->cluster]->name;
    }
    route->hosts = r.hosts;
    route->methods = r.methods;
    for (size_t pi = 0; pi < r.paths.size(); ++pi) {
      const std::string& path = r.paths[pi];
      if (!path.empty() && path[0] == '~') {
        RE2::Options opts;
        opts.set_log_errors(false);
        auto re = std::make_unique<RE2>(path.substr(1), opts);
        if (!re->ok()) {
          result.errors.add(root, r.mark, r.yaml_path + ".paths[" + std::to_string(pi) + "]",
                            "invalid regex \"" + path.substr(1) + "\": " + re->error());
          continue;
        }
        route->regexes.push_back(std::move(re));
      } else {
        route->prefixes.push_back(path);
      }
    }
    for (const HeaderCondition& h : r.headers) {
      router::HeaderCondition cond;
      cond.name = h.name;
      // Kong's rule: "~*" marks a regex only when it is the list's single value.
      if (h.values.size() == 1 && h.values[0].starts_with("~*")) {
        RE2::Options opts;
        opts.set_log_errors(false);
        opts.set_case_sensitive(false);
        cond.regex = std::make_unique<RE2>(h.values[0].substr(2), opts);
        if (!cond.regex->ok()) {  // the loader checks this; kept for configs built in code
          result.errors.add(root, r.mark, core::path_key(r.yaml_path + ".headers", h.name),
                            "invalid regex \"" + h.values[0].substr(2) + "\": " + cond.regex->error());
          continue;
        }
      } else {
        cond.values = h.values;
      }
      route->headers.push_back(std::move(cond));
    }
    route->strip_path = r.strip_path;
    route->preserve_host = r.preserve_host;
    route->regex_priority = r.regex_priority;
    route->path_handling = r.path_handling == "v1" ? router::PathHandling::kV1 : router::PathHandling::kV0;

    // For each plugin name, the most specific enabled instance applies.
    std::map<std::string, std::pair<int, size_t>> chosen;  // name → (rank, plugin index)
    auto consider = [&](const std::vector<size_t>& candidates) {
      for (size_t pi : candidates) {
        const PluginInstance& p = config->plugins[pi];
        int rank = scope_rank(p, r, ri);
        if (rank < 0) continue;
        auto it = chosen.find(p.name);
        if (it == chosen.end() || rank > it->second.first) chosen[p.name] = {rank, pi};
      }
    };
    consider(global_plugins);
    if (auto it = plugins_by_service.find(r.service); r.service >= 0 && it != plugins_by_service.end()) {
      consider(it->second);
    }
    if (auto it = plugins_by_route.find(static_cast<int>(ri)); it != plugins_by_route.end()) consider(it->second);
    std::vector<filter::Chain::Entry> entries;
    for (const auto& [name, pick] : chosen) {
      entries.push_back({filters[pick.second], priorities[pick.second], name});
    }
    route->chain = filter::Chain(std::move(entries));
    routes.push_back(std::move(route));
  }
  snap->routes = router::RouteTable(std::move(routes));

  if (!result.errors.empty()) return result;
  result.snapshot = std::move(snap);
  return result;
}

namespace {
CompileResult finish_load(LoadResult loaded, const filter::Registry& registry,
                          const CompileOptions& options) {
  if (!loaded.ok()) {
    CompileResult r;
    r.errors = std::move(loaded.errors);
    return r;
  }
  auto config = std::make_shared<const Config>(std::move(*loaded.config));
  return compile(std::move(config), registry, options);
}
}  // namespace

CompileResult build_from_file(const std::string& path, const filter::Registry& registry,
                              const CompileOptions& options) {
  return finish_load(load_file(path), registry, options);
}

CompileResult build_from_string(std::string_view text, const std::string& file_name,
                                const filter::Registry& registry, const CompileOptions& options) {
  return finish_load(load_string(text, file_name), registry, options);
}

}  // namespace portico::config
