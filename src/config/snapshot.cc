#include "config/snapshot.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "auth/jwk.h"
#include "core/object_reader.h"
#include "http/header_map.h"
#include "session/tls_server.h"

namespace portico::config {
namespace {

// Kong's plugin precedence, most specific first: consumer+route+service, consumer+route,
// consumer+service, route+service, consumer, route, service, global. For each plugin name, the
// applicable instance with the highest rank runs. -1: the instance does not apply to the route.
int scope_rank(const PluginInstance& p, int route_index, int service_index) {
  if (p.route >= 0 && p.route != route_index) return -1;
  if (p.service >= 0 && p.service != service_index) return -1;
  const bool on_route = p.route >= 0, on_service = p.service >= 0, on_consumer = p.consumer >= 0;
  if (on_consumer) {
    if (on_route && on_service) return 7;
    if (on_route) return 6;
    if (on_service) return 5;
    return 3;
  }
  if (on_route && on_service) return 4;
  if (on_route) return 2;
  if (on_service) return 1;
  return 0;
}

void configure_health_check(const HealthChecks& hc, upstream::HealthCheckSettings& h) {
  const HealthChecks::Active& a = hc.active;
  h.type = a.type == "tcp"     ? upstream::HealthCheckSettings::Type::kTcp
           : a.type == "https" ? upstream::HealthCheckSettings::Type::kHttps
                               : upstream::HealthCheckSettings::Type::kHttp;
  h.https_sni = a.https_sni;
  h.http_path = a.http_path;
  h.timeout = std::chrono::milliseconds(a.timeout);
  h.concurrency = a.concurrency;
  h.headers.clear();
  for (const auto& [name, values] : a.headers) {
    for (const auto& v : values) h.headers += name + ": " + v + "\r\n";
  }
  h.healthy_interval = std::chrono::milliseconds(a.healthy_interval);
  h.unhealthy_interval = std::chrono::milliseconds(a.unhealthy_interval);
  h.healthy_statuses = a.healthy_http_statuses;
  h.unhealthy_statuses = a.unhealthy_http_statuses;
  h.successes = a.healthy_successes;
  h.http_failures = a.unhealthy_http_failures;
  h.tcp_failures = a.unhealthy_tcp_failures;
  h.timeouts = a.unhealthy_timeouts;
  h.threshold = hc.threshold;
  const HealthChecks::Passive& p = hc.passive;
  h.passive.type = p.type == "tcp" ? upstream::PassiveSettings::Type::kTcp : upstream::PassiveSettings::Type::kHttp;
  h.passive.healthy_statuses = p.healthy_http_statuses;
  h.passive.unhealthy_statuses = p.unhealthy_http_statuses;
  h.passive.successes = p.healthy_successes;
  h.passive.http_failures = p.unhealthy_http_failures;
  h.passive.tcp_failures = p.unhealthy_tcp_failures;
  h.passive.timeouts = p.unhealthy_timeouts;
  h.passive.ejection_base = std::chrono::milliseconds(p.ejection_base);
  h.passive.ejection_max = std::chrono::milliseconds(p.ejection_max);
}

// A service whose host names an upstream balances over the upstream's targets (every address of
// a target carrying the target's weight) with its algorithm and hash policy.
void configure_upstream(const Upstream& u, upstream::Cluster& c) {
  c.upstream_name = u.name;
  c.algorithm = upstream::parse_algorithm(u.algorithm).value_or(upstream::Algorithm::kRoundRobin);
  c.slots = u.slots;
  c.hash.hash_on = upstream::parse_hash_on(u.hash_on).value_or(upstream::HashOn::kNone);
  c.hash.hash_fallback = upstream::parse_hash_on(u.hash_fallback).value_or(upstream::HashOn::kNone);
  c.hash.hash_on_header = u.hash_on_header;
  c.hash.hash_fallback_header = u.hash_fallback_header;
  c.hash.hash_on_cookie = u.hash_on_cookie;
  c.hash.hash_on_cookie_path = u.hash_on_cookie_path;
  c.hash.hash_on_query_arg = u.hash_on_query_arg;
  c.hash.hash_fallback_query_arg = u.hash_fallback_query_arg;
  c.hash.hash_on_uri_capture = u.hash_on_uri_capture;
  c.hash.hash_fallback_uri_capture = u.hash_fallback_uri_capture;
  if (!u.host_header.empty()) c.host_header = u.host_header;
  configure_health_check(u.healthchecks, c.health_check);
  c.targets.clear();
  for (const auto& t : u.targets) c.targets.push_back({t.host, t.port, t.weight});
}

// The lookup tables of consumers and credentials the authentication plugins read.
// Kong jwt_secrets become verification keys here; bad material is an error at the value's mark.
// Messages come from auth/jwk.h, which never quotes key material.
void add_jwt_secrets(const Config& config, filter::ConsumerDirectory& dir, const core::ConfigNode& root,
                     core::ConfigErrors& errors) {
  for (const JwtSecret& j : config.jwt_secrets) {
    if (j.consumer < 0 || j.key.empty()) continue;
    const std::optional<auth::JwsAlg> alg = auth::parse_alg(j.algorithm);
    if (!alg) continue;  // reported by the loader
    filter::JwtCredentialEntry e;
    e.consumer = j.consumer;
    e.id = j.id;
    e.algorithm = *alg;
    const bool hmac = auth::key_type_for(*alg) == auth::KeyType::kOct;
    if (hmac) {
      if (j.secret.empty()) continue;
      auth::KeyResult plain = auth::load_hmac_secret(j.secret, false, j.key, *alg);
      if (!plain.key) {
        errors.add(root, j.material_mark, j.yaml_path + ".secret", "bad secret: " + plain.error);
        continue;
      }
      e.key = std::move(plain.key);
      e.key_base64 = auth::load_hmac_secret(j.secret, true, j.key, *alg).key;
    } else {
      if (j.rsa_public_key.empty()) continue;
      auth::KeyResult pem = auth::load_pem_public_key(j.rsa_public_key, j.key, *alg);
      if (!pem.key) {
        errors.add(root, j.material_mark, j.yaml_path + ".rsa_public_key",
                   "bad rsa_public_key for algorithm " + j.algorithm + ": " + pem.error);
        continue;
      }
      e.key = std::move(pem.key);
    }
    dir.add_jwt(j.key, std::move(e));
  }
}

// mtls-auth: the `ca_certificates` ids of each instance must name ca_certificates entities (an
// error at the id otherwise); their PEMs become one trust store per distinct id list, keyed as
// filters/mtls_auth/mtls_auth_filter.h finds it (the ids joined with '\n').
void add_mtls_auth(const Config& config, filter::ConsumerDirectory& dir, core::ConfigErrors& errors) {
  std::unordered_map<std::string_view, size_t> ca_by_id;
  for (size_t i = 0; i < config.ca_certificates.size(); ++i) {
    if (!config.ca_certificates[i].id.empty()) ca_by_id.emplace(config.ca_certificates[i].id, i);
  }
  for (const PluginInstance& p : config.plugins) {
    if (p.name != "mtls-auth" || p.config == nullptr || !p.config->is_map()) continue;
    const core::ConfigNode* list = p.config->find("ca_certificates");
    if (list == nullptr || !list->is_sequence() || list->empty()) continue;  // the plugin reports it
    const std::string list_path = p.yaml_path + ".config.ca_certificates";
    std::string key;
    std::vector<std::string> pems;
    bool ok = true;
    for (size_t j = 0; j < list->size(); ++j) {
      const core::ConfigNode& item = (*list)[j];
      if (!item.is_scalar() || item.scalar().empty()) {
        ok = false;
        continue;
      }
      if (!key.empty()) key += '\n';
      key += item.scalar();
      auto it = ca_by_id.find(item.scalar());
      if (it == ca_by_id.end()) {
        errors.add(item, core::path_index(list_path, j),
                   "no ca_certificate has id \"" + item.scalar() + "\"" +
                       (ca_by_id.empty() ? "; declare it in the top-level 'ca_certificates' list" : ""));
        ok = false;
        continue;
      }
      pems.push_back(config.ca_certificates[it->second].cert);
    }
    if (!ok || dir.find_trust_store(key) != nullptr) continue;
    std::string error;
    auto store = session::TrustStore::make(pems, error);
    if (!store) {
      errors.add(*list, list_path, "cannot load the CA certificates: " + error);
      continue;
    }
    dir.add_trust_store(std::move(key), std::move(store));
  }
  for (const MtlsAuthCredential& m : config.mtls_auth_credentials) {
    if (m.consumer < 0 || m.subject_name.empty()) continue;
    const std::string ca_id =
        m.ca_certificate >= 0 ? config.ca_certificates[static_cast<size_t>(m.ca_certificate)].id : std::string();
    dir.add_mtls(m.subject_name, {m.consumer, m.id, ca_id});
  }
}

std::shared_ptr<const filter::ConsumerDirectory> build_consumer_directory(const Config& config,
                                                                          const core::ConfigNode& root,
                                                                          core::ConfigErrors& errors) {
  auto dir = std::make_shared<filter::ConsumerDirectory>();
  dir->consumers.reserve(config.consumers.size());
  for (const Consumer& c : config.consumers) {
    dir->consumers.push_back({c.id, c.username, c.custom_id, {}, {}});
  }
  for (const KeyAuthCredential& k : config.keyauth_credentials) {
    if (k.consumer >= 0) dir->add_key(k.key, {k.consumer, k.id});
  }
  for (const BasicAuthCredential& b : config.basicauth_credentials) {
    if (b.consumer >= 0) dir->add_basic({b.consumer, b.id, b.username, b.salt, b.password_hash});
  }
  for (const AclGroup& a : config.acls) {
    if (a.consumer < 0) continue;
    filter::ConsumerEntry& c = dir->consumers[static_cast<size_t>(a.consumer)];
    c.groups.push_back(a.group);
    if (!c.groups_header.empty()) c.groups_header += ", ";
    c.groups_header += a.group;
  }
  add_jwt_secrets(config, *dir, root, errors);
  add_mtls_auth(config, *dir, errors);
  dir->index_consumers();
  return dir;
}

}  // namespace

// The certificates TLS listeners serve (session/tls_server.h): one context per certificate that
// has SNIs or is the default; none when no certificate is served.
static void compile_tls_listener(const Config& config, Snapshot& snap, core::ConfigErrors& errors) {
  session::TlsServerSettings settings;
  // mtls-auth anywhere: every handshake asks for an optional client certificate (as Kong does: the
  // route is not known yet), which the plugin judges per request; `send_ca_dn` lists its CAs.
  bool request_client_cert = false;
  std::vector<std::string> request_ca_pems;
  for (const PluginInstance& p : config.plugins) {
    if (p.name != "mtls-auth" || !p.enabled) continue;
    request_client_cert = true;
    const core::ConfigNode* send = p.config && p.config->is_map() ? p.config->find("send_ca_dn") : nullptr;
    const core::ConfigNode* list = p.config && p.config->is_map() ? p.config->find("ca_certificates") : nullptr;
    if (send == nullptr || send->as_bool() != true || list == nullptr || !list->is_sequence()) continue;
    for (size_t j = 0; j < list->size(); ++j) {
      for (const CaCertificate& ca : config.ca_certificates) {
        if (ca.id != (*list)[j].scalar()) continue;
        if (std::find(request_ca_pems.begin(), request_ca_pems.end(), ca.cert) == request_ca_pems.end()) {
          request_ca_pems.push_back(ca.cert);
        }
      }
    }
  }
  for (size_t i = 0; i < config.certificates.size(); ++i) {
    const Certificate& c = config.certificates[i];
    const bool is_default = static_cast<int>(i) == config.default_certificate;
    if (c.snis.empty() && !is_default) continue;
    const int index = static_cast<int>(settings.certificates.size());
    session::TlsServerOptions o;
    o.cert_pem = c.cert;
    o.key_pem = c.key;
    o.cert_alt_pem = c.cert_alt;
    o.key_alt_pem = c.key_alt;
    if (c.verify_clients) {
      for (int ca : c.client_ca_certificates) o.client_ca_pems.push_back(config.ca_certificates[static_cast<size_t>(ca)].cert);
      o.require_client_cert = c.client_certificate_required;
    }
    o.request_client_cert = request_client_cert;
    o.ocsp_response = c.ocsp_response;
    o.request_ca_pems = request_ca_pems;
    settings.certificates.push_back(std::move(o));
    for (const std::string& name : c.snis) {
      if (name != "*") settings.names.emplace(name, index);
    }
    if (is_default) settings.default_certificate = index;
  }
  if (settings.certificates.empty()) return;
  std::string error;
  snap.tls = session::shared_server_set(settings, error);
  if (!snap.tls) errors.add(core::ConfigError{config.file, core::Mark{}, "certificates", "cannot set up the TLS listener: " + error});
}

CompileResult compile(std::shared_ptr<const Config> config, const filter::Registry& registry) {
  CompileResult result;
  auto snap = std::make_shared<Snapshot>();
  snap->config = config;
  snap->version = config->version;
  const core::ConfigNode& root = *config->document;

  std::unordered_map<std::string_view, const Upstream*> upstreams_by_name;
  for (const auto& u : config->upstreams) upstreams_by_name.emplace(u.name, &u);
  // Services a route with a retry budget points at: their breakers count requests and retries
  // even without `circuit_breakers`.
  std::vector<bool> budgeted(config->services.size(), false);
  for (const Route& r : config->routes) {
    if (r.service >= 0 && r.retry_policy && r.retry_policy->retry_budget) {
      budgeted[static_cast<size_t>(r.service)] = true;
    }
  }
  // One breaker per upstream, shared by every service that names it.
  std::unordered_map<const Upstream*, std::shared_ptr<upstream::CircuitBreaker>> upstream_breakers;
  auto make_breaker = [](const std::optional<CircuitBreakers>& cb) {
    if (!cb) return std::make_shared<upstream::CircuitBreaker>(nullptr);
    upstream::CircuitBreakerLimits limits{cb->max_connections, cb->max_pending_requests, cb->max_requests,
                                          cb->max_retries};
    return std::make_shared<upstream::CircuitBreaker>(&limits);
  };
  // TLS client contexts, one per distinct set of settings (shared by the services that agree).
  std::unordered_map<std::string, std::shared_ptr<const session::TlsContext>> tls_contexts;
  auto tls_context = [&](bool verify, int depth, const std::vector<int>& cas, int client_cert,
                         const core::Mark& mark, const std::string& path) -> std::shared_ptr<const session::TlsContext> {
    std::string key = std::to_string(verify) + "|" + std::to_string(depth) + "|" + std::to_string(client_cert);
    for (int ca : cas) key += "|" + std::to_string(ca);
    auto& slot = tls_contexts[key];
    if (slot) return slot;
    session::TlsClientOptions o;
    o.verify = verify;
    o.verify_depth = depth;
    for (int ca : cas) o.ca_pems.push_back(config->ca_certificates[static_cast<size_t>(ca)].cert);
    if (client_cert >= 0) {
      const Certificate& cert = config->certificates[static_cast<size_t>(client_cert)];
      o.cert_pem = cert.cert;
      o.key_pem = cert.key;
    }
    std::string error;
    slot = session::TlsContext::make_client(o, error);
    if (!slot) result.errors.add(root, mark, path, "cannot set up TLS: " + error);
    return slot;
  };
  // The CAs https health probes of an upstream trust: those of the services that use it.
  std::unordered_map<const Upstream*, std::vector<int>> probe_cas;
  for (const Service& s : config->services) {
    auto named = upstreams_by_name.find(s.host);
    if (named == upstreams_by_name.end() || s.protocol != "https") continue;
    auto& cas = probe_cas[named->second];
    for (int ca : s.ca_certificates) {
      if (std::find(cas.begin(), cas.end(), ca) == cas.end()) cas.push_back(ca);
    }
  }
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
    auto named = upstreams_by_name.find(s.host);
    const Upstream* up = named == upstreams_by_name.end() ? nullptr : named->second;
    if (s.protocol == "https") {
      // The service's client certificate, else its upstream's (Kong).
      int client_cert = s.client_certificate >= 0 ? s.client_certificate : up ? up->client_certificate : -1;
      c->tls = tls_context(s.tls_verify, s.tls_verify_depth, s.ca_certificates, client_cert, s.mark, s.yaml_path);
    }
    if (up) {
      configure_upstream(*up, *c);
      if (c->health_check.type == upstream::HealthCheckSettings::Type::kHttps) {
        static const std::vector<int> kNone;
        auto cas = probe_cas.find(up);
        c->health_check.tls.context =
            tls_context(up->healthchecks.active.https_verify_certificate, -1,
                        cas == probe_cas.end() ? kNone : cas->second, up->client_certificate, up->mark,
                        up->yaml_path + ".healthchecks.active");
      }
      if (s.circuit_breakers) {
        result.errors.add(root, s.circuit_breakers->mark, s.yaml_path + ".circuit_breakers",
                          "service \"" + c->name + "\" balances over upstream \"" + up->name +
                              "\": set circuit_breakers on the upstream instead");
      }
      if (up->circuit_breakers || budgeted[i]) {
        auto& shared = upstream_breakers[up];
        if (!shared) shared = make_breaker(up->circuit_breakers);
        c->breaker = shared;
      }
    } else {
      c->targets.push_back({s.host, s.port, 100});
      if (s.circuit_breakers || budgeted[i]) c->breaker = make_breaker(s.circuit_breakers);
    }
    upstream::build_endpoints(*c, nullptr);  // IP literals now; names when the resolver answers
    snap->clusters.push_back(std::move(c));
  }

