#include "config/kong_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>

#include <re2/re2.h>

#include "config/duration.h"
#include "config/process_settings.h"
#include "config/validators.h"

namespace portico::config {
namespace {

using core::ConfigNode;
using core::ObjectReader;
using core::path_index;

constexpr int32_t kMaxTimeoutMs = 2147483646;  // Kong: 1..2^31-2 ms

// Kong top-level keys Portico understands but does not implement yet: a clear error beats
// "unknown field" for a file that Kong itself would load.
constexpr std::array kNotSupportedYet = {
    "consumer_groups",
    "vaults",
    "hmacauth_credentials",
    "oauth2_credentials",
    "key_sets",
    "keys",
    "filter_chains",
    "_info",
    "_konnect",
    "_plugin_configs",
};
constexpr std::array kRouteFieldsNotYet = {"sources", "destinations", "expression", "priority"};
constexpr std::array kConsumerFieldsNotYet = {"hmacauth_credentials",
                                              "oauth2_credentials",
                                              "groups"};
constexpr std::array kPluginFieldsNotYet = {"consumer_group", "ordering"};

// Kong protocols that Portico will implement later, per entity.
constexpr std::array kProtocolsNotYet = {"grpc", "grpcs", "tcp", "tls", "tls_passthrough",
                                         "udp",  "ws",    "wss"};

template <typename List>
bool contains(const List& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

template <typename List>
void reject_not_yet(ObjectReader& r, const List& fields) {
  for (std::string_view field : fields) {
    r.reject(field, fmt::format("Kong field '{}' is not supported yet", field));
  }
}

// A route's `snis` entry (Kong's wildcard_host for routes): a server name, lower-cased in place,
// with at most one wildcard label at the start (*.example.com) or the end (example.*), optionally
// a trailing dot; no port and no IP address, which a TLS client never sends as SNI.
std::string check_route_sni(std::string& sni) {
  for (char& c : sni) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (sni.empty()) return "sni must not be empty";
  std::string_view name = sni;
  if (name.front() == '[' || std::count(name.begin(), name.end(), ':') > 1 ||
      (name.find(':') == std::string_view::npos && is_ipv4(name))) {
    return fmt::format("sni \"{}\" must not be an IP address", sni);
  }
  if (name.find(':') != std::string_view::npos) {
    return fmt::format("sni \"{}\" must not have a port", sni);
  }
  // The hostname rules are the route hosts' (one wildcard label at either end). A fully
  // qualified name's trailing dot is accepted; the router ignores it, as Kong does.
  if (name.size() > 1 && name.back() == '.' && name[name.size() - 2] != '.') name.remove_suffix(1);
  std::string as_host(name);
  if (check_route_host(as_host).empty()) return {};
  return fmt::format(
      "sni \"{}\" is not a valid server name (letters, digits, '-' and '_' in dot-separated "
      "labels, optionally one wildcard label at the start (*.example.com) or the end "
      "(example.*))",
      sni);
}

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Kong's route `headers`: a map of header name to a non-empty list of strings. Names are
// lower-cased (header names are case-insensitive); a lone "~*" value must be a valid RE2 now, so
// that a bad pattern fails `portico check` rather than the reload.
void read_route_headers(const ConfigNode& map, const std::string& path, core::ConfigErrors& errors,
                        std::vector<HeaderCondition>& out) {
  for (size_t i = 0; i < map.size(); ++i) {
    const std::string& key = map.key(i);
    const ConfigNode& value = map[i];
    std::string value_path = core::path_key(path, key);
    HeaderCondition h;
    h.name.reserve(key.size());
    for (char c : key) h.name.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    if (h.name.empty() || !std::all_of(h.name.begin(), h.name.end(), is_tchar)) {
      errors.add(map, map.key_mark(i), value_path,
                 fmt::format("\"{}\" is not a valid header name", key));
      continue;
    }
    if (h.name == "host") {
      errors.add(map, map.key_mark(i), value_path,
                 "the 'host' header cannot be matched in 'headers'; use the route's 'hosts' field");
      continue;
    }
    if (!value.is_sequence()) {
      errors.add(value, value_path,
                 fmt::format("expected a list of strings, got {}", core::describe(value)));
      continue;
    }
    if (value.empty()) {
      errors.add(value, value_path, "the list of values must not be empty");
      continue;
    }
    bool ok = true;
    for (size_t j = 0; j < value.size(); ++j) {
      std::string v;
      if (!core::read_string(value[j], path_index(value_path, j), errors, v)) {
        ok = false;
        continue;
      }
      h.values.push_back(std::move(v));
    }
    if (!ok) continue;
    if (h.values.size() == 1 && h.values[0].starts_with("~*")) {
      std::string_view pattern = std::string_view(h.values[0]).substr(2);
      RE2::Options opts;
      opts.set_log_errors(false);
      opts.set_case_sensitive(false);
      RE2 re(pattern, opts);
      if (pattern.empty()) {
        errors.add(value[0], path_index(value_path, 0), "regex value \"~*\" must have a pattern");
        continue;
      }
      if (!re.ok()) {
        errors.add(value[0], path_index(value_path, 0),
                   fmt::format("invalid regex \"{}\": {}", pattern, re.error()));
        continue;
      }
    }
    out.push_back(std::move(h));
  }
}

// Envoy's retry_on conditions that Portico implements (docs/configuration.md "Retries").
constexpr std::array<std::string_view, 7> kRetryOn = {
    "5xx",           "gateway-error",  "reset", "connect-failure",
    "retriable-4xx", "refused-stream", "retriable-status-codes"};

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A duration field of `r`, if present (see duration.h).
void read_duration_field(ObjectReader& r, std::string_view key, uint32_t& ms) {
  if (const ConfigNode* n = r.child(key)) read_duration(*n, r.path_of(key), r.errors(), ms);
}

// Portico's route `retry_policy` (Envoy's fields and semantics). `retry_on` is a comma-separated
// string (Envoy's form) or a list; every condition must be one Portico implements. Returns false
// when anything in it was wrong (errors recorded).
bool read_retry_policy(const ConfigNode& node, const std::string& path, core::ConfigErrors& errors,
                       RetryPolicy& out) {
  const size_t errors_before = errors.count();
  ObjectReader r(node, path, errors);
  if (!r.valid()) return false;
  out.mark = node.mark();
  r.require("retry_on");
  if (const ConfigNode* on = r.child("retry_on")) {
    const std::string on_path = r.path_of("retry_on");
    auto add_conditions = [&](const ConfigNode& item, const std::string& item_path) {
      std::string text;
      if (!core::read_string(item, item_path, errors, text)) return;
      std::string_view rest = text;
      for (;;) {
        size_t comma = rest.find(',');
        std::string_view cond = trim_spaces(rest.substr(0, comma));
        if (cond.empty()) {
          errors.add(item, item_path, fmt::format("empty condition in retry_on \"{}\"", text));
        } else if (!contains(kRetryOn, cond)) {
          errors.add(item, item_path,
                     fmt::format("unknown retry_on condition \"{}\"; expected one of: {}", cond,
                                 fmt::join(kRetryOn, ", ")));
        } else if (contains(out.retry_on, cond)) {
          errors.add(item, item_path, fmt::format("retry_on lists \"{}\" twice", cond));
        } else {
          out.retry_on.emplace_back(cond);
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    };
    if (on->is_sequence()) {
      if (on->empty()) r.error("retry_on", "retry_on must name at least one condition");
      for (size_t i = 0; i < on->size(); ++i) add_conditions((*on)[i], path_index(on_path, i));
    } else {
      add_conditions(*on, on_path);
    }
  }
  r.get("num_retries", out.num_retries, 0u, 100u);
  r.get("replay_buffer_limit", out.replay_buffer_limit, 0u, 16u << 20);
  read_duration_field(r, "per_try_timeout", out.per_try_timeout);
  if (const ConfigNode* codes = r.sequence("retriable_status_codes")) {
    const std::string codes_path = r.path_of("retriable_status_codes");
    for (size_t i = 0; i < codes->size(); ++i) {
      int64_t code = 0;
      if (core::read_int((*codes)[i], path_index(codes_path, i), errors, code, 100, 599)) {
        out.retriable_status_codes.push_back(static_cast<int>(code));
      }
    }
  }
  const bool by_codes = contains(out.retry_on, std::string_view("retriable-status-codes"));
  if (by_codes && out.retriable_status_codes.empty() && errors.count() == errors_before) {
    r.error("retry_on",
            "retry_on 'retriable-status-codes' needs a non-empty 'retriable_status_codes' list");
  }
  if (!by_codes && r.has("retriable_status_codes")) {
    r.error("retriable_status_codes",
            "'retriable_status_codes' has no effect unless retry_on includes "
            "'retriable-status-codes'");
  }
  if (const ConfigNode* back_off = r.map("retry_back_off")) {
    ObjectReader b(*back_off, r.path_of("retry_back_off"), errors);
    bool has_max = b.has("max_interval");
    read_duration_field(b, "base_interval", out.base_interval);
    read_duration_field(b, "max_interval", out.max_interval);
    if (out.base_interval == 0) {
      b.error("base_interval", "base_interval must be greater than 0");
    } else if (!has_max) {
      out.max_interval = static_cast<uint32_t>(
          std::min<uint64_t>(uint64_t{out.base_interval} * 10, kMaxDurationMs));
    } else if (out.max_interval < out.base_interval) {
      b.error("max_interval",
              fmt::format("max_interval ({} ms) must not be less than base_interval ({} ms)",
                          out.max_interval, out.base_interval));
    }
    b.finish();
  }
  if (const ConfigNode* budget = r.map("retry_budget")) {
    // Envoy's RetryBudget: budget_percent (default 20.0) of the active requests, at least
    // min_retry_concurrency (default 3) retries in flight.
    ObjectReader b(*budget, r.path_of("retry_budget"), errors);
    RetryPolicy::Budget rb;
    b.get("budget_percent", rb.budget_percent, 0.0, 100.0);
    b.get("min_retry_concurrency", rb.min_retry_concurrency, 0u, 1u << 30);
    b.finish();
    out.retry_budget = rb;
  }
  r.finish();
  return errors.count() == errors_before;
}

}  // namespace

void KongSchema::read(const ConfigNode& root) {
  if (root.is_null()) {
    errors_.add(root, "",
                "the file is empty; expected a Kong declarative configuration starting with "
                "_format_version: \"3.0\"");
    return;
  }
  if (!root.is_map()) {
    errors_.add(root, "",
                "expected a map at the top level (_format_version, services, routes, consumers, "
                "plugins, portico), got " +
                    core::describe(root));
    return;
  }
  ObjectReader r(root, "", errors_);
  r.require("_format_version");
  std::string version;
  if (r.get("_format_version", version)) {
    if (version == "3.0") {
      config_.format_version = version;
    } else if (version == "1.1" || version == "2.1") {
      r.error("_format_version",
              fmt::format("format version \"{}\" is not supported: regex paths changed meaning in "
                          "3.0; convert the file with `deck file convert --from kong-gateway-2.x "
                          "--to kong-gateway-3.x` and set _format_version: \"3.0\"",
                          version));
    } else {
      r.error("_format_version",
              fmt::format("unsupported format version \"{}\"; expected \"3.0\"", version));
    }
  }
  r.get("_transform", config_.transform);
  r.reject("_workspace",
           "workspaces are not supported (Portico has a single workspace); remove '_workspace'");
  r.reject("targets", "top-level targets are not supported yet: declare them inside their upstream "
                      "(upstreams[].targets)");
  for (std::string_view key : kNotSupportedYet) {
    r.reject(key, fmt::format("Kong entity '{}' is not supported yet", key));
  }
  // Large files are mostly top-level lists; sizing the tables once saves rehashing 100k names.
  if (const ConfigNode* list = r.sequence("services")) {
    config_.services.reserve(list->size());
    services_.by_name.reserve(list->size());
    read_services(*list, "services");
  }
  if (const ConfigNode* list = r.sequence("routes")) {
    config_.routes.reserve(config_.routes.size() + list->size());
    routes_.by_name.reserve(routes_.by_name.size() + list->size());
    refs_.reserve(refs_.size() + list->size());
    read_routes(*list, "routes", -1);
  }
  if (const ConfigNode* list = r.sequence("consumers")) read_consumers(*list, "consumers");
  // After the consumers, so that their `consumer` references resolve at once.
  if (const ConfigNode* list = r.sequence("keyauth_credentials")) {
    read_credentials(*list, "keyauth_credentials", CredentialType::kKeyAuth, -1);
  }
  if (const ConfigNode* list = r.sequence("basicauth_credentials")) {
    read_credentials(*list, "basicauth_credentials", CredentialType::kBasicAuth, -1);
  }
  if (const ConfigNode* list = r.sequence("acls")) read_credentials(*list, "acls", CredentialType::kAcl, -1);
  if (const ConfigNode* list = r.sequence("jwt_secrets")) {
    read_credentials(*list, "jwt_secrets", CredentialType::kJwt, -1);
  }
  if (const ConfigNode* list = r.sequence("mtls_auth_credentials")) {
    read_mtls_auth_credentials(*list, "mtls_auth_credentials", -1);
  }
  if (const ConfigNode* list = r.sequence("ca_certificates")) read_ca_certificates(*list, "ca_certificates");
  if (const ConfigNode* list = r.sequence("certificates")) read_certificates(*list, "certificates");
  if (const ConfigNode* list = r.sequence("snis")) read_snis(*list, "snis");
  if (const ConfigNode* list = r.sequence("upstreams")) read_upstreams(*list, "upstreams");
  if (const ConfigNode* list = r.sequence("plugins")) read_plugins(*list, "plugins", std::nullopt);
  const ConfigNode* portico = r.child("portico");
  if (portico) read_process_settings(*portico, "portico", errors_, config_.portico);
  r.finish();
  resolve_references();
  resolve_certificate_refs();
  // Kong listens on 8443 with TLS by default; Portico does when there is a certificate to serve
  // (one with SNIs, or a default one) and the file does not choose its listeners.
  const bool listen_given = portico && portico->is_map() && portico->find("listen") != nullptr;
  bool serves = config_.default_certificate >= 0;
  for (const Certificate& c : config_.certificates) serves = serves || !c.snis.empty();
  if (!listen_given && serves) config_.portico.listen.push_back(Listen{"0.0.0.0", 8443, true});
  for (size_t i = 0; listen_given && !serves && i < config_.portico.listen.size(); ++i) {
    if (!config_.portico.listen[i].ssl) continue;
    const ConfigNode& list = *portico->find("listen");
    errors_.add(list.is_sequence() && i < list.size() ? list[i] : list, core::path_index("portico.listen", i),
                "a TLS listener needs a certificate to serve: a certificate with snis, or one without "
                "(the default certificate; see certificates)");
    break;
  }
  check_plugin_uniqueness();
}

void KongSchema::read_common(ObjectReader& r, std::string& id, std::vector<std::string>& tags) {
  if (r.get("id", id)) {
    if (std::string e = check_uuid(id); !e.empty()) r.error("id", std::move(e));
  }
  if (r.get("tags", tags)) {
    const ConfigNode& list = *r.node().find("tags");
    for (size_t i = 0; i < tags.size(); ++i) {
      if (std::string e = check_tag(tags[i]); !e.empty()) {
        errors_.add(list[i], path_index(r.path_of("tags"), i), std::move(e));
      }
    }
  }
  // Kong exports carry these timestamps; they describe the entity and change nothing.
  int64_t timestamp = 0;
  r.get("created_at", timestamp, 0, std::numeric_limits<int64_t>::max());
  r.get("updated_at", timestamp, 0, std::numeric_limits<int64_t>::max());
}

void KongSchema::register_unique(std::unordered_map<std::string, std::pair<int, core::Mark>>& table,
                                 std::string_view type, std::string_view field,
                                 const std::string& value, int index, ObjectReader& r,
                                 std::string_view key) {
  const ConfigNode* at = r.node().find(key);
  if (at == nullptr) return;
  auto [it, inserted] = table.emplace(value, std::make_pair(index, at->mark()));
  if (!inserted) {
    errors_.add(*at, r.path_of(key),
                fmt::format("duplicate {} {} \"{}\" (first defined at line {})", type, field, value,
                            it->second.second.line));
  }
}

void KongSchema::register_entity(Registry& registry, const std::string& id, const std::string& name,
                                 int index, ObjectReader& r) {
  if (!id.empty()) register_unique(registry.by_id, registry.type, "id", id, index, r, "id");
  if (!name.empty()) {
    register_unique(registry.by_name, registry.type, registry.name_field, name, index, r,
                    registry.name_field);
  }
}

void KongSchema::read_services(const ConfigNode& list, const std::string& path) {
  for (size_t i = 0; i < list.size(); ++i) read_service(list[i], path_index(path, i));
}

void KongSchema::read_service(const ConfigNode& node, std::string path) {
  ObjectReader r(node, path, errors_);
  if (!r.valid()) return;
  Service s;
  s.mark = node.mark();
  if (r.get("name", s.name)) {
    if (std::string e = check_name(s.name); !e.empty()) r.error("name", std::move(e));
  }

  std::string url, protocol, host, service_path;
  uint16_t port = 0;
  bool has_url = r.get("url", url);
  bool has_protocol = r.get("protocol", protocol);
  bool has_host = r.get("host", host);
  bool has_port = r.get("port", port, 0, 65535);
  bool has_path = r.get("path", service_path);
  std::string_view protocol_key = "protocol";
  if (r.has("url")) {
    for (std::string_view key : {"protocol", "host", "port", "path"}) {
      if (r.has(key)) {
        r.error(key, fmt::format("'{}' cannot be combined with 'url', which already sets "
                                 "protocol, host, port and path",
                                 key));
      }
    }
    has_protocol = has_host = has_port = has_path = false;
    if (has_url) {
      ServiceUrl parts;
      if (std::string e = parse_service_url(url, parts); !e.empty()) {
        r.error("url", std::move(e));
      } else {
        protocol = parts.protocol;
        has_protocol = true;
        host = parts.host;
        has_host = true;
        has_port = parts.port.has_value();
        port = parts.port.value_or(0);
        service_path = parts.path;
        has_path = !service_path.empty();
        protocol_key = "url";
      }
    }
  } else {
    r.require("host");
    if (has_host) {
      if (std::string e = check_service_host(host); !e.empty()) r.error("host", std::move(e));
    }
    if (has_path) {
      if (std::string e = check_service_path(service_path); !e.empty()) {
        r.error("path", std::move(e));
      }
    }
  }
  if (has_protocol) {
    if (protocol == "http" || protocol == "https") {
      s.protocol = protocol;
    } else if (contains(kProtocolsNotYet, protocol)) {
      r.error(protocol_key, fmt::format("protocol \"{}\" is not supported yet (supported: http, "
                                        "https)",
                                        protocol));
    } else {
      r.error(protocol_key,
              fmt::format("unknown protocol \"{}\"; expected http or https", protocol));
    }
  }
  if (has_host) s.host = host;
  s.port = has_port ? port : (s.protocol == "https" ? 443 : 80);
  if (has_path) s.path = service_path;

  r.get("retries", s.retries, 0, 32767);
  r.get("connect_timeout", s.connect_timeout, 1u, uint32_t{kMaxTimeoutMs});
  r.get("write_timeout", s.write_timeout, 1u, uint32_t{kMaxTimeoutMs});
  r.get("read_timeout", s.read_timeout, 1u, uint32_t{kMaxTimeoutMs});
  r.get("enabled", s.enabled);
  read_circuit_breakers(r, s.circuit_breakers);  // Portico
  // TLS to the upstream; Kong's rule: these only go with a protocol carried over TLS.
  int index = static_cast<int>(config_.services.size());
  r.get("tls_verify", s.tls_verify);
  r.get("tls_verify_depth", s.tls_verify_depth, 0, 64);
  read_certificate_refs(r, index, -1);
  if (s.protocol != "https") {
    for (std::string_view key : {"tls_verify", "tls_verify_depth", "ca_certificates", "client_certificate"}) {
      if (r.has(key)) {
        r.error(key, fmt::format("'{}' can only be set when protocol is 'https' (it is '{}')", key, s.protocol));
      }
    }
  }
  read_common(r, s.id, s.tags);

  register_entity(services_, s.id, s.name, index, r);
  s.yaml_path = std::move(path);
  config_.services.push_back(std::move(s));

  if (const ConfigNode* plugins = r.sequence("plugins")) {
    read_plugins(*plugins, r.path_of("plugins"), Parent{EntityType::kService, index});
  }
  if (const ConfigNode* routes = r.sequence("routes")) {
    read_routes(*routes, r.path_of("routes"), index);
  }
  r.finish();
}

void KongSchema::read_routes(const ConfigNode& list, const std::string& path, int service) {
  for (size_t i = 0; i < list.size(); ++i) read_route(list[i], path_index(path, i), service);
}

void KongSchema::read_route(const ConfigNode& node, std::string path, int service) {
  ObjectReader r(node, path, errors_);
  if (!r.valid()) return;
  Route route;
  route.mark = node.mark();
  const size_t index = config_.routes.size();
  if (r.get("name", route.name)) {
    if (std::string e = check_name(route.name); !e.empty()) r.error("name", std::move(e));
  }
  if (service >= 0) {
    route.service = service;
    r.reject("service",
             "a route nested under a service must not have a 'service' field; move the route to "
             "the top-level 'routes' list or remove the field");
  } else {
    read_reference(r, "service", EntityType::kService, false, index);
  }

  // Validates each element of a list field that was read successfully.
  auto check_each = [&](std::string_view key, std::vector<std::string>& values, auto check) {
    const ConfigNode& list = *r.node().find(key);
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::string e = check(values[i]); !e.empty()) {
        errors_.add(list[i], path_index(r.path_of(key), i), std::move(e));
      }
    }
  };

  if (r.get("protocols", route.protocols)) {
    if (route.protocols.empty()) r.error("protocols", "protocols must not be empty");
    check_each("protocols", route.protocols, [](const std::string& p) -> std::string {
      if (p == "http" || p == "https") return {};
      if (contains(kProtocolsNotYet, p)) {
        return fmt::format("protocol \"{}\" is not supported yet (supported: http, https)", p);
      }
      return fmt::format("unknown protocol \"{}\"; expected http or https", p);
    });
  }
  size_t errors_before_matchers = errors_.count();
  if (r.get("paths", route.paths)) {
    check_each("paths", route.paths, [](const std::string& p) { return check_route_path(p); });
  }
  if (r.get("hosts", route.hosts)) {
    check_each("hosts", route.hosts, [](std::string& h) { return check_route_host(h); });
  }
  if (r.get("methods", route.methods)) {
    check_each("methods", route.methods, [](const std::string& m) { return check_method(m); });
  }
  if (const ConfigNode* headers = r.map("headers")) {
    read_route_headers(*headers, r.path_of("headers"), errors_, route.headers);
  }
  if (r.get("snis", route.snis)) {
    check_each("snis", route.snis, [](std::string& sni) { return check_route_sni(sni); });
    // Kong's entity check: SNI exists only on TLS, so some protocol must be one carried over it.
    if (!route.snis.empty() &&
        std::none_of(route.protocols.begin(), route.protocols.end(), [](const std::string& p) {
          return p == "https" || p == "grpcs" || p == "tls" || p == "tls_passthrough";
        })) {
      r.error("snis",
              "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or "
              "'tls_passthrough'");
    }
  }
  if (errors_.count() == errors_before_matchers && route.paths.empty() && route.hosts.empty() &&
      route.methods.empty() && route.headers.empty() && route.snis.empty()) {
    errors_.add(node, path,
                "a route needs at least one of 'paths', 'hosts', 'methods' or 'headers' to match "
                "requests");
  }
  r.get("strip_path", route.strip_path);
  r.get("preserve_host", route.preserve_host);
  r.get("regex_priority", route.regex_priority, std::numeric_limits<int>::min(),
        std::numeric_limits<int>::max());
  r.get_enum("path_handling", route.path_handling, {"v0", "v1"});
  int redirect = 0;
  if (r.get("https_redirect_status_code", redirect, 0, 999)) {
    if (redirect == 426 || redirect == 301 || redirect == 302 || redirect == 307 ||
        redirect == 308) {
      route.https_redirect_status_code = redirect;
    } else {
      r.error("https_redirect_status_code",
              fmt::format("status {} is not one of: 426, 301, 302, 307, 308", redirect));
    }
  }
  r.get("request_buffering", route.request_buffering);
  r.get("response_buffering", route.response_buffering);
  read_duration_field(r, "timeout", route.timeout);
  if (const ConfigNode* policy = r.child("retry_policy")) {
    RetryPolicy p;
    if (read_retry_policy(*policy, r.path_of("retry_policy"), errors_, p)) {
      route.retry_policy = std::move(p);
    }
  }
  read_common(r, route.id, route.tags);
  reject_not_yet(r, kRouteFieldsNotYet);

  register_entity(routes_, route.id, route.name, static_cast<int>(index), r);
  route.yaml_path = std::move(path);
  config_.routes.push_back(std::move(route));

  if (const ConfigNode* plugins = r.sequence("plugins")) {
    read_plugins(*plugins, r.path_of("plugins"),
                 Parent{EntityType::kRoute, static_cast<int>(index)});
  }
  r.finish();
}

void KongSchema::read_consumers(const ConfigNode& list, const std::string& path) {
  for (size_t i = 0; i < list.size(); ++i) read_consumer(list[i], path_index(path, i));
}

void KongSchema::read_consumer(const ConfigNode& node, std::string path) {
  ObjectReader r(node, path, errors_);
  if (!r.valid()) return;
  Consumer c;
  c.mark = node.mark();
  bool has_username = r.get("username", c.username);
  bool has_custom_id = r.get("custom_id", c.custom_id);
  if (has_username && c.username.empty()) r.error("username", "username must not be empty");
  if (has_custom_id && c.custom_id.empty()) r.error("custom_id", "custom_id must not be empty");
  if (!r.has("username") && !r.has("custom_id")) {
    errors_.add(node, path, "a consumer needs a 'username' or a 'custom_id'");
  }
  read_common(r, c.id, c.tags);
  reject_not_yet(r, kConsumerFieldsNotYet);

  int index = static_cast<int>(config_.consumers.size());
  register_entity(consumers_, c.id, c.username, index, r);
  if (!c.custom_id.empty()) {
    register_unique(consumer_custom_ids_, "consumer", "custom_id", c.custom_id, index, r,
                    "custom_id");
  }
  c.yaml_path = std::move(path);
  config_.consumers.push_back(std::move(c));

  if (const ConfigNode* plugins = r.sequence("plugins")) {
    read_plugins(*plugins, r.path_of("plugins"), Parent{EntityType::kConsumer, index});
  }
  static constexpr std::array<std::pair<std::string_view, CredentialType>, 4> kCredentials = {{
      {"keyauth_credentials", CredentialType::kKeyAuth},
      {"basicauth_credentials", CredentialType::kBasicAuth},
      {"acls", CredentialType::kAcl},
      {"jwt_secrets", CredentialType::kJwt},
  }};
  for (const auto& [key, type] : kCredentials) {
    if (const ConfigNode* list = r.sequence(key)) read_credentials(*list, r.path_of(key), type, index);
  }
  if (const ConfigNode* list = r.sequence("mtls_auth_credentials")) {
    read_mtls_auth_credentials(*list, r.path_of("mtls_auth_credentials"), index);
  }
  r.finish();
}

void KongSchema::read_plugins(const ConfigNode& list, const std::string& path,
                              std::optional<Parent> parent) {
  for (size_t i = 0; i < list.size(); ++i) read_plugin(list[i], path_index(path, i), parent);
}

void KongSchema::read_plugin(const ConfigNode& node, std::string path,
                             std::optional<Parent> parent) {
  ObjectReader r(node, path, errors_);
  if (!r.valid()) return;
  PluginInstance p;
  p.mark = node.mark();
  const size_t index = config_.plugins.size();
  r.require("name");
  if (r.get("name", p.name) && p.name.empty()) r.error("name", "plugin name must not be empty");
  if (r.get("instance_name", p.instance_name)) {
    if (std::string e = check_name(p.instance_name); !e.empty()) {
      r.error("instance_name", std::move(e));
    }
  }
  r.get("enabled", p.enabled);
  if (r.get("protocols", p.protocols)) {
    if (p.protocols.empty()) r.error("protocols", "protocols must not be empty");
    const ConfigNode& list = *node.find("protocols");
    for (size_t i = 0; i < p.protocols.size(); ++i) {
      const std::string& proto = p.protocols[i];
      std::string e;
      if (proto == "http" || proto == "https" || proto == "grpc" || proto == "grpcs") continue;
      if (contains(kProtocolsNotYet, proto)) {
        e = fmt::format(
            "protocol \"{}\" is not supported yet for plugins (supported: grpc, "
            "grpcs, http, https)",
            proto);
      } else {
        e = fmt::format("unknown protocol \"{}\"; expected grpc, grpcs, http or https", proto);
      }
      errors_.add(list[i], path_index(r.path_of("protocols"), i), std::move(e));
    }
  }
  p.config = r.map("config");

  static constexpr std::array<std::pair<std::string_view, EntityType>, 3> kScopes = {{
      {"service", EntityType::kService},
      {"route", EntityType::kRoute},
      {"consumer", EntityType::kConsumer},
  }};
  for (const auto& [key, type] : kScopes) {
    if (parent && parent->type == type) {
      r.reject(key, fmt::format("a plugin nested under a {} must not have a '{}' field; it "
                                "applies to that {} already",
                                key, key, key));
    } else {
      size_t errors_before = errors_.count();
      read_reference(r, key, type, true, index);
      if (errors_.count() != errors_before) plugins_with_bad_scope_.insert(index);
    }
  }
  if (parent) {
    switch (parent->type) {
      case EntityType::kService:
        p.service = parent->index;
        break;
      case EntityType::kRoute:
        p.route = parent->index;
        break;
      case EntityType::kConsumer:
        p.consumer = parent->index;
        break;
    }
  }
  read_common(r, p.id, p.tags);
  reject_not_yet(r, kPluginFieldsNotYet);

  if (!p.id.empty())
    register_unique(plugin_ids_, "plugin", "id", p.id, static_cast<int>(index), r, "id");
  if (!p.instance_name.empty()) {
    register_unique(plugin_instance_names_, "plugin", "instance_name", p.instance_name,
                    static_cast<int>(index), r, "instance_name");
  }
  plugin_name_nodes_.push_back(node.find("name"));
  p.yaml_path = std::move(path);
  config_.plugins.push_back(std::move(p));
  r.finish();
}

void KongSchema::read_reference(ObjectReader& r, std::string_view key, EntityType target,
                                bool from_plugin, size_t owner) {
  const ConfigNode* value = r.child(key);
  if (value == nullptr) return;
  const Registry& reg = registry(target);
  PendingRef ref{target, from_plugin, owner, Lookup::kIdOrName, {}, value, key, {}};
  if (value->is_map()) {
    ObjectReader m(*value, r.path_of(key), errors_);
    std::string id, name;
    bool has_id = m.get("id", id);
    bool has_name = m.get(reg.name_field, name);
    m.finish();
    if (has_id && has_name) {
      errors_.add(*value, m.path(),
                  fmt::format("give either 'id' or '{}', not both", reg.name_field));
      return;
    }
    if (has_id) {
      ref.lookup = Lookup::kId;
      ref.value = std::move(id);
      ref.sub_key = "id";
    } else if (has_name) {
      ref.lookup = Lookup::kName;
      ref.value = std::move(name);
      ref.sub_key = reg.name_field;
    } else {
      if (!m.has("id") && !m.has(reg.name_field)) {
        errors_.add(*value, m.path(),
                    fmt::format("a {} reference needs 'id' or '{}'", reg.type, reg.name_field));
      }
      return;
    }
    ref.at = value->find(ref.sub_key);
  } else if (value->is_scalar() && !value->as_bool()) {
    ref.value = value->scalar();
  } else {
    core::read_string(*value, r.path_of(key), errors_, ref.value);  // records the type error
    return;
  }
  refs_.push_back(std::move(ref));
}

const KongSchema::Registry& KongSchema::registry(EntityType type) const {
  switch (type) {
    case EntityType::kService:
      return services_;
    case EntityType::kRoute:
      return routes_;
    case EntityType::kConsumer:
      break;
  }
  return consumers_;
}

void KongSchema::resolve_references() {
  for (const PendingRef& ref : refs_) {
    const Registry& reg = registry(ref.target);
    int found = -1;
    if (ref.lookup != Lookup::kName) {
      if (auto it = reg.by_id.find(ref.value); it != reg.by_id.end()) found = it->second.first;
    }
    if (found < 0 && ref.lookup != Lookup::kId) {
      if (auto it = reg.by_name.find(ref.value); it != reg.by_name.end()) found = it->second.first;
    }
    if (found < 0) {
      std::string message;
      switch (ref.lookup) {
        case Lookup::kIdOrName:
          message = fmt::format("{} \"{}\" not found: no {} has that {} or id", reg.type, ref.value,
                                reg.type, reg.name_field);
          break;
        case Lookup::kId:
          message = fmt::format("no {} has id \"{}\"", reg.type, ref.value);
          break;
        case Lookup::kName:
          message = fmt::format("no {} has {} \"{}\"", reg.type, reg.name_field, ref.value);
          break;
      }
      const std::string& owner_path = ref.from_plugin ? config_.plugins[ref.owner].yaml_path
                                                      : config_.routes[ref.owner].yaml_path;
      std::string path = core::path_key(owner_path, ref.key);
      if (!ref.sub_key.empty()) path = core::path_key(path, ref.sub_key);
      errors_.add(*ref.at, std::move(path), std::move(message));
      if (ref.from_plugin) plugins_with_bad_scope_.insert(ref.owner);
      continue;
    }
    if (!ref.from_plugin) {
      config_.routes[ref.owner].service = found;
      continue;
    }
    PluginInstance& p = config_.plugins[ref.owner];
    switch (ref.target) {
      case EntityType::kService:
        p.service = found;
        break;
      case EntityType::kRoute:
        p.route = found;
        break;
      case EntityType::kConsumer:
        p.consumer = found;
        break;
    }
  }
}

std::string KongSchema::describe_entity(EntityType type, int index) const {
  std::string label;
  switch (type) {
    case EntityType::kService: {
      const Service& s = config_.services[static_cast<size_t>(index)];
      label = !s.name.empty() ? s.name : !s.id.empty() ? s.id : s.yaml_path;
      break;
    }
    case EntityType::kRoute: {
      const Route& r = config_.routes[static_cast<size_t>(index)];
      label = !r.name.empty() ? r.name : !r.id.empty() ? r.id : r.yaml_path;
      break;
    }
    case EntityType::kConsumer: {
      const Consumer& c = config_.consumers[static_cast<size_t>(index)];
      label = !c.username.empty() ? c.username : !c.id.empty() ? c.id : c.custom_id;
      break;
    }
  }
  return fmt::format("{} \"{}\"", registry(type).type, label);
}

void KongSchema::check_plugin_uniqueness() {
  // Kong's plugin cache key: one instance per (name, service, route, consumer).
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < config_.plugins.size(); ++i) {
    const PluginInstance& p = config_.plugins[i];
    if (p.name.empty() || plugins_with_bad_scope_.count(i) != 0) continue;
    std::string key = fmt::format("{}\x1f{}\x1f{}\x1f{}", p.name, p.service, p.route, p.consumer);
    auto [it, inserted] = seen.emplace(std::move(key), i);
    if (inserted) continue;
    std::vector<std::string> scope;
    if (p.service >= 0) scope.push_back(describe_entity(EntityType::kService, p.service));
    if (p.route >= 0) scope.push_back(describe_entity(EntityType::kRoute, p.route));
    if (p.consumer >= 0) scope.push_back(describe_entity(EntityType::kConsumer, p.consumer));
    std::string where =
        scope.empty() ? "globally" : "for " + fmt::format("{}", fmt::join(scope, " and "));
    const PluginInstance& first = config_.plugins[it->second];
    const ConfigNode* at = plugin_name_nodes_[i];
    errors_.add(core::ConfigError{
        at->file(), at->mark(), core::path_key(p.yaml_path, "name"),
        fmt::format("plugin \"{}\" is already configured {} (at line {}); a plugin may appear only "
                    "once per service/route/consumer combination",
                    p.name, where, first.mark.line)});
  }
}

}  // namespace portico::config
