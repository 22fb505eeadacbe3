#include "config/process_settings.h"

#include <fmt/format.h>

#include "config/validators.h"
#include "core/object_reader.h"

namespace portico::config {
namespace {

using core::ConfigNode;
using core::ObjectReader;

constexpr uint32_t kMaxMs = 2147483646;  // the same bound Kong uses for its timeouts

void read_limits(const ConfigNode& node, const std::string& path, core::ConfigErrors& errors,
                 ProcessSettings& out) {
  ObjectReader r(node, path, errors);
  r.get("max_header_bytes", out.max_header_bytes, 1024u, 16u << 20);
  r.get("max_headers", out.max_headers, 1u, 10000u);
  r.get("max_uri_bytes", out.max_uri_bytes, 64u, 16u << 20);
  r.get("max_body_bytes", out.max_body_bytes, uint64_t{0}, UINT64_MAX);
  r.get("max_connections", out.max_connections, 0u, 1u << 20);
  r.get("max_concurrent_requests", out.max_concurrent_requests, 0u, 1u << 20);
  r.finish();
}

void read_timeouts(const ConfigNode& node, const std::string& path, core::ConfigErrors& errors,
                   ProcessSettings& out) {
  ObjectReader r(node, path, errors);
  r.get("client_header", out.client_header_timeout_ms, 1u, kMaxMs);
  r.get("client_body", out.client_body_timeout_ms, 1u, kMaxMs);
  r.get("keepalive", out.keepalive_timeout_ms, 0u, kMaxMs);
  r.get("drain", out.drain_timeout_ms, 0u, kMaxMs);
  r.finish();
}

void read_upstream_keepalive(const ConfigNode& node, const std::string& path,
                             core::ConfigErrors& errors, ProcessSettings& out) {
  ObjectReader r(node, path, errors);
  r.get("pool_size", out.upstream_keepalive_pool_size, 0u, 1000000u);
  r.get("max_requests", out.upstream_keepalive_max_requests, 0u, kMaxMs);
  r.get("idle_timeout", out.upstream_keepalive_idle_timeout_ms, 0u, kMaxMs);
  r.finish();
}

void read_dns(const ConfigNode& node, const std::string& path, core::ConfigErrors& errors,
              DnsSettings& out) {
  ObjectReader r(node, path, errors);
  if (!r.valid()) return;
  std::vector<std::string> resolvers;
  if (r.get("resolvers", resolvers)) {
    const ConfigNode& list = *node.find("resolvers");
    out.resolvers.clear();
    for (size_t i = 0; i < resolvers.size(); ++i) {
      Listen l;
      // A bare address means port 53.
      std::string text = resolvers[i];
      if (is_ipv4(text)) text += ":53";
      if (is_ipv6(text)) text = "[" + text + "]:53";
      if (std::string e = parse_listen(text, l); !e.empty() || l.port == 0 || l.ssl) {
        errors.add(list[i], core::path_index(r.path_of("resolvers"), i),
                   fmt::format("resolver \"{}\" must be an IP address, optionally with :port "
                               "(e.g. \"10.0.0.2\" or \"[fd00::2]:5353\")",
                               resolvers[i]));
        continue;
      }
      out.resolvers.push_back(std::move(l));
    }
  }
  r.get("hosts_file", out.hosts_file);
  r.get("timeout", out.timeout_ms, 1u, 60000u);
  r.get("attempts", out.attempts, 1u, 10u);
  r.get("min_ttl", out.min_ttl, 1u, 86400u);  // TTL 0 records would be asked in a loop
  r.get("max_ttl", out.max_ttl, 1u, 604800u);
  r.get("not_found_ttl", out.not_found_ttl, 0u, 86400u);
  r.get_enum("family", out.family, {"v4_preferred", "v4_only", "v6_only", "all"});
  if (out.min_ttl > out.max_ttl) {
    r.error("min_ttl", fmt::format("min_ttl ({}) must not exceed max_ttl ({})", out.min_ttl, out.max_ttl));
  }
  r.finish();
}

}  // namespace

void read_process_settings(const ConfigNode& node, const std::string& path,
                           core::ConfigErrors& errors, ProcessSettings& out) {
  ObjectReader r(node, path, errors);
  if (!r.valid()) return;

  std::vector<std::string> listen;
  if (r.get("listen", listen)) {
    const ConfigNode& list = *node.find("listen");
    std::vector<Listen> parsed;
    bool ok = true;
    for (size_t i = 0; i < listen.size(); ++i) {
      Listen l;
      std::string item_path = core::path_index(r.path_of("listen"), i);
      if (std::string e = parse_listen(listen[i], l); !e.empty()) {
        errors.add(list[i], item_path, std::move(e));
        ok = false;
        continue;
      }
      for (const Listen& earlier : parsed) {
        if (earlier.host == l.host && earlier.port == l.port && l.port != 0) {
          errors.add(list[i], item_path,
                     fmt::format("listen address \"{}\" is given twice", listen[i]));
          ok = false;
        }
      }
      parsed.push_back(std::move(l));
    }
    if (listen.empty()) {
      r.error("listen", "listen must name at least one address, e.g. [\"0.0.0.0:8000\"]");
    } else if (ok) {
      out.listen = std::move(parsed);
    }
  }

  std::string admin;
  if (r.get("admin_listen", admin)) {
    Listen l;
    if (admin == "off") {
      out.admin_listen.reset();
    } else if (std::string e = parse_listen(admin, l); !e.empty()) {
      r.error("admin_listen", e + " (or `off` to disable the admin API)");
    } else if (l.ssl) {
      r.error("admin_listen", fmt::format("admin_listen \"{}\": the admin API does not serve TLS; "
                                          "keep it on a loopback address", admin));
    } else {
      out.admin_listen = l;
    }
  }

  r.get("workers", out.workers, 0, 1024);
  r.get_enum("log_level", out.log_level, {"debug", "info", "warn", "error"});
  std::string access_log;
  if (r.get("access_log", access_log)) {
    if (access_log.empty()) {
      r.error("access_log", "access_log must be off, stdout, stderr or a file path");
    } else {
      out.access_log = std::move(access_log);
    }
  }
  if (const ConfigNode* fields = r.map("access_log_fields")) {
    auto compiled = std::make_shared<filter::LogFields>();
    if (fields->empty()) {
      r.error("access_log_fields", "access_log_fields must name at least one field (or be left out for the default line)");
    } else if (compiled->read(*fields, r.path_of("access_log_fields"), errors)) {
      for (size_t i = 0; i < fields->size(); ++i) out.access_log_fields.emplace_back(fields->key(i), (*fields)[i].scalar());
      out.access_log_fields_compiled = std::move(compiled);
    }
  }
  std::vector<std::string> headers;
  if (r.get("headers", headers)) {
    bool ok = true;
    for (const auto& h : headers) {
      if (h != "latency_tokens" && h != "server_timing") {
        r.error("headers", fmt::format("unknown header group \"{}\"; expected latency_tokens or server_timing", h));
        ok = false;
      }
    }
    if (ok) out.headers = std::move(headers);
  }
  if (const ConfigNode* limits = r.child("limits")) {
    read_limits(*limits, r.path_of("limits"), errors, out);
  }
  if (const ConfigNode* timeouts = r.child("timeouts")) {
    read_timeouts(*timeouts, r.path_of("timeouts"), errors, out);
  }
  if (const ConfigNode* keepalive = r.child("upstream_keepalive")) {
    read_upstream_keepalive(*keepalive, r.path_of("upstream_keepalive"), errors, out);
  }
  if (const ConfigNode* dns = r.child("dns")) read_dns(*dns, r.path_of("dns"), errors, out.dns);
  r.finish();
}

}  // namespace portico::config
