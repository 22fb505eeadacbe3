// Kong `upstreams` with nested `targets`: names a service's `host` can point at, balanced over
// weighted targets with Kong's algorithms and hash policies (plus Portico's least-request).
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <string_view>

#include "config/kong_schema.h"
#include "config/validators.h"
#include "core/object_reader.h"

namespace portico::config {
namespace {

using core::ConfigNode;
using core::ObjectReader;
using core::path_index;
using core::path_key;

constexpr std::array kUpstreamFieldsNotYet = {"use_srv_name"};

// "host", "host:port", "[v6]" or "[v6]:port"; Kong's default target port is 8000.
std::string parse_target(const std::string& text, UpstreamTarget& t) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return "unterminated IPv6 address";
    host = text.substr(0, close + 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return "expected \":port\" after the IPv6 address";
      port = text.substr(close + 2);
    }
  } else {
    auto colon = text.rfind(':');
    if (colon != std::string::npos && text.find(':') != colon) return "IPv6 addresses must be written in brackets";
    host = colon == std::string::npos ? text : text.substr(0, colon);
    if (colon != std::string::npos) port = text.substr(colon + 1);
  }
  if (std::string e = check_service_host(host); !e.empty()) return e;
  t.host = host;
  if (!port.empty()) {
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) return "port must be a number from 1 to 65535";
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535 || port.size() > 5) return "port must be a number from 1 to 65535";
    t.port = static_cast<uint16_t>(value);
  }
  return "";
}

// Kong's validate_cookie_name: an RFC 6265 cookie-name, i.e. an HTTP token.
std::string check_cookie_name(std::string_view name) {
  constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={}";
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || kSeparators.find(c) != std::string_view::npos) {
      return fmt::format("hash_on_cookie \"{}\" is not a valid cookie name (no spaces, control "
                         "characters or any of ()<>@,;:\\\"/[]?={{}})",
                         name);
    }
  }
  return "";
}

// A path (Kong's typedefs.path) that can also stand as a Set-Cookie Path attribute (no ';').
std::string check_cookie_path(std::string_view path) {
  if (std::string e = check_service_path(path); !e.empty()) return "hash_on_cookie_path " + e;
  if (path.find(';') != std::string_view::npos) {
    return fmt::format("hash_on_cookie_path \"{}\" must not contain ';'", path);
  }
  return "";
}

// Kong writes health-check durations in seconds and allows fractions; the model keeps ms.
void get_seconds(ObjectReader& r, std::string_view key, uint32_t& ms) {
  double seconds = 0;
  if (r.get(key, seconds, 0.0, 65535.0)) ms = static_cast<uint32_t>(std::llround(seconds * 1000));
}

void get_statuses(ObjectReader& r, std::string_view key, std::vector<int>& out) {
  const ConfigNode* list = r.sequence(key);
  if (!list) return;
  const std::string path = r.path_of(key);
  std::vector<int> statuses;
  for (size_t i = 0; i < list->size(); ++i) {
    int64_t status = 0;
    if (core::read_int((*list)[i], path_index(path, i), r.errors(), status, 100, 999)) {
      statuses.push_back(static_cast<int>(status));
    }
  }
  out = std::move(statuses);
}

// An HTTP field name (RFC 9110 token).
std::string check_header_name(std::string_view name) {
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  bool ok = !name.empty();
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                kSpecials.find(c) != std::string_view::npos);
  }
  return ok ? "" : fmt::format("\"{}\" is not a valid header name", name);
}

