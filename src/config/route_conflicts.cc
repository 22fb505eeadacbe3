#include "config/route_conflicts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_map>
#include <vector>

namespace portico::config {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void append_sorted(std::string& key, std::vector<std::string> items, bool fold_case) {
  if (fold_case) {
    for (auto& i : items) i = lower(std::move(i));
  }
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  for (const auto& i : items) {
    key += i;
    key += '\x1f';
  }
  key += '\x1e';
}

// Everything but the paths, canonically ordered.
std::string criteria_key(const Route& r) {
  std::string key;
  append_sorted(key, r.hosts, true);
  append_sorted(key, r.methods, false);
  std::vector<std::string> headers;
  for (const auto& h : r.headers) {
    std::vector<std::string> values;
    for (const auto& v : h.values) values.push_back(lower(v));
    std::sort(values.begin(), values.end());
    std::string one = lower(h.name) + ":";
    for (const auto& v : values) one += v + ",";
    headers.push_back(std::move(one));
  }
  append_sorted(key, std::move(headers), false);
  append_sorted(key, r.snis, true);
  key += std::find(r.protocols.begin(), r.protocols.end(), "http") != r.protocols.end() ? "h" : "-";
  return key;
}

std::string path_key(const Route& r, const std::string& path) {
  if (!path.empty() && path[0] == '~') return path + '\x1f' + std::to_string(r.regex_priority);
  return path;
}

std::string describe(const Route& r) { return r.name.empty() ? r.yaml_path : "'" + r.name + "'"; }

}  // namespace

void check_route_conflicts(const Config& config, const core::ConfigNode& root, core::ConfigErrors& errors) {
  // (criteria, path) → index of the first route that claims it.
  std::unordered_map<std::string, size_t> claimed;
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const Route& r = config.routes[i];
    // The routes of a disabled service do not exist for routing (blue/green switches rely on it).
    if (r.service >= 0 && !config.services[static_cast<size_t>(r.service)].enabled) continue;
    const std::string criteria = criteria_key(r);
    std::vector<std::string> paths = r.paths.empty() ? std::vector<std::string>{""} : r.paths;
    size_t shadowed_by = SIZE_MAX;
    bool reachable = false;
    for (const auto& p : paths) {
      auto [it, inserted] = claimed.try_emplace(criteria + '\x1d' + path_key(r, p), i);
      if (inserted) {
        reachable = true;
      } else if (shadowed_by == SIZE_MAX) {
        shadowed_by = it->second;
      }
    }
    if (reachable) continue;
    const Route& first = config.routes[shadowed_by];
    errors.add(root, r.mark, r.yaml_path,
               fmt::format("route {} can never match: earlier routes with the same hosts, methods, headers "
                           "and snis claim each of its paths and win every tie (first: route {} at {})",
                           describe(r), describe(first), first.yaml_path));
  }
}

}  // namespace portico::config
