// The configuration model: Kong declarative entities plus Portico's process settings, as loaded.
//
// Contract:
// - Produced by config/loader.h on the control thread; plain values afterwards (copy or move
//   freely; a Config is immutable once published). Field names, defaults and units follow Kong
//   (docs/configuration.md lists them all); durations are milliseconds.
// - Cross references are indices into the Config's vectors (-1 = none), resolved and validated
//   by the loader, so consumers never look names up.
// - `mark` and `yaml_path` locate each entity in the source for later errors (e.g. plugin config
//   validation): `mark` is the entity map's first line:column, `yaml_path` like
//   `services[0].routes[1]`.
// - PluginInstance::config points into Config::document; it stays valid as long as any copy of
//   that Config (or of `document`) lives.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config_node.h"
#include "filter/log_fields.h"

namespace portico::config {

// Portico's `circuit_breakers` on an upstream or a plain service (Envoy's thresholds,
// docs/configuration.md "Circuit breakers"); per process. Omitted fields take Envoy's defaults.
struct CircuitBreakers {
  uint32_t max_connections = 1024;       // upstream connections open (idle in a pool or in use)
  uint32_t max_pending_requests = 1024;  // requests waiting for a connection to be established
  uint32_t max_requests = 1024;          // requests in flight
  uint32_t max_retries = 3;              // retries in flight
  core::Mark mark;
};

struct Service {
  std::string id;
  std::string name;
  std::string protocol = "http";
  std::string host;  // a hostname or an IP address (IPv6 without brackets)
  uint16_t port = 80;
  std::string path;  // empty = none
  int retries = 5;
  uint32_t connect_timeout = 60000;  // ms
  uint32_t write_timeout = 60000;    // ms
  uint32_t read_timeout = 60000;     // ms
  bool enabled = true;
  std::optional<CircuitBreakers> circuit_breakers;  // Portico; only when `host` is no upstream
  // TLS to the upstream (protocol https). Portico verifies by default (Kong does not).
  bool tls_verify = true;
  int tls_verify_depth = -1;         // -1 = none given (OpenSSL's default)
  std::vector<int> ca_certificates;  // indices into Config::ca_certificates; empty = system store
  int client_certificate = -1;       // index into Config::certificates, -1 = none
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

// Kong `ca_certificates`: a trusted CA certificate (PEM) that services list in `ca_certificates`.
struct CaCertificate {
  std::string id;
  std::string cert;         // PEM, checked at load: parses, is a CA, has not expired
  std::string cert_digest;  // hex SHA-256 of the DER (computed when not given)
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

// Kong `certificates`: a certificate and its key (PEM, checked at load), optionally a second
// pair of another key type (`cert_alt`, `key_alt`). Services and upstreams use one as the client
// certificate towards upstreams; TLS listeners serve it for its `snis` (and the top-level `snis`
// entities naming it), or as the default certificate.
struct Certificate {
  std::string id;
  std::string cert;
  std::string key;
  std::string cert_alt;
  std::string key_alt;
  std::vector<std::string> snis;  // lower-cased server names; "*" = the default certificate
  // Portico: `client_certificate` — mutual TLS on connections served with this certificate.
  bool verify_clients = false;                // the block is present
  bool client_certificate_required = true;    // no certificate: handshake failure
  std::vector<int> client_ca_certificates;    // indices into Config::ca_certificates
  // Portico: `ocsp_stapling` — a file with a DER OCSP response for `cert`, stapled when a client
  // asks (status_request); read and checked when the file loads. Empty = none.
  std::string ocsp_stapling;  // the path as written
  std::string ocsp_response;  // its bytes
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

// One entry of a route's `headers` map (Kong): the request matches when a field called `name`
// has one of `values` (case-insensitive), or, when the only value is "~*regex", matches it.
struct HeaderCondition {
  std::string name;                 // lower-cased
  std::vector<std::string> values;  // as written, non-empty
};

// Portico's `retry_policy` on a route (Envoy's RouteAction.RetryPolicy, docs/configuration.md
// "Retries"). Durations in ms.
struct RetryPolicy {
  // Conditions as written, each one of: 5xx, gateway-error, reset, connect-failure,
  // retriable-4xx, refused-stream, retriable-status-codes. Non-empty, no duplicates.
  std::vector<std::string> retry_on;
  uint32_t num_retries = 1;                 // Envoy's default
  uint32_t per_try_timeout = 0;             // 0 = none
  std::vector<int> retriable_status_codes;  // only with retry_on retriable-status-codes
  uint32_t base_interval = 25;              // back-off
  uint32_t max_interval = 250;              // back-off; default 10 x base_interval
  uint32_t replay_buffer_limit = 65536;     // bytes of request body held for replay; 0 = none
  // Envoy's `retry_budget`: when set, it replaces the upstream's max_retries for this route.
  struct Budget {
    double budget_percent = 20.0;        // of the upstream's active requests
    uint32_t min_retry_concurrency = 3;
  };
  std::optional<Budget> retry_budget;
  core::Mark mark;
};

struct Route {
  std::string id;
  std::string name;
  int service = -1;                  // index into Config::services, -1 = none
  std::vector<std::string> paths;    // "/prefix" or "~regex"
  std::vector<std::string> hosts;    // lower-cased; "*.example.com", "example.*", "host:port"
  std::vector<std::string> methods;  // upper-case tokens
  std::vector<HeaderCondition> headers;  // configuration order
  std::vector<std::string> snis;     // lower-cased TLS server names; "*.example.com", "example.*"
  std::vector<std::string> protocols = {"http", "https"};
  bool strip_path = true;
  bool preserve_host = false;
  int regex_priority = 0;
  std::string path_handling = "v0";
  int https_redirect_status_code = 426;
  bool request_buffering = true;
  bool response_buffering = true;
  uint32_t timeout = 0;  // ms; Portico: deadline for the whole upstream exchange, 0 = none
  std::optional<RetryPolicy> retry_policy;  // Portico; none = no retries beyond the service's
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

struct Consumer {
  std::string id;
  std::string username;
  std::string custom_id;
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

// Kong `keyauth_credentials`: an API key of a consumer (nested under it or top-level with
// `consumer:`). The key is required here: Kong generates one when absent, Portico cannot persist it.
struct KeyAuthCredential {
  std::string id;
  std::string key;
  int consumer = -1;  // index into Config::consumers
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

// Kong `basicauth_credentials`. The password is read from the file and only its salted
// HMAC-SHA-256 (filter/consumer_directory.h) is kept.
struct BasicAuthCredential {
  std::string id;
  std::string username;
  std::string salt;           // random bytes, per credential
  std::string password_hash;  // HMAC-SHA-256(salt, password)
  int consumer = -1;
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

// Kong `jwt_secrets`: a consumer's key for the `jwt` plugin (nested under it or top-level with
// `consumer:`). `key` is what the token's `key_claim_name` claim names; `secret` serves HS*,
// `rsa_public_key` (a PEM public key of any supported type, despite Kong's name) the others.
// Both are required here (Kong generates them when absent; Portico cannot persist them). The
// material is only turned into verification keys when the snapshot compiles (config/snapshot.cc),
// and is never part of an error message.
struct JwtSecret {
  std::string id;
  std::string key;
  std::string algorithm = "HS256";
  std::string secret;          // HS* only
  std::string rsa_public_key;  // every other algorithm
  core::Mark material_mark;    // where the secret or rsa_public_key value is written
  int consumer = -1;
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

// Kong `acls`: a consumer's membership of a group, read by the `acl` plugin.
struct AclGroup {
  std::string id;
  std::string group;
  int consumer = -1;
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

// Kong `mtls_auth_credentials` (the mtls-auth plugin): a client certificate whose subject CN or
// a subjectAltName equals `subject_name` authenticates as `consumer`, optionally only when its
// chain ends at `ca_certificate`.
struct MtlsAuthCredential {
  std::string id;
  std::string subject_name;
  int consumer = -1;
  int ca_certificate = -1;  // index into Config::ca_certificates, -1 = any CA the plugin trusts
  // The `ca_certificate` id as written and where (resolved once ca_certificates are read).
  std::string ca_certificate_ref;
  const core::ConfigNode* ca_certificate_at = nullptr;
  std::string ca_certificate_path;
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

struct PluginInstance {
  std::string id;
  std::string name;
  std::string instance_name;
  bool enabled = true;
  int service = -1;  // scope: indices into Config's vectors, -1 = not scoped by that entity
  int route = -1;
  int consumer = -1;
  std::vector<std::string> protocols = {"grpc", "grpcs", "http", "https"};
  std::vector<std::string> tags;
  const core::ConfigNode* config = nullptr;  // the `config:` map, or null when absent
  core::Mark mark;
  std::string yaml_path;
};

// Kong `upstreams[].targets[]`: one balancer target.
struct UpstreamTarget {
  std::string id;
  std::string target;   // as written: "host:port" or "host" (port 8000, as in Kong)
  std::string host;     // an IP address or a name (IPv6 without brackets)
  uint16_t port = 8000;
  uint32_t weight = 100;  // 0..65535; 0 = never picked
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

// Kong `upstreams[].healthchecks` (docs/configuration.md "Health checks"). Kong writes durations
// in seconds (fractions allowed); here they are milliseconds. `passive` adds Portico's ejection
// back-off (ejection_base, ejection_max) to Kong's fields.
struct HealthChecks {
  struct Active {
    std::string type = "http";  // http | https | tcp
    bool https_verify_certificate = true;
    std::string https_sni;      // empty = the target's host name (none for an IP address)
    std::string http_path = "/";
    uint32_t timeout = 1000;    // ms
    uint32_t concurrency = 10;
    std::vector<std::pair<std::string, std::vector<std::string>>> headers;  // name, values
    uint32_t healthy_interval = 0;    // ms; 0 = healthy targets are not probed
    std::vector<int> healthy_http_statuses = {200, 302};
    uint32_t healthy_successes = 0;   // 0 = never marked healthy by probes
    uint32_t unhealthy_interval = 0;  // ms; 0 = unhealthy targets are not probed
    std::vector<int> unhealthy_http_statuses = {429, 404, 500, 501, 502, 503, 504, 505};
    uint32_t unhealthy_http_failures = 0;
    uint32_t unhealthy_tcp_failures = 0;
    uint32_t unhealthy_timeouts = 0;
  };
  struct Passive {
    std::string type = "http";  // http | tcp
    std::vector<int> healthy_http_statuses = {200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                                              300, 301, 302, 303, 304, 305, 306, 307, 308};
    uint32_t healthy_successes = 0;  // 0 = traffic never marks a target healthy
    std::vector<int> unhealthy_http_statuses = {429, 500, 503};
    uint32_t unhealthy_http_failures = 0;  // 0 = never
    uint32_t unhealthy_tcp_failures = 0;
    uint32_t unhealthy_timeouts = 0;
    uint32_t ejection_base = 30000;   // ms (Portico); 0 = only active checks re-admit (Kong)
    uint32_t ejection_max = 300000;   // ms (Portico)
  };
  Active active;
  Passive passive;
  double threshold = 0;  // percent of healthy weight under which the upstream is down
};

// Kong `upstreams`: a virtual host name a service's `host` can point at, balanced over targets.
struct Upstream {
  std::string id;
  std::string name;
  std::string algorithm = "round-robin";  // round-robin | consistent-hashing | least-connections | least-request
  std::string hash_on = "none";           // none | consumer | ip | header | cookie | path | query_arg | uri_capture
  std::string hash_fallback = "none";
  std::string hash_on_header, hash_fallback_header;
  std::string hash_on_cookie, hash_on_cookie_path = "/";
  std::string hash_on_query_arg, hash_fallback_query_arg;
  std::string hash_on_uri_capture, hash_fallback_uri_capture;
  uint32_t slots = 10000;
  std::string host_header;  // Host sent upstream instead of the upstream name
  int client_certificate = -1;  // index into Config::certificates: TLS to targets (unless the
                                // service has its own) and https health probes; -1 = none
  std::optional<CircuitBreakers> circuit_breakers;  // Portico; shared by the services using it
  HealthChecks healthchecks;
  std::vector<UpstreamTarget> targets;
  std::vector<std::string> tags;
  core::Mark mark;
  std::string yaml_path;
};

struct Listen {
  std::string host;   // an IP address (IPv6 without brackets)
  uint16_t port = 0;  // 0 = ephemeral
  bool ssl = false;   // Kong's `ssl` flag: TLS with the config's certificates

