#include "server/route_explainer.h"

#include <cstdio>
#include <string_view>

#include "config/snapshot.h"
#include "core/out_buffer.h"
#include "filters/builtin.h"
#include "http/header_map.h"
#include "router/path_normalizer.h"

namespace portico::server {
namespace {

struct ParsedRequest {
  std::string method = "GET";
  std::string scheme = "http";
  std::string host;
  std::string path = "/";
  std::string query;
  bool has_query = false;
};

bool parse_request(std::string_view text, ParsedRequest& out, std::string& error) {
  auto space = text.find(' ');
  std::string_view target = text;
  if (space != std::string_view::npos) {
    out.method = std::string(text.substr(0, space));
    target = text.substr(space + 1);
    while (!target.empty() && target.front() == ' ') target.remove_prefix(1);
  }
  for (char c : out.method) {
    if (c < 'A' || c > 'Z') {
      error = "method \"" + out.method + "\" must be upper-case letters (e.g. GET)";
      return false;
    }
  }
  auto scheme_end = target.find("://");
  if (scheme_end != std::string_view::npos) {
    out.scheme = std::string(target.substr(0, scheme_end));
    if (out.scheme != "http" && out.scheme != "https") {
      error = "scheme must be http or https";
      return false;
    }
    target.remove_prefix(scheme_end + 3);
    auto path_start = target.find_first_of("/?");
    out.host = std::string(target.substr(0, path_start));
    target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
  }
  if (target.empty() || (target.front() != '/' && target.front() != '?')) {
    error = "expected \"METHOD http(s)://host/path\" or \"METHOD /path\"";
    return false;
  }
  auto q = target.find('?');
  out.path = target.front() == '?' ? "/" : std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    out.query = std::string(target.substr(q + 1));
    out.has_query = true;
  }
  return true;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

int explain_route(const RouteQuery& query) {
  ParsedRequest req;
  std::string error;
  if (!parse_request(query.request, req, error)) {
    std::fprintf(stderr, "portico routes: %s\n", error.c_str());
    return 2;
  }
  // The SNI a client would send: the URL's host (before any -H Host) when the scheme is https.
  const std::string sni(req.scheme == "https" ? router::strip_port(req.host) : std::string_view());
  http::HeaderMap headers;
  for (const auto& h : query.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      std::fprintf(stderr, "portico routes: -H \"%s\": expected \"Name: value\"\n", h.c_str());
      return 2;
    }
    std::string_view name = headers.own(std::string_view(h).substr(0, colon));
    std::string_view value = std::string_view(h).substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (http::iequals(name, "host")) req.host = std::string(value);
    headers.add(name, headers.own(value));
  }
  if (!headers.contains("host") && !req.host.empty()) headers.add("Host", headers.own(req.host));

  filter::Registry registry;
  filters::register_builtin_plugins(registry);
  auto built = config::build_from_file(query.config_path, registry);
  if (!built.ok()) {
    std::fprintf(stderr, "%s\n", built.errors.to_string().c_str());
    return 1;
  }
  const config::Snapshot& snap = *built.snapshot;

  std::string normalized;
  router::PathResult norm = router::normalize_path(req.path, normalized);
  std::string shown = req.host.empty() ? std::string() : req.scheme + "://" + req.host;
  std::printf("%s %s%s%s%s\n", req.method.c_str(), shown.c_str(), req.path.c_str(), req.has_query ? "?" : "",
              req.query.c_str());
  if (!norm.ok()) {
    std::printf("  answer:    400 {\"message\":\"%s\"} (path rejected before routing)\n",
                std::string(router::describe(norm.status)).c_str());
    return 1;
  }
  std::string path(norm.path(req.path, normalized));
  if (path != req.path) std::printf("  normalised path: %s\n", path.c_str());

  router::Match m = snap.routes->match(req.method, req.host, path, headers, sni);
  if (!m.route) {
    std::printf("  no route matches: 404 {\"message\":\"no Route matched with those values\"}\n");
    return 1;
  }
  const router::Route& route = *m.route;
  const config::Route& cr = snap.config->routes[route.index];
  std::printf("  route:     %s (%s, %s:%u:%u)\n", route.name.c_str(), cr.yaml_path.c_str(), snap.config->file.c_str(),
              cr.mark.line, cr.mark.column);