// Kong's `headers`: a map of header name to a list of values, each sent as its own field.
void get_probe_headers(ObjectReader& r, HealthChecks::Active& a) {
  const ConfigNode* map = r.map("headers");
  if (!map) return;
  const std::string path = r.path_of("headers");
  for (size_t i = 0; i < map->size(); ++i) {
    const std::string& name = map->key(i);
    const std::string item_path = path_key(path, name);
    if (std::string e = check_header_name(name); !e.empty()) {
      r.errors().add(*map, map->key_mark(i), item_path, e);
      continue;
    }
    const ConfigNode& values = (*map)[i];
    if (!values.is_sequence()) {
      r.errors().add(*map, values.mark(), item_path, "expected a list of strings, got " + core::describe(values));
      continue;
    }
    std::vector<std::string> list;
    for (size_t v = 0; v < values.size(); ++v) {
      std::string value;
      if (!core::read_string(values[v], path_index(item_path, v), r.errors(), value)) continue;
      if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
        r.errors().add(*map, values[v].mark(), path_index(item_path, v),
                       "header values must not contain CR, LF or NUL");
        continue;
      }
      list.push_back(std::move(value));
    }
    a.headers.emplace_back(name, std::move(list));
  }
}

// The `healthy` and `unhealthy` blocks, which active and passive checks share (only active checks
// have an `interval`: pass nullptr for passive ones, and the key is then unknown).
void read_healthy(ObjectReader& r, uint32_t* interval, std::vector<int>& statuses, uint32_t& successes) {
  const ConfigNode* node = r.map("healthy");
  if (!node) return;
  ObjectReader h(*node, r.path_of("healthy"), r.errors());
  if (interval) get_seconds(h, "interval", *interval);
  get_statuses(h, "http_statuses", statuses);
  h.get("successes", successes, 0u, 255u);
  h.finish();
}

void read_unhealthy(ObjectReader& r, uint32_t* interval, std::vector<int>& statuses, uint32_t& http_failures,
                    uint32_t& tcp_failures, uint32_t& timeouts) {
  const ConfigNode* node = r.map("unhealthy");
  if (!node) return;
  ObjectReader u(*node, r.path_of("unhealthy"), r.errors());
  if (interval) get_seconds(u, "interval", *interval);
  get_statuses(u, "http_statuses", statuses);
  u.get("http_failures", http_failures, 0u, 255u);
  u.get("tcp_failures", tcp_failures, 0u, 255u);
  u.get("timeouts", timeouts, 0u, 255u);
  u.finish();
}

void read_active_healthcheck(const ConfigNode& node, const std::string& path, core::ConfigErrors& errors,
                             HealthChecks::Active& a) {
  ObjectReader r(node, path, errors);
  if (!r.valid()) return;
  if (r.get_enum("type", a.type, {"http", "https", "tcp", "grpc", "grpcs"}) && a.type != "http" &&
      a.type != "https" && a.type != "tcp") {
    r.error("type", fmt::format("active health check type \"{}\" is not supported yet (supported: http, https, tcp)",
                                a.type));
  }
  if (r.get("http_path", a.http_path)) {
    if (std::string e = check_service_path(a.http_path); !e.empty()) r.error("http_path", "http_path " + e);
  }
  get_seconds(r, "timeout", a.timeout);
  r.get("concurrency", a.concurrency, 1u, 2147483647u);
  get_probe_headers(r, a);
  // Like Kong, both only matter for type https and are accepted (without effect) otherwise.
  r.get("https_verify_certificate", a.https_verify_certificate);
  if (r.get("https_sni", a.https_sni)) {
    for (char& c : a.https_sni) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    std::string host = a.https_sni;
    if (std::string e = check_route_host(host); !e.empty() || a.https_sni.find('*') != std::string::npos ||
                                                 a.https_sni.find(':') != std::string::npos) {
      r.error("https_sni", fmt::format("https_sni \"{}\" is not a valid server name", a.https_sni));
    }
  }
  read_healthy(r, &a.healthy_interval, a.healthy_http_statuses, a.healthy_successes);
  read_unhealthy(r, &a.unhealthy_interval, a.unhealthy_http_statuses, a.unhealthy_http_failures,
                 a.unhealthy_tcp_failures, a.unhealthy_timeouts);
  r.finish();
}