  bool operator==(const Listen&) const = default;
};

// `portico.dns`: how service hosts and upstream targets that are names get resolved.
struct DnsSettings {
  std::vector<Listen> resolvers;        // empty = the nameservers of /etc/resolv.conf
  std::string hosts_file = "/etc/hosts";  // "" = no hosts file
  uint32_t timeout_ms = 2000;           // per try
  uint32_t attempts = 2;                // rounds over all resolvers
  uint32_t min_ttl = 1;                 // seconds; shorter record TTLs are raised to this
  uint32_t max_ttl = 3600;              // seconds; longer record TTLs are lowered to this
  uint32_t not_found_ttl = 30;          // seconds an NXDOMAIN / no-address answer is kept
  std::string family = "v4_preferred";  // v4_preferred | v4_only | v6_only | all
};

struct ProcessSettings {
  std::vector<Listen> listen = {{"0.0.0.0", 8000}};
  std::optional<Listen> admin_listen = Listen{"127.0.0.1", 8001};  // nullopt = `off`
  int workers = 0;                                                 // 0 = one per core
  std::string log_level = "info";                                  // debug | info | warn | error
  std::string access_log = "off";  // off | stdout | stderr | a file path
  // `access_log_fields`: key → template, as written (compared across reloads), and compiled;
  // null = the default line.
  std::vector<std::pair<std::string, std::string>> access_log_fields;
  std::shared_ptr<const filter::LogFields> access_log_fields_compiled;
  // `headers` (Kong's kong.conf `headers`, Portico's values): latency_tokens, server_timing.
  std::vector<std::string> headers;
  uint32_t max_header_bytes = 65536;
  uint32_t max_headers = 100;
  uint32_t max_uri_bytes = 8192;
  uint64_t max_body_bytes = 0;  // 0 = unlimited (Kong's client_max_body_size 0)
  uint32_t max_connections = 0;          // downstream connections per worker; 0 = unlimited
  uint32_t max_concurrent_requests = 0;  // requests in flight per worker; 0 = unlimited
  uint32_t drain_timeout_ms = 10000;
  uint32_t client_header_timeout_ms = 60000;
  uint32_t client_body_timeout_ms = 60000;
  uint32_t keepalive_timeout_ms = 60000;
  uint32_t upstream_keepalive_pool_size = 512;          // 0 = no upstream keepalive
  uint32_t upstream_keepalive_max_requests = 10000;     // 0 = unlimited
  uint32_t upstream_keepalive_idle_timeout_ms = 60000;  // 0 = no idle timeout
  DnsSettings dns;
};

struct Config {
  std::string file;
  std::shared_ptr<const core::ConfigNode> document;
  std::string format_version;  // always "3.0" today
  bool transform = true;       // Kong's `_transform`; accepted, no effect yet
  std::vector<Service> services;
  std::vector<Route> routes;
  std::vector<Consumer> consumers;
  std::vector<PluginInstance> plugins;
  std::vector<KeyAuthCredential> keyauth_credentials;
  std::vector<BasicAuthCredential> basicauth_credentials;
  std::vector<AclGroup> acls;
  std::vector<JwtSecret> jwt_secrets;
  std::vector<Upstream> upstreams;
  std::vector<CaCertificate> ca_certificates;
  std::vector<Certificate> certificates;
  std::vector<MtlsAuthCredential> mtls_auth_credentials;
  // The certificate a TLS listener serves when no SNI matches (-1 = none: unrecognized_name):
  // the one with SNI "*", else the first without SNIs that no service or upstream presents as
  // its client certificate.
  int default_certificate = -1;
  ProcessSettings portico;
  // First 16 hex chars of SHA-256 over the source bytes (and the values of substituted
  // environment variables, if any): the config version the admin API reports.
  std::string version;
};

}  // namespace portico::config
