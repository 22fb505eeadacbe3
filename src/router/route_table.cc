#include "router/route_table.h"

#include <algorithm>

#include "http/header_map.h"
#include "router/route_index.h"

namespace portico::router {
std::string_view strip_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

namespace {

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && http::iequals(s.substr(s.size() - suffix.size()), suffix);
}
bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && http::iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace

bool host_matches(std::string_view pattern, std::string_view host) {
  // A pattern with a port must match host:port exactly; otherwise the port is ignored.
  bool pattern_has_port = pattern.find(':') != std::string_view::npos && pattern.front() != '[';
  std::string_view h = pattern_has_port ? host : strip_port(host);
  if (pattern.size() > 1 && pattern[0] == '*' && pattern[1] == '.') {
    return h.size() > pattern.size() - 1 && iends_with(h, pattern.substr(1));
  }
  if (pattern.size() > 1 && pattern.back() == '*' && pattern[pattern.size() - 2] == '.') {
    return h.size() > pattern.size() - 1 && istarts_with(h, pattern.substr(0, pattern.size() - 1));
  }
  return http::iequals(pattern, h);
}

bool sni_matches(std::string_view pattern, std::string_view sni) {
  if (sni.empty()) return false;
  if (pattern.size() > 1 && pattern.back() == '.') pattern.remove_suffix(1);
  if (pattern.size() > 1 && pattern[0] == '*' && pattern[1] == '.') {
    return sni.size() > pattern.size() - 1 && iends_with(sni, pattern.substr(1));
  }
  if (pattern.size() > 1 && pattern.back() == '*' && pattern[pattern.size() - 2] == '.') {
    return sni.size() > pattern.size() - 1 &&
           istarts_with(sni, pattern.substr(0, pattern.size() - 1));
  }
  return http::iequals(pattern, sni);
}

bool header_condition_matches(const HeaderCondition& condition, const http::HeaderMap& headers) {
  // Every field line counts separately (Kong reads repeated fields as a list); values are not
  // split at commas, as in Kong.
  for (const auto& field : headers) {
    if (!http::iequals(field.name, condition.name)) continue;
    if (condition.regex) {
      if (RE2::PartialMatch(re2::StringPiece(field.value.data(), field.value.size()),
                            *condition.regex)) {
        return true;
      }
      continue;
    }
    for (const auto& v : condition.values) {
      if (http::iequals(field.value, v)) return true;
    }
  }
  return false;
}

RouteTable::RouteTable(std::vector<std::unique_ptr<Route>> routes) : routes_(std::move(routes)) {
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route* r = routes_[i].get();
    // Kong's match weight: one per criterion the route sets, whatever the number of values.
    int criteria = (!r->hosts.empty()) + (!r->methods.empty()) + (!r->headers.empty()) +
                   (!r->snis.empty()) + (!r->prefixes.empty() || !r->regexes.empty());
    bool wildcard = std::any_of(r->hosts.begin(), r->hosts.end(), [](const std::string& h) {
      return h.find('*') != std::string::npos;
    });
    size_t nh = r->headers.size();
    if (r->prefixes.empty() && r->regexes.empty()) {
      ordered_.push_back({r, criteria, wildcard, nh, 0, 0, 0, i, SIZE_MAX});
    }
    for (size_t p = 0; p < r->prefixes.size(); ++p) {
      ordered_.push_back({r, criteria, wildcard, nh, 0, r->prefixes[p].size(), 0, i, p});
    }
    for (size_t p = 0; p < r->regexes.size(); ++p) {
      ordered_.push_back({r, criteria, wildcard, nh, 1, 0, r->regex_priority, i, p});
    }
  }
  std::stable_sort(ordered_.begin(), ordered_.end(), [](const Candidate& a, const Candidate& b) {
    if (a.criteria != b.criteria) return a.criteria > b.criteria;
    // Kong: among equal criteria, plain hosts only (or no hosts) before any wildcard host.
    if (a.wildcard_host != b.wildcard_host) return b.wildcard_host;
    // Kong: then the one with more header conditions is more specific.
    if (a.header_count != b.header_count) return a.header_count > b.header_count;
    // Regex paths are tried before plain prefixes, by regex_priority (Kong 3.x).
    if (a.kind != b.kind) return a.kind > b.kind;
    if (a.kind == 1 && a.regex_priority != b.regex_priority) return a.regex_priority > b.regex_priority;
    if (a.prefix_len != b.prefix_len) return a.prefix_len > b.prefix_len;
    return a.order < b.order;
  });
  std::vector<RouteIndex::Ranked> ranked;
  ranked.reserve(ordered_.size());
  for (const Candidate& c : ordered_) {
    RouteIndex::PathKind kind = c.path_index == SIZE_MAX ? RouteIndex::PathKind::kAny
                                : c.kind == 0            ? RouteIndex::PathKind::kPrefix
                                                         : RouteIndex::PathKind::kRegex;
    ranked.push_back({c.route, kind, static_cast<uint32_t>(c.path_index == SIZE_MAX ? 0 : c.path_index)});
  }
  index_ = std::make_unique<const RouteIndex>(ranked);
}