// Kong's passive checks, plus Portico's ejection back-off (ejection_base, ejection_max).
void read_passive_healthcheck(const ConfigNode& node, const std::string& path, core::ConfigErrors& errors,
                              HealthChecks::Passive& p) {
  ObjectReader r(node, path, errors);
  if (!r.valid()) return;
  if (r.get_enum("type", p.type, {"http", "https", "tcp", "grpc", "grpcs"}) && p.type != "http" && p.type != "tcp") {
    r.error("type",
            fmt::format("passive health check type \"{}\" is not supported yet (supported: http, tcp)", p.type));
  }
  get_seconds(r, "ejection_base", p.ejection_base);
  get_seconds(r, "ejection_max", p.ejection_max);
  if (p.ejection_base > 0 && p.ejection_max < p.ejection_base) {
    r.error("ejection_max", "ejection_max must not be less than ejection_base");
  }
  read_healthy(r, nullptr, p.healthy_http_statuses, p.healthy_successes);
  read_unhealthy(r, nullptr, p.unhealthy_http_statuses, p.unhealthy_http_failures, p.unhealthy_tcp_failures,
                 p.unhealthy_timeouts);
  r.finish();
}

void read_healthchecks(ObjectReader& r, HealthChecks& hc) {
  const ConfigNode* node = r.map("healthchecks");
  if (!node) return;
  ObjectReader h(*node, r.path_of("healthchecks"), r.errors());
  if (!h.valid()) return;
  if (const ConfigNode* active = h.map("active")) {
    read_active_healthcheck(*active, h.path_of("active"), r.errors(), hc.active);
  }
  if (const ConfigNode* passive = h.map("passive")) {
    read_passive_healthcheck(*passive, h.path_of("passive"), r.errors(), hc.passive);
  }
  h.get("threshold", hc.threshold, 0.0, 100.0);
  h.finish();
}

}  // namespace

void KongSchema::read_upstreams(const ConfigNode& list, const std::string& path) {
  config_.upstreams.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) read_upstream(list[i], path_index(path, i));
}