  snap->consumers = build_consumer_directory(*config, root, result.errors);
  // A plugin field naming a consumer (by id or username) must name an existing one: checked here,
  // where the consumers are known, rather than answering 500 at request time.
  auto check_consumer_field = [&](const PluginInstance& p, const std::string& field, std::string_view what) {
    const core::ConfigNode* n = p.config && p.config->is_map() ? p.config->find(field) : nullptr;
    if (!n || !n->is_scalar() || n->scalar().empty()) return;
    if (snap->consumers->find_consumer(n->scalar()) < 0) {
      result.errors.add(*n, p.yaml_path + ".config." + field,
                        std::string(what) + " \"" + n->scalar() +
                            "\" not found: no consumer has that id or username");
    }
  };
  // An authentication plugin's `anonymous`; mtls-auth's `default_consumer`.
  for (const PluginInstance& p : config->plugins) check_consumer_field(p, "anonymous", "anonymous consumer");
  for (const PluginInstance& p : config->plugins) {
    if (p.name == "mtls-auth") check_consumer_field(p, "default_consumer", "default_consumer");
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
    // Requests arrive over plain HTTP only, so a plugin whose `protocols` leave out http never
    // runs (Kong's rule: a plugin runs only on the protocols it lists).
    // mtls-auth is the exception that must not fail open: listed for https only it still runs on
    // every request (a plaintext request has no certificate and is refused).
    const bool https_auth = p.name == "mtls-auth" &&
                            std::find(p.protocols.begin(), p.protocols.end(), "https") != p.protocols.end();
    if (!https_auth && std::find(p.protocols.begin(), p.protocols.end(), "http") == p.protocols.end()) continue;
    if (p.consumer >= 0) {
      // Chosen per request, once authentication names the consumer (Snapshot::chain_for).
      if (snap->consumer_plugins.size() <= static_cast<size_t>(p.consumer)) {
        snap->consumer_plugins.resize(config->consumers.size());
      }
      snap->consumer_plugins[static_cast<size_t>(p.consumer)].push_back(
          {filters[pi], priorities[pi], p.name, p.route, p.service});
    } else if (p.route >= 0) {
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
    // Kong: the routes of a disabled service behave as if they did not exist.
    if (r.service >= 0 && !config->services[static_cast<size_t>(r.service)].enabled) continue;
    auto route = std::make_unique<router::Route>();
    route->index = ri;
    route->name = r.name.empty() ? r.id : r.name;
    if (r.service >= 0) {
      route->cluster = static_cast<size_t>(r.service);
      route->service_name = snap->clusters[route->cluster]->name;
    }
    route->hosts = r.hosts;
    route->methods = r.methods;
    route->snis = r.snis;
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
    route->https_only = std::find(r.protocols.begin(), r.protocols.end(), "http") == r.protocols.end();
    route->https_redirect_status_code = r.https_redirect_status_code;
    route->timeout = std::chrono::milliseconds(r.timeout);
    if (r.retry_policy) {
      const RetryPolicy& rp = *r.retry_policy;
      auto retry = std::make_unique<router::RetryPolicy>();
      for (const std::string& cond : rp.retry_on) {
        if (cond == "5xx") retry->retry_on |= router::RetryPolicy::k5xx;
        else if (cond == "gateway-error") retry->retry_on |= router::RetryPolicy::kGatewayError;
        else if (cond == "reset") retry->retry_on |= router::RetryPolicy::kReset;
        else if (cond == "connect-failure") retry->retry_on |= router::RetryPolicy::kConnectFailure;
        else if (cond == "retriable-4xx") retry->retry_on |= router::RetryPolicy::kRetriable4xx;
        else if (cond == "refused-stream") retry->retry_on |= router::RetryPolicy::kRefusedStream;
        else if (cond == "retriable-status-codes") retry->retry_on |= router::RetryPolicy::kRetriableStatusCodes;
      }
      retry->num_retries = rp.num_retries;
      retry->per_try_timeout = std::chrono::milliseconds(rp.per_try_timeout);
      retry->base_interval = std::chrono::milliseconds(rp.base_interval);
      retry->max_interval = std::chrono::milliseconds(rp.max_interval);
      retry->replay_buffer_limit = rp.replay_buffer_limit;
      for (int code : rp.retriable_status_codes) retry->retriable_status_codes.push_back(static_cast<uint16_t>(code));
      if (rp.retry_budget) {
        retry->budget = router::RetryPolicy::Budget{rp.retry_budget->budget_percent,
                                                    rp.retry_budget->min_retry_concurrency};
      }
      route->retry = std::move(retry);
    }

    // For each plugin name, the most specific enabled instance applies.
    std::map<std::string, std::pair<int, size_t>> chosen;  // name → (rank, plugin index)
    auto consider = [&](const std::vector<size_t>& candidates) {
      for (size_t pi : candidates) {
        const PluginInstance& p = config->plugins[pi];
        int rank = scope_rank(p, static_cast<int>(ri), r.service);
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
      entries.push_back({filters[pick.second], priorities[pick.second], name, pick.first});
    }
    route->chain = filter::Chain(std::move(entries));
    routes.push_back(std::move(route));
  }
  snap->routes = std::make_shared<const router::RouteTable>(std::move(routes));
  compile_tls_listener(*config, *snap, result.errors);

  if (!result.errors.empty()) return result;
  result.snapshot = std::move(snap);
  return result;
}

namespace {
CompileResult finish_load(LoadResult loaded, const filter::Registry& registry) {
  if (!loaded.ok()) {
    CompileResult r;
    r.errors = std::move(loaded.errors);
    return r;
  }
  auto config = std::make_shared<const Config>(std::move(*loaded.config));
  return compile(std::move(config), registry);
}
}  // namespace

CompileResult build_from_file(const std::string& path, const filter::Registry& registry) {
  return finish_load(load_file(path), registry);
}

CompileResult build_from_string(std::string_view text, const std::string& file_name,
                                const filter::Registry& registry) {
  return finish_load(load_string(text, file_name), registry);
}

std::vector<std::string> host_names(const Snapshot& snapshot) {
  std::vector<std::string> names;
  for (size_t i = 0; i < snapshot.clusters.size(); ++i) {
    // A disabled service's routes are never compiled, so its host is never needed.
    if (!snapshot.config->services[i].enabled) continue;
    for (const auto& t : snapshot.clusters[i]->targets) {
      if (!upstream::is_address(t.host)) names.push_back(t.host);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::shared_ptr<const Snapshot> with_addresses(const std::shared_ptr<const Snapshot>& snapshot,
                                               const upstream::AddressLookup& lookup) {
  std::shared_ptr<Snapshot> next;
  for (size_t i = 0; i < snapshot->clusters.size(); ++i) {
    auto changed = upstream::with_addresses(*snapshot->clusters[i], lookup);
    if (!changed) continue;
    if (!next) {
      next = std::make_shared<Snapshot>(*snapshot);
      ++next->endpoints_generation;
    }
    next->clusters[i] = std::move(changed);
  }
  if (!next) return snapshot;
  return next;
}

bool Snapshot::has_consumer_plugins(int consumer) const {
  return consumer >= 0 && static_cast<size_t>(consumer) < consumer_plugins.size() &&
         !consumer_plugins[static_cast<size_t>(consumer)].empty();
}

filter::Chain Snapshot::chain_for(const router::Route& route, int consumer, int switch_priority) const {
  std::vector<filter::Chain::Entry> candidates;
  if (has_consumer_plugins(consumer)) {
    const int service = route.cluster == SIZE_MAX ? -1 : static_cast<int>(route.cluster);
    for (const ConsumerPlugin& cp : consumer_plugins[static_cast<size_t>(consumer)]) {
      if (cp.priority >= switch_priority) continue;
      PluginInstance scope;
      scope.route = cp.route;
      scope.service = cp.service;
      scope.consumer = consumer;
      int rank = scope_rank(scope, static_cast<int>(route.index), service);
      if (rank >= 0) candidates.push_back({cp.filter, cp.priority, cp.name, rank});
    }
  }
  return filter::Chain::merged(route.chain, candidates);
}

}  // namespace portico::config