RouteTable::RouteTable() = default;
RouteTable::~RouteTable() = default;
RouteTable::RouteTable(RouteTable&&) noexcept = default;
RouteTable& RouteTable::operator=(RouteTable&&) noexcept = default;

bool conditions_match(const Route& r, std::string_view method, std::string_view sni,
                      const http::HeaderMap& headers) {
  if (!r.methods.empty() &&
      std::find(r.methods.begin(), r.methods.end(), method) == r.methods.end()) {
    return false;
  }
  if (!r.snis.empty() && !sni.empty() &&
      std::none_of(r.snis.begin(), r.snis.end(),
                   [&](const std::string& p) { return sni_matches(p, sni); })) {
    return false;
  }
  for (const auto& h : r.headers) {
    if (!header_condition_matches(h, headers)) return false;
  }
  return true;
}

Match RouteTable::match(std::string_view method, std::string_view host, std::string_view path,
                        const http::HeaderMap& headers, std::string_view sni) const {
  if (!index_) return {};
  return index_->match(method, host, path, headers, sni);
}

Match RouteTable::match_linear(std::string_view method, std::string_view host,
                               std::string_view path, const http::HeaderMap& headers,
                               std::string_view sni) const {
  for (const auto& c : ordered_) {
    const Route& r = *c.route;
    if (!r.hosts.empty()) {
      bool ok = false;
      for (const auto& h : r.hosts) {
        if (host_matches(h, host)) {
          ok = true;
          break;
        }
      }
      if (!ok) continue;
    }
    size_t consumed = 0;  // a route without paths consumes nothing
    if (c.path_index == SIZE_MAX) {
      // matches any path
    } else if (c.kind == 0) {
      const std::string& prefix = r.prefixes[c.path_index];
      if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) continue;
      consumed = prefix.size();
    } else {
      re2::StringPiece input(path.data(), path.size());
      re2::StringPiece whole;
      if (!r.regexes[c.path_index]->Match(input, 0, input.size(), RE2::ANCHOR_START, &whole, 1)) {
        continue;
      }
      consumed = whole.size();
    }
    // Methods, snis and headers last: the path test is cheaper and rejects most candidates first.
    if (!conditions_match(r, method, sni, headers)) continue;
    return {&r, consumed};
  }
  return {};
}

void upstream_path(const Route& route, std::string_view service_path, std::string_view request_path,
                   size_t matched_prefix_len, core::OutBuffer& out) {
  std::string_view rest = request_path;
  if (route.strip_path) rest = request_path.substr(std::min(matched_prefix_len, request_path.size()));
  if (service_path.empty() || service_path == "/") {
    if (rest.empty() || rest.front() != '/') out += '/';
    out += rest;
    return;
  }
  out += service_path;
  if (rest.empty()) return;
  bool base_slash = service_path.back() == '/';
  bool rest_slash = rest.front() == '/';
  if (route.path_handling == PathHandling::kV1) {
    // v1 concatenates, dropping the request path's leading slash (Kong's documented table).
    out.append(rest_slash ? rest.substr(1) : rest);
    return;
  }
  // v0 joins with exactly one slash.
  if (base_slash && rest_slash) {
    out.append(rest.substr(1));
  } else if (!base_slash && !rest_slash) {
    out += '/';
    out += rest;
  } else {
    out += rest;
  }
}

void named_captures(const Match& match, std::string_view path,
                    std::vector<std::pair<std::string_view, std::string_view>>& out) {
  if (!match.route || match.route->regexes.empty()) return;
  for (const auto& re : match.route->regexes) {
    const auto& names = re->CapturingGroupNames();
    if (names.empty()) continue;
    int groups = re->NumberOfCapturingGroups();
    re2::StringPiece subs[17];
    if (groups + 1 > 17) groups = 16;  // bounded: a route path with more named groups keeps the first 16
    re2::StringPiece input(path.data(), path.size());
    if (!re->Match(input, 0, input.size(), RE2::ANCHOR_START, subs, groups + 1)) continue;
    if (subs[0].size() != match.matched_prefix_len) continue;  // another regex of the route won
    for (const auto& [index, name] : names) {
      if (index > groups || subs[index].data() == nullptr) continue;
      out.emplace_back(std::string_view(name), std::string_view(subs[index].data(), subs[index].size()));
    }
    return;
  }
}

}  // namespace portico::router