void KongSchema::read_upstream(const ConfigNode& node, std::string path) {
  ObjectReader r(node, path, errors_);
  if (!r.valid()) return;
  Upstream u;
  u.mark = node.mark();
  r.require("name");
  if (r.get("name", u.name)) {
    // The name stands in for a host name in services' `host`.
    std::string host = u.name;
    if (std::string e = check_service_host(host); !e.empty()) r.error("name", "upstream name " + e);
  }
  bool algorithm_given = r.get_enum("algorithm", u.algorithm,
                                    {"round-robin", "consistent-hashing", "least-connections", "least-request",
                                     "latency"});
  if (algorithm_given && u.algorithm == "latency") {
    r.error("algorithm", "algorithm \"latency\" is not supported yet (supported: round-robin, consistent-hashing, "
                         "least-connections, least-request)");
  }
  r.get_enum("hash_on", u.hash_on, {"none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"});
  r.get_enum("hash_fallback", u.hash_fallback,
             {"none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"});
  r.get("hash_on_header", u.hash_on_header);
  r.get("hash_fallback_header", u.hash_fallback_header);
  if (r.get("hash_on_cookie", u.hash_on_cookie) && !u.hash_on_cookie.empty()) {
    if (std::string e = check_cookie_name(u.hash_on_cookie); !e.empty()) r.error("hash_on_cookie", e);
  }
  if (r.get("hash_on_cookie_path", u.hash_on_cookie_path)) {
    if (std::string e = check_cookie_path(u.hash_on_cookie_path); !e.empty()) r.error("hash_on_cookie_path", e);
  }
  r.get("hash_on_query_arg", u.hash_on_query_arg);
  r.get("hash_fallback_query_arg", u.hash_fallback_query_arg);
  r.get("hash_on_uri_capture", u.hash_on_uri_capture);
  r.get("hash_fallback_uri_capture", u.hash_fallback_uri_capture);
  r.get("slots", u.slots, 10u, 65536u);
  if (r.get("host_header", u.host_header)) {
    std::string h = u.host_header;
    if (std::string e = check_service_host(h); !e.empty()) r.error("host_header", "host_header " + e);
  }
  read_circuit_breakers(r, u.circuit_breakers);  // Portico
  read_certificate_refs(r, -1, static_cast<int>(config_.upstreams.size()));
  read_healthchecks(r, u.healthchecks);
  read_common(r, u.id, u.tags);
  for (std::string_view field : kUpstreamFieldsNotYet) {
    r.reject(field, fmt::format("Kong field '{}' is not supported yet", field));
  }

  // Kong's rules for hash policies.
  auto need = [&](const std::string& on, std::string_view kind, const std::string& value, std::string_view key,
                  std::string_view which) {
    if (on == kind && value.empty()) {
      r.error(which, fmt::format("'{}' is required when {} is '{}'", key, which, kind));
    }
  };
  need(u.hash_on, "header", u.hash_on_header, "hash_on_header", "hash_on");
  need(u.hash_on, "cookie", u.hash_on_cookie, "hash_on_cookie", "hash_on");
  need(u.hash_on, "query_arg", u.hash_on_query_arg, "hash_on_query_arg", "hash_on");
  need(u.hash_on, "uri_capture", u.hash_on_uri_capture, "hash_on_uri_capture", "hash_on");
  need(u.hash_fallback, "header", u.hash_fallback_header, "hash_fallback_header", "hash_fallback");
  need(u.hash_fallback, "cookie", u.hash_on_cookie, "hash_on_cookie", "hash_fallback");
  need(u.hash_fallback, "query_arg", u.hash_fallback_query_arg, "hash_fallback_query_arg", "hash_fallback");
  need(u.hash_fallback, "uri_capture", u.hash_fallback_uri_capture, "hash_fallback_uri_capture", "hash_fallback");
  if (u.hash_fallback != "none") {
    // A missing cookie is minted, so `cookie` always yields a key: nothing can follow it. As a
    // fallback it is fine (Kong: e.g. consumers by id, anonymous clients by a minted cookie).
    if (u.hash_on == "none" || u.hash_on == "cookie") {
      r.error("hash_fallback", fmt::format("hash_fallback must be 'none' when hash_on is '{}'", u.hash_on));
    } else if (u.hash_fallback == u.hash_on && u.hash_on != "header" && u.hash_on != "query_arg" &&
               u.hash_on != "uri_capture") {
      r.error("hash_fallback", "hash_fallback must differ from hash_on");
    }
  }
  if (u.hash_on != "none") {
    if (!algorithm_given) {
      // Kong before 3.x balanced on hash_on alone; keep such files meaning what they meant.
      u.algorithm = "consistent-hashing";
    } else if (u.algorithm != "consistent-hashing") {
      r.error("hash_on", fmt::format("hash_on '{}' needs algorithm: consistent-hashing (got '{}')", u.hash_on,
                                     u.algorithm));
    }
  }

  if (const ConfigNode* targets = r.sequence("targets")) {
    std::unordered_map<std::string, core::Mark> seen;
    std::string tpath = r.path_of("targets");
    for (size_t i = 0; i < targets->size(); ++i) {
      const ConfigNode& tn = (*targets)[i];
      ObjectReader tr(tn, path_index(tpath, i), errors_);
      if (!tr.valid()) continue;
      UpstreamTarget t;
      t.mark = tn.mark();
      t.yaml_path = tr.path();
      tr.require("target");
      if (tr.get("target", t.target)) {
        if (std::string e = parse_target(t.target, t); !e.empty()) {
          tr.error("target", fmt::format("target \"{}\": {}", t.target, e));
        } else {
          std::string key = t.host + ":" + std::to_string(t.port);
          auto [it, inserted] = seen.emplace(key, tn.mark());
          if (!inserted) {
            tr.error("target", fmt::format("duplicate target \"{}\" (first defined at line {})", key, it->second.line));
          }
        }
      }
      tr.get("weight", t.weight, 0u, 65535u);
      read_common(tr, t.id, t.tags);
      tr.reject("upstream", "a nested target belongs to its upstream; remove 'upstream'");
      tr.finish();
      u.targets.push_back(std::move(t));
    }
  }
  r.finish();
  u.yaml_path = path;
  register_entity(upstreams_, u.id, u.name, static_cast<int>(config_.upstreams.size()), r);
  config_.upstreams.push_back(std::move(u));
}

}  // namespace portico::config