  std::vector<std::string> why;
  for (const auto& h : route.hosts) {
    if (router::host_matches(h, req.host)) {
      why.push_back("hosts \"" + h + "\"");
      break;
    }
  }
  if (!route.methods.empty()) why.push_back("methods " + join(route.methods));
  bool path_found = false;
  for (const auto& p : route.prefixes) {
    if (p.size() == m.matched_prefix_len && path.compare(0, p.size(), p) == 0) {
      why.push_back("paths \"" + p + "\" (prefix)");
      path_found = true;
      break;
    }
  }
  if (!path_found && (!route.regexes.empty())) {
    for (const auto& re : route.regexes) {
      if (RE2::PartialMatch(path, *re)) {
        why.push_back("paths \"~" + re->pattern() + "\" (regex, regex_priority " +
                      std::to_string(route.regex_priority) + ")");
        break;
      }
    }
  }
  for (const auto& h : cr.headers) {
    std::vector<std::string> values = h.values;
    why.push_back("headers " + h.name + ": " + join(values));
  }
  if (!route.snis.empty()) {
    if (sni.empty()) {
      why.push_back("snis " + join(route.snis) + " (not tested on plaintext, as in Kong)");
    } else {
      for (const auto& s : route.snis) {
        if (router::sni_matches(s, sni)) {
          why.push_back("snis \"" + s + "\"");
          break;
        }
      }
    }
  }
  std::printf("  matched:   %s\n", why.empty() ? "(no criteria)" : join(why).c_str());
  if (route.https_only && req.scheme != "https") {
    std::printf("  answer:    %d (the route's protocols leave out http; no plugin runs, nothing is proxied)\n",
                route.https_redirect_status_code);
  }

  if (route.cluster == SIZE_MAX) {
    std::printf("  service:   none (a plugin must answer, else 503)\n");
  } else {
    const upstream::Cluster& c = *snap.clusters[route.cluster];
    const config::Service& s = snap.config->services[route.cluster];
    std::printf("  service:   %s -> %s://%s:%u%s\n", c.name.c_str(), s.protocol.c_str(), c.host.c_str(), c.port,
                c.path.c_str());
    // Where requests go: the upstream's targets (names are resolved when the gateway runs).
    std::string targets;
    for (const auto& t : c.targets) {
      targets += (targets.empty() ? "" : ", ") + (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) +
                 ":" + std::to_string(t.port) + " (weight " + std::to_string(t.weight) + ")";
    }
    if (!c.upstream_name.empty()) {
      const config::Upstream* u = nullptr;
      for (const auto& candidate : snap.config->upstreams) {
        if (candidate.name == c.upstream_name) u = &candidate;
      }
      std::string hash;
      if (u && u->hash_on != "none") hash = ", hash_on " + u->hash_on + (u->hash_fallback != "none" ? " then " + u->hash_fallback : "");
      std::printf("  balancer:  upstream %s, %s%s: %s\n", c.upstream_name.c_str(),
                  std::string(upstream::algorithm_name(c.algorithm)).c_str(), hash.c_str(),
                  targets.empty() ? "no targets" : targets.c_str());
    } else {
      std::printf("  balancer:  %s\n", targets.c_str());
    }
    core::OutBuffer up;
    router::upstream_path(route, c.path, path, m.matched_prefix_len, up);
    std::string host = route.preserve_host && !req.host.empty() ? req.host : c.host_header;
    std::printf("  upstream:  %s %.*s%s%s  (Host: %s; strip_path %s, path_handling %s, preserve_host %s)\n",
                req.method.c_str(), static_cast<int>(up.size()), up.data(), req.has_query ? "?" : "",
                req.query.c_str(), host.c_str(), route.strip_path ? "true" : "false",
                route.path_handling == router::PathHandling::kV1 ? "v1" : "v0",
                route.preserve_host ? "true" : "false");
    std::printf("  timeouts:  connect %lld ms, write %lld ms, read %lld ms; retries %d\n",
                static_cast<long long>(c.connect_timeout.count()), static_cast<long long>(c.write_timeout.count()),
                static_cast<long long>(c.read_timeout.count()), c.retries);
  }
  std::string plugins;
  for (const auto& p : route.chain.plugins()) {
    plugins += (plugins.empty() ? "" : ", ") + p.name + " (" + std::to_string(p.priority) + ")";
  }
  std::printf("  plugins:   %s\n", plugins.empty() ? "none" : plugins.c_str());
  return 0;
}

}  // namespace portico::server
