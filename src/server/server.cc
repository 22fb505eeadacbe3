#include "server/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <thread>

#include "admin/admin_server.h"
#include "admin/config_body.h"
#include "config/snapshot.h"
#include "filters/builtin.h"
#include "filters/jwt/jwks_source.h"
#include "net/listener.h"
#include "server/discovery.h"
#include "server/metrics_endpoint.h"
#include "upstream/health_checker.h"
#include "observability/access_log.h"
#include "observability/log.h"
#include "observability/process_metrics.h"
#include "observability/span_exporter.h"
#include "proxy/worker_context.h"
#include "runtime/worker.h"

namespace portico::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

filter::Registry make_registry() {
  filter::Registry r;
  filters::register_builtin_plugins(r);
  return r;
}

proxy::ProcessLimits limits_of(const config::ProcessSettings& s) {
  proxy::ProcessLimits l;
  l.max_header_bytes = s.max_header_bytes;
  l.max_headers = s.max_headers;
  l.max_uri_bytes = s.max_uri_bytes;
  l.max_body_bytes = s.max_body_bytes;
  l.max_connections = s.max_connections;
  l.max_concurrent_requests = s.max_concurrent_requests;
  l.client_header_timeout = std::chrono::milliseconds(s.client_header_timeout_ms);
  l.client_body_timeout = std::chrono::milliseconds(s.client_body_timeout_ms);
  l.keepalive_timeout = std::chrono::milliseconds(s.keepalive_timeout_ms);
  for (const auto& h : s.headers) {
    if (h == "latency_tokens") l.latency_tokens = true;
    if (h == "server_timing") l.server_timing = true;
  }
  return l;
}

upstream::PoolSettings pool_of(const config::ProcessSettings& s) {
  upstream::PoolSettings p;
  p.max_idle_per_endpoint = s.upstream_keepalive_pool_size;
  p.max_requests = s.upstream_keepalive_max_requests == 0 ? UINT32_MAX : s.upstream_keepalive_max_requests;
  p.idle_timeout = s.upstream_keepalive_idle_timeout_ms == 0 ? std::chrono::milliseconds(INT64_MAX / 2000000)
                                                             : std::chrono::milliseconds(s.upstream_keepalive_idle_timeout_ms);
  return p;
}

// The whole file as text; false with `error` set when it cannot be read.
bool read_text_file(const std::string& path, std::string& text, std::string& error) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    error = fmt::format("{}: cannot open the file: {}", path, std::strerror(errno));
    return false;
  }
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) text.append(buffer, n);
  if (std::ferror(f.get())) {
    error = fmt::format("{}: cannot read the file", path);
    return false;
  }
  return true;
}

std::string json_message(std::string_view message) {
  json::object o;
  o["message"] = message;
  return json::serialize(o);
}

// The 400 body of an invalid posted config: Kong's error shape (code 14, "invalid declarative
// configuration") with, per error, what `portico check` prints and its parts.
std::string invalid_config_body(const core::ConfigErrors& errors) {
  json::array list;
  json::array flattened;
  for (const auto& e : errors) {
    json::object o;
    o["file"] = e.file;
    o["line"] = e.mark.line;
    o["column"] = e.mark.column;
    o["path"] = e.path;
    o["message"] = e.message;
    o["text"] = e.to_string();
    list.push_back(std::move(o));
    flattened.push_back(json::string(e.to_string()));
  }
  json::object root;
  root["code"] = 14;
  root["name"] = "invalid declarative configuration";
  root["message"] = "declarative config is invalid: " + errors.to_string();
  root["errors"] = std::move(list);
  root["flattened_errors"] = std::move(flattened);
  root["error_count"] = errors.count();
  return json::serialize(root);
}

bool query_flag(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = item.find('=');
    if (item.substr(0, eq) != name) continue;
    std::string_view v = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    return v == "1" || v == "true" || v.empty();
  }
  return false;
}

bool same_dns(const config::DnsSettings& a, const config::DnsSettings& b) {
  return a.resolvers == b.resolvers && a.hosts_file == b.hosts_file && a.timeout_ms == b.timeout_ms &&
         a.attempts == b.attempts && a.min_ttl == b.min_ttl && a.max_ttl == b.max_ttl &&
         a.not_found_ttl == b.not_found_ttl && a.family == b.family;
}

// The `portico` settings that need new sockets, threads or a new resolver, by name, where `next`
// differs from `started`.
std::string restart_only_changes(const config::ProcessSettings& started, const config::ProcessSettings& next) {
  std::string out;
  auto note = [&out](bool differs, const char* name) {
    if (!differs) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  note(started.listen != next.listen, "listen");
  note(started.admin_listen != next.admin_listen, "admin_listen");
  note(started.workers != next.workers, "workers");
  note(started.access_log != next.access_log, "access_log");
  note(started.access_log_fields != next.access_log_fields, "access_log_fields");
  note(started.log_level != next.log_level, "log_level");
  note(started.drain_timeout_ms != next.drain_timeout_ms, "timeouts.drain");
  note(!same_dns(started.dns, next.dns), "dns");
  return out;
}

// Per upstream (first cluster of each name): its endpoints with Kong's health words, and the
// balancer's own health (UNHEALTHY when nothing can be picked or the threshold is not met).
json::object upstreams_health(const config::Snapshot& snap) {
  json::object out;
  for (const auto& c : snap.clusters) {
    if (c->upstream_name.empty() || out.contains(c->upstream_name)) continue;
    const bool checked = c->health_check.active() || c->health_check.passive.enabled();
    const bool down = c->health && c->health->down();
    bool any = false;
    json::array targets;
    for (size_t i = 0; i < c->endpoints.size(); ++i) {
      const auto& ep = c->endpoints[i];
      const bool healthy = !c->health || c->health->healthy(i);
      any = any || (healthy && ep.weight > 0);
      json::object t;
      t["target"] = upstream::target_text(*c, ep.target);
      t["address"] = ep.key;
      t["weight"] = ep.weight;
      t["health"] = !checked ? "HEALTHCHECKS_OFF" : (healthy ? "HEALTHY" : "UNHEALTHY");
      targets.push_back(std::move(t));
    }
    json::object u;
    u["health"] = !checked ? "HEALTHCHECKS_OFF" : (any && !down ? "HEALTHY" : "UNHEALTHY");
    if (!c->resolve_error.empty()) u["resolve_error"] = c->resolve_error;
    u["targets"] = std::move(targets);
    out[c->upstream_name] = std::move(u);
  }
  return out;
}

// A path segment with %XX escapes decoded ('+' stays '+'); false on a malformed escape.
bool decode_segment(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      return false;
    }
    out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return true;
}

// The path's segments after `prefix` ("/upstreams/a/targets/b/healthy" → a, targets, b,
// healthy), decoded; empty when a segment is empty or badly escaped.
std::vector<std::string> path_segments(std::string_view path, std::string_view prefix) {
  std::vector<std::string> out;
  if (!path.starts_with(prefix)) return out;
  path.remove_prefix(prefix.size());
  while (true) {
    size_t slash = path.find('/');
    std::string segment;
    if (!decode_segment(path.substr(0, slash), segment) || segment.empty()) return {};
    out.push_back(std::move(segment));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

// The index of `target` among the upstream's targets: its id, its text as configured, or its
// normalised "host:port".
std::optional<size_t> find_target(const config::Upstream& u, const upstream::Cluster& c, std::string_view target) {
  for (size_t i = 0; i < u.targets.size(); ++i) {
    const auto& t = u.targets[i];
    if (t.id == target || t.target == target || upstream::target_text(c, i) == target) return i;
  }
  return std::nullopt;
}

void print_errors(const core::ConfigErrors& errors) {
  std::string text = errors.to_string();
  std::fprintf(stderr, "%s\n", text.c_str());
}

class Server {
 public:
  explicit Server(const ServerOptions& options) : options_(options), registry_(make_registry()) {}
  int run();

 private:
  bool apply_overrides(config::ProcessSettings& s);
  // Called on the control thread with the snapshot once a staged config runs on every worker, or
  // with nullptr if it never will (a newer one replaced it while its names resolved, or the
  // process is stopping).
  using Applied = std::function<void(std::shared_ptr<const config::Snapshot>)>;
  enum class LoadKind { kInvalid, kUnchanged, kStaged };
  struct LoadOutcome {
    LoadKind kind = LoadKind::kInvalid;
    core::ConfigErrors errors;
    std::shared_ptr<const config::Snapshot> snapshot;
  };

  void handle_admin(const admin::AdminRequest& req, admin::AdminRespond respond);
  admin::AdminResponse set_target_health(const admin::AdminRequest& req);
  admin::AdminResponse answer_admin(const admin::AdminRequest& req);
  void post_config(const admin::AdminRequest& req, admin::AdminRespond respond);
  // GET /metrics: copies of the workers' metrics shards come back by post(); the answer is built
  // when the last one arrives.
  void scrape_metrics(const admin::AdminRequest& req, admin::AdminRespond respond);
  std::string render_metrics(observability::ExpositionFormat format,
                             std::vector<std::vector<observability::MetricsEpoch>> parts);
  // The metric label names of `snap`'s configuration (rebuilt only when the configuration changes)
  // and the flags of its prometheus instances.
  std::shared_ptr<const observability::MetricNames> update_metric_names(const config::Snapshot& snap);
  void publish(std::shared_ptr<const config::Snapshot> snap, std::function<void()> installed = nullptr);
  void reload();
  // What SIGHUP and POST /config share: compile `text` (named `source` in errors and logs) and
  // stage it: it goes live (`apply`) once its host names have answers.
  LoadOutcome load_config(std::string_view text, const std::string& source, bool skip_unchanged, Applied applied);
  void apply(std::shared_ptr<const config::Snapshot> built, const std::string& source, Applied applied);
  void schedule_dns_publish();
  void begin_shutdown(const char* why);
  void poll_drain();
  void wait_signals();

  ServerOptions options_;
  filter::Registry registry_;
  asio::io_context control_{1};
  asio::signal_set signals_{control_};
  asio::steady_timer drain_timer_{control_};
  std::chrono::steady_clock::time_point drain_deadline_;
  bool shutting_down_ = false;
  std::shared_ptr<const config::Snapshot> current_;
  config::ProcessSettings settings_;
  config::ProcessSettings started_with_;  // the config's own `portico` block at start (no flags)
  std::unique_ptr<observability::AccessLog> access_log_;
  std::vector<std::unique_ptr<runtime::Worker>> workers_;
  std::vector<std::unique_ptr<proxy::WorkerContext>> contexts_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<Discovery> discovery_;
  // Active health checks; told about every snapshot before workers get it (publish()).
  std::unique_ptr<upstream::HealthChecker> health_;
  asio::steady_timer dns_timer_{control_};
  bool dns_publish_pending_ = false;
  uint64_t apply_generation_ = 0;  // a reload waiting for DNS is dropped when a newer one starts
  Applied pending_applied_;        // of the staged config waiting for DNS, if any
  bool ready_ = false;             // a config runs on every worker (and not draining)
  std::atomic<int> workers_drained_{0};
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
  observability::MetricsCollector metrics_collector_;
  std::shared_ptr<const observability::MetricNames> metric_names_;
  const void* metric_names_config_ = nullptr;
  observability::MetricFlags metric_flags_;
};

bool Server::apply_overrides(config::ProcessSettings& s) {
  if (!options_.listen.empty()) {
    s.listen.clear();
    for (const auto& text : options_.listen) {
      net::Address a;
      std::string_view address = text;
      const bool ssl = address.ends_with(" ssl");
      if (ssl) address.remove_suffix(4);
      if (!net::parse_address(address, a)) {
        std::fprintf(stderr, "portico: --listen %s: expected HOST:PORT or \"HOST:PORT ssl\"\n", text.c_str());
        return false;
      }
      s.listen.push_back({a.host, a.port, ssl});
    }
  }
  if (options_.admin_listen) {
    if (*options_.admin_listen == "off") {
      s.admin_listen.reset();
    } else {
      net::Address a;
      if (!net::parse_address(*options_.admin_listen, a)) {
        std::fprintf(stderr, "portico: --admin-listen %s: expected HOST:PORT or off\n", options_.admin_listen->c_str());
        return false;
      }
      s.admin_listen = config::Listen{a.host, a.port};
    }
  }
  if (options_.workers >= 0) s.workers = options_.workers;
  return true;
}

int Server::run() {
  auto built = config::build_from_file(options_.config_path, registry_);
  if (!built.ok()) {
    print_errors(built.errors);
    return 1;
  }
  // Moved, not copied: `built` lives as long as run(), and must not keep the first snapshot (and
  // its plugins' resources) alive after a reload replaced it.
  current_ = std::move(built.snapshot);
  settings_ = current_->config->portico;
  started_with_ = settings_;
  if (!apply_overrides(settings_)) return 2;
  observability::LogLevel level;
  if (observability::parse_log_level(settings_.log_level, level)) observability::set_log_level(level);

  int n = settings_.workers > 0 ? settings_.workers : static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;

  // Signals are caught from here on, so a SIGTERM while names resolve or right after the ready
  // line is handled, never the default disposition.
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  signals_.add(SIGUSR1);

  // Names in service hosts and upstream targets are resolved before the first request, without
  // blocking: the control loop runs until every name has an answer (or has failed: its service
  // answers 503 until a later refresh succeeds). SIGTERM/SIGINT meanwhile stop the start; SIGHUP
  // is ignored (the file is read afresh on the next one).
  discovery_ = std::make_unique<Discovery>(control_, settings_.dns);
  health_ = std::make_unique<upstream::HealthChecker>(control_);
  discovery_->on_change = [this](const std::string&) { schedule_dns_publish(); };

  // The admin API listens from here on, so `GET /status/ready` answers 503 while names resolve
  // (and POST /config answers 503 until the workers run).
  std::string admin_text = "off";
  try {
    if (settings_.admin_listen) {
      auto ep = net::resolve_listen(net::Address{settings_.admin_listen->host, settings_.admin_listen->port});
      auto acc = net::open_acceptor(control_, ep, false);
      admin_ = std::make_unique<admin::AdminServer>(
          control_, std::move(acc),
          [this](const admin::AdminRequest& r, admin::AdminRespond respond) { handle_admin(r, std::move(respond)); });
      auto aep = admin_->local_endpoint();
      admin_text = net::Address{aep.address().to_string(), aep.port()}.to_string();
      admin_->start();
      PORTICO_LOG_INFO("admin api listening admin={} (starting)", admin_text);
    }
  } catch (const std::exception& e) {
    PORTICO_LOG_ERROR("cannot start: {}", e.what());
    return 1;
  }
  {
    auto names = config::host_names(*current_);
    if (!names.empty()) PORTICO_LOG_INFO("resolving {} host names", names.size());
    bool settled = false;
    const char* stopped_by = nullptr;
    std::function<void()> watch_signals = [&] {
      signals_.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP || sig == SIGUSR1) {
          PORTICO_LOG_WARN("{} while starting: ignored", sig == SIGHUP ? "SIGHUP" : "SIGUSR1");
          watch_signals();
          return;
        }
        stopped_by = sig == SIGTERM ? "SIGTERM" : "SIGINT";
      });
    };
    watch_signals();
    discovery_->track(names, [&settled] { settled = true; });
    while (!settled && !stopped_by && control_.run_one() > 0) {
    }
    signals_.cancel();
    control_.poll();  // the cancelled wait completes here, while its captures are alive
    control_.restart();
    if (stopped_by) {
      PORTICO_LOG_INFO("{} while resolving host names: stopped", stopped_by);
      if (admin_) admin_->stop();
      return 0;
    }
    current_ = config::with_addresses(current_, discovery_->lookup_function());
  }

  health_->update(current_->clusters);
  // Remote key sets (jwt plugin `jwks_uri`) fetch on the control thread from here on.
  filters::JwksSource::start(control_);

  try {
    if (settings_.access_log != "off") access_log_ = std::make_unique<observability::AccessLog>(settings_.access_log);

    for (int i = 0; i < n; ++i) {
      workers_.push_back(std::make_unique<runtime::Worker>(i));
      contexts_.push_back(std::make_unique<proxy::WorkerContext>(*workers_.back(), limits_of(settings_),
                                                                 pool_of(settings_), access_log_.get()));
      contexts_.back()->set_access_log_fields(settings_.access_log_fields_compiled);
      contexts_.back()->install(current_, limits_of(settings_), pool_of(settings_));
      contexts_.back()->metrics.begin_epoch(current_->config, update_metric_names(*current_));
    }
    // Each worker gets its own acceptor on every listen address. With port 0, the first bind picks
    // the port and the others join it through SO_REUSEPORT.
    std::vector<std::vector<asio::ip::tcp::acceptor>> per_worker(n);
    std::vector<std::string> bound;
    std::vector<bool> tls_listeners;
    for (const auto& l : settings_.listen) {
      tls_listeners.push_back(l.ssl);
      auto ep = net::resolve_listen(net::Address{l.host, l.port});
      for (int i = 0; i < n; ++i) {
        auto acc = net::open_acceptor(workers_[i]->io(), ep, true);
        if (i == 0) ep = acc.local_endpoint();
        per_worker[i].push_back(std::move(acc));
      }
      bound.push_back(net::Address{ep.address().to_string(), ep.port()}.to_string() + (l.ssl ? " ssl" : ""));
    }
    for (int i = 0; i < n; ++i) {
      auto* ctx = contexts_[i].get();
      auto accs = std::make_shared<std::vector<asio::ip::tcp::acceptor>>(std::move(per_worker[i]));
      workers_[i]->start([ctx, accs, tls_listeners] { ctx->start(std::move(*accs), tls_listeners); });
    }
    // Every worker installed the snapshot before it started.
    ready_ = true;
    std::string proxies;
    for (const auto& b : bound) proxies += " proxy=" + b;
    PORTICO_LOG_INFO("listening{} admin={} workers={} config={}", proxies, admin_text, n, current_->version);
  } catch (const std::exception& e) {
    PORTICO_LOG_ERROR("cannot start: {}", e.what());
    filters::JwksSource::stop();
    for (auto& w : workers_) w->stop();
    for (auto& w : workers_) w->join();
    return 1;
  }

  wait_signals();
  control_.run();

  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  // Sessions cancelled by close_all() still have completions queued: let them run to the end on
  // this thread, so no coroutine outlives the WorkerContext it refers to.
  bool leftover = false;
  for (size_t i = 0; i < workers_.size(); ++i) {
    auto& io = workers_[i]->io();
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (contexts_[i]->live_sessions() > 0 && std::chrono::steady_clock::now() < until) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    leftover = leftover || contexts_[i]->live_sessions() > 0;
  }
  if (access_log_) access_log_->flush();
  observability::flush_log_destinations();
  if (leftover) {
    // A session stuck in something no cancellation reaches: do not tear down state it may still
    // touch; the process is exiting anyway.
    PORTICO_LOG_WARN("stopped with sessions still open");
    std::fflush(nullptr);
    std::_Exit(0);
  }
  contexts_.clear();
  workers_.clear();
  PORTICO_LOG_INFO("stopped");
  return 0;
}

void Server::wait_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload();
      wait_signals();
      return;
    }
    if (sig == SIGUSR1) {
      // Log rotation: every log file is closed and opened again before its next write.
      PORTICO_LOG_INFO("SIGUSR1: reopening log files");
      if (access_log_) access_log_->reopen();
      observability::reopen_log_destinations();
      wait_signals();
      return;
    }
    begin_shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    wait_signals();  // a second signal during the drain is absorbed; the grace period still ends it
  });
}

void Server::publish(std::shared_ptr<const config::Snapshot> snap, std::function<void()> installed) {
  // What is in flight keeps counting against the new limits (circuit_breaker.h).
  if (current_) upstream::carry_breaker_counts(current_->clusters, snap->clusters);
  current_ = snap;
  // Known health goes into the new clusters before any worker can pick from them.
  if (health_) health_->update(snap->clusters);
  auto limits = limits_of(settings_);
  auto pool = pool_of(settings_);
  auto names = update_metric_names(*snap);
  if (contexts_.empty()) {
    if (installed) asio::post(control_, std::move(installed));
    return;
  }
  // The last worker to install it reports back to the control thread.
  auto remaining = std::make_shared<std::atomic<size_t>>(contexts_.size());
  for (auto& ctx : contexts_) {
    auto* c = ctx.get();
    c->worker().post([this, c, snap, limits, pool, remaining, installed, names] {
      c->install(snap, limits, pool);
      c->metrics.begin_epoch(snap->config, names);
      if (installed && remaining->fetch_sub(1) == 1) asio::post(control_, installed);
    });
  }
}

void Server::reload() {
  std::string text;
  std::string error;
  if (!read_text_file(options_.config_path, text, error)) {
    ++reload_failures_;
    PORTICO_LOG_ERROR("reload of {} failed; keeping config {}:\n{}", options_.config_path, current_->version, error);
    return;
  }
  load_config(text, options_.config_path, false, nullptr);
}

Server::LoadOutcome Server::load_config(std::string_view text, const std::string& source, bool skip_unchanged,
                                        Applied applied) {
  LoadOutcome out;
  auto built = config::build_from_string(text, source, registry_);
  if (!built.ok()) {
    ++reload_failures_;
    PORTICO_LOG_ERROR("reload of {} failed; keeping config {}:\n{}", source, current_->version,
                      built.errors.to_string());
    out.errors = std::move(built.errors);
    return out;
  }
  out.snapshot = built.snapshot;
  if (skip_unchanged && built.snapshot->version == current_->version) {
    out.kind = LoadKind::kUnchanged;
    return out;
  }
  out.kind = LoadKind::kStaged;
  // A config still waiting for its names never goes live now: its waiter learns so.
  if (pending_applied_) {
    auto superseded = std::move(pending_applied_);
    pending_applied_ = nullptr;
    superseded(nullptr);
  }
  pending_applied_ = std::move(applied);
  // The new config goes live once its host names have answers. Until then the running config's
  // names stay tracked too, so its endpoints keep being refreshed.
  auto snap = built.snapshot;
  auto wanted = config::host_names(*snap);
  auto running = config::host_names(*current_);
  std::vector<std::string> names;
  std::set_union(wanted.begin(), wanted.end(), running.begin(), running.end(), std::back_inserter(names));
  const uint64_t generation = ++apply_generation_;
  discovery_->track(names, [this, snap, source, generation] {
    if (generation != apply_generation_) return;
    auto done = std::move(pending_applied_);
    pending_applied_ = nullptr;
    apply(snap, source, std::move(done));
  });
  return out;
}

// Answers that change together (several names of one service, a burst of expiries) are published
// as one snapshot: the first change arms a short timer, the others join it.
void Server::schedule_dns_publish() {
  if (dns_publish_pending_) return;
  dns_publish_pending_ = true;
  dns_timer_.expires_after(std::chrono::milliseconds(20));
  dns_timer_.async_wait([this](const boost::system::error_code& ec) {
    dns_publish_pending_ = false;
    if (ec || shutting_down_) return;
    auto next = config::with_addresses(current_, discovery_->lookup_function());
    if (next == current_) return;
    PORTICO_LOG_INFO("dns: endpoints changed; publishing generation {}", next->endpoints_generation);
    publish(std::move(next));
  });
}

void Server::apply(std::shared_ptr<const config::Snapshot> built, const std::string& source, Applied applied) {
  if (shutting_down_) {
    if (applied) applied(nullptr);
    return;
  }
  discovery_->track(config::host_names(*built), nullptr);
  auto snap = config::with_addresses(built, discovery_->lookup_function());
  // Process settings that need new sockets or threads (listen, workers, dns) take effect on
  // restart.
  auto fresh = snap->config->portico;
  auto ignored = restart_only_changes(started_with_, fresh);
  if (!ignored.empty()) PORTICO_LOG_WARN("{}: portico {} changed: takes effect on restart", source, ignored);
  settings_.max_header_bytes = fresh.max_header_bytes;
  settings_.max_headers = fresh.max_headers;
  settings_.max_uri_bytes = fresh.max_uri_bytes;
  settings_.max_body_bytes = fresh.max_body_bytes;
  settings_.max_connections = fresh.max_connections;
  settings_.max_concurrent_requests = fresh.max_concurrent_requests;
  settings_.client_header_timeout_ms = fresh.client_header_timeout_ms;
  settings_.client_body_timeout_ms = fresh.client_body_timeout_ms;
  settings_.keepalive_timeout_ms = fresh.keepalive_timeout_ms;
  settings_.upstream_keepalive_pool_size = fresh.upstream_keepalive_pool_size;
  settings_.upstream_keepalive_max_requests = fresh.upstream_keepalive_max_requests;
  settings_.upstream_keepalive_idle_timeout_ms = fresh.upstream_keepalive_idle_timeout_ms;
  ++reloads_;
  std::function<void()> installed;
  if (applied) installed = [applied, snap] { applied(snap); };
  publish(snap, std::move(installed));
  PORTICO_LOG_INFO("reloaded {}: config={}", source, snap->version);
}

void Server::begin_shutdown(const char* why) {
  if (shutting_down_) return;
  shutting_down_ = true;
  ready_ = false;
  if (pending_applied_) {
    auto pending = std::move(pending_applied_);
    pending_applied_ = nullptr;
    pending(nullptr);
  }
  PORTICO_LOG_INFO("{}: draining (grace period {} ms)", why, settings_.drain_timeout_ms);
  if (admin_) admin_->stop();
  if (health_) health_->stop();
  filters::JwksSource::stop();
  for (auto& ctx : contexts_) {
    auto* c = ctx.get();
    c->worker().post([c] { c->begin_drain(); });
  }
  drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.drain_timeout_ms);
  poll_drain();
}

void Server::poll_drain() {
  int64_t live = 0;
  for (auto& ctx : contexts_) live += ctx->live_sessions();
  bool expired = std::chrono::steady_clock::now() >= drain_deadline_;
  if (live == 0 || expired) {
    if (live > 0) PORTICO_LOG_WARN("grace period over: closing {} connections", live);
    auto remaining = std::make_shared<std::atomic<int>>(static_cast<int>(contexts_.size()));
    for (auto& ctx : contexts_) {
      auto* c = ctx.get();
      c->worker().post([this, c, remaining] {
        c->close_all();
        if (--*remaining == 0) asio::post(control_, [this] { control_.stop(); });
      });
    }
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) poll_drain();
  });
}

void Server::handle_admin(const admin::AdminRequest& req, admin::AdminRespond respond) {
  if (req.path == "/config" && req.method == "POST") {
    post_config(req, std::move(respond));
    return;
  }
  if (req.path == "/metrics" && (req.method == "GET" || req.method == "HEAD")) {
    scrape_metrics(req, std::move(respond));
    return;
  }
  respond(answer_admin(req));
}

std::shared_ptr<const observability::MetricNames> Server::update_metric_names(const config::Snapshot& snap) {
  if (!metric_names_ || metric_names_config_ != snap.config.get()) {
    metric_names_ = metric_names(snap);
    metric_names_config_ = snap.config.get();
    metric_flags_ = metric_flags(snap);
  }
  return metric_names_;
}

void Server::scrape_metrics(const admin::AdminRequest& req, admin::AdminRespond respond) {
  const auto format = observability::negotiate_format(req.accept);
  struct Scrape {
    std::vector<std::vector<observability::MetricsEpoch>> parts;
    size_t pending = 0;
    admin::AdminRespond respond;
    observability::ExpositionFormat format;
  };
  auto st = std::make_shared<Scrape>();
  st->respond = std::move(respond);
  st->format = format;
  auto finish = [this](Scrape& s) {
    admin::AdminResponse resp;
    resp.content_type = std::string(s.format == observability::ExpositionFormat::kOpenMetrics
                                        ? observability::kOpenMetricsContentType
                                        : observability::kPrometheusTextContentType);
    resp.body = render_metrics(s.format, std::move(s.parts));
    s.respond(std::move(resp));
  };
  // Without a prometheus instance no shard records anything: the process-wide families only.
  if (!metric_flags_.enabled || contexts_.empty() || shutting_down_) {
    finish(*st);
    return;
  }
  st->parts.resize(contexts_.size());
  st->pending = contexts_.size();
  for (size_t i = 0; i < contexts_.size(); ++i) {
    auto* c = contexts_[i].get();
    c->worker().post([this, c, st, i, finish] {
      auto part = std::make_shared<std::vector<observability::MetricsEpoch>>(c->metrics.collect());
      asio::post(control_, [st, i, part, finish] {
        st->parts[i] = std::move(*part);
        if (--st->pending == 0) finish(*st);
      });
    });
  }
}

std::string Server::render_metrics(observability::ExpositionFormat format,
                                   std::vector<std::vector<observability::MetricsEpoch>> parts) {
  std::vector<observability::MetricFamily> families;
  GatewayView view;
  for (auto& ctx : contexts_) {
    view.workers.push_back(WorkerView{ctx->worker().index(), &ctx->stats, ctx->config_version()});
  }
  view.config_version = current_->version;
  view.config_reloads = reloads_;
  view.config_reload_failures = reload_failures_;
  view.health_state_changes = health_ ? health_->state_changes() : 0;
  append_gateway_families(view, families);
  // Every scrape folds what the workers handed over, even one whose families are off: retired
  // counts are handed over once.
  metrics_collector_.begin_scrape();
  for (auto& p : parts) metrics_collector_.add(std::move(p));
  metrics_collector_.append_families(metric_names_.get(), metric_flags_, families);
  if (metric_flags_.upstream_health_metrics) append_upstream_health_family(*current_, families);
  observability::append_process_families(families);
  std::string out;
  observability::write_exposition(families, format, out);
  return out;
}

// POST /config (Kong DB-less): the body replaces the whole declarative config. The answer waits
// until the new snapshot runs on every worker (after its names resolve), so a client that got 201
// knows the next request sees it.
void Server::post_config(const admin::AdminRequest& req, admin::AdminRespond respond) {
  admin::AdminResponse resp;
  if (!ready_) {
    resp.status = 503;
    resp.body = json_message(shutting_down_ ? "draining" : "starting: the initial config is not live yet");
    respond(std::move(resp));
    return;
  }
  std::string text;
  std::string error;
  if (!admin::extract_config_text(req.content_type, req.body, text, error)) {
    resp.status = 400;
    resp.body = json_message(error);
    respond(std::move(resp));
    return;
  }
  // Kong's attribute form in JSON: {"config": "<the YAML or JSON text>"}.
  if (admin::media_type(req.content_type) == "application/json") {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (!ec && v.is_object() && !v.as_object().contains("_format_version")) {
      if (const auto* config = v.as_object().if_contains("config"); config && config->is_string()) {
        text = std::string(config->as_string());
      }
    }
  }
  const bool check_hash = query_flag(req.query, "check_hash");
  auto on_live = [this, respond](std::shared_ptr<const config::Snapshot> live) {
    admin::AdminResponse r;
    if (!live) {
      r.status = 409;
      r.body = json_message(shutting_down_ ? "draining: the posted config was not applied"
                                           : "superseded by a newer config before it went live");
      respond(std::move(r));
      return;
    }
    const auto& c = *live->config;
    json::object root;
    root["config_version"] = live->version;
    root["configuration_hash"] = live->version;
    root["services"] = c.services.size();
    root["routes"] = c.routes.size();
    root["upstreams"] = c.upstreams.size();
    root["consumers"] = c.consumers.size();
    root["plugins"] = c.plugins.size();
    root["workers"] = contexts_.size();
    r.status = 201;
    r.body = json::serialize(root);
    respond(std::move(r));
  };
  auto outcome = load_config(text, "POST /config", check_hash, std::move(on_live));
  switch (outcome.kind) {
    case LoadKind::kInvalid:
      resp.status = 400;
      resp.body = invalid_config_body(outcome.errors);
      respond(std::move(resp));
      return;
    case LoadKind::kUnchanged:
      resp.status = 304;  // Kong: check_hash and the same config; no body
      respond(std::move(resp));
      return;
    case LoadKind::kStaged:
      return;  // the callback answers
  }
}

// An operator marks a target (all its addresses) or one address of it healthy or unhealthy; the
// state holds until the health checks decide otherwise (upstream/health_checker.h).
admin::AdminResponse Server::set_target_health(const admin::AdminRequest& req) {
  admin::AdminResponse resp;
  auto fail = [&](int status, std::string_view message) {
    resp.status = status;
    resp.body = json_message(message);
    return resp;
  };
  auto parts = path_segments(req.path, "/upstreams/");
  if (parts.size() != 4 && parts.size() != 5) return fail(404, "Not found");
  if (parts[1] != "targets") return fail(404, "Not found");
  const bool healthy = parts.back() == "healthy";
  const config::Upstream* up = nullptr;
  for (const auto& u : current_->config->upstreams) {
    if (u.name == parts[0] || (!u.id.empty() && u.id == parts[0])) up = &u;
  }
  if (!up) return fail(404, "upstream \"" + parts[0] + "\" not found");
  const upstream::Cluster* cluster = nullptr;
  for (const auto& c : current_->clusters) {
    if (c->upstream_name == up->name) {
      cluster = c.get();
      break;
    }
  }
  if (!cluster) return fail(404, "upstream \"" + up->name + "\" is not used by any service");
  auto target = find_target(*up, *cluster, parts[2]);
  if (!target) return fail(404, "target \"" + parts[2] + "\" not found in upstream \"" + up->name + "\"");
  std::vector<std::string> keys;
  for (const auto& ep : cluster->endpoints) {
    if (ep.target != *target) continue;
    if (parts.size() == 5 && ep.key != parts[3]) continue;
    keys.push_back(ep.key);
  }
  if (keys.empty()) {
    return fail(404, parts.size() == 5 ? "address \"" + parts[3] + "\" is not an address of target \"" +
                                             parts[2] + "\""
                                       : "target \"" + parts[2] + "\" has no resolved address yet");
  }
  const int known = health_ ? health_->set_by_operator(up->name, keys, healthy) : -1;
  if (known < 0) {
    return fail(400, "upstream \"" + up->name +
                         "\" has no health checks: set healthchecks.active or healthchecks.passive to hold a "
                         "target's health");
  }
  resp.status = 204;  // Kong: 204 No Content
  resp.body.clear();
  return resp;
}

admin::AdminResponse Server::answer_admin(const admin::AdminRequest& req) {
  admin::AdminResponse resp;
  if (req.path == "/status/ready" && (req.method == "GET" || req.method == "HEAD")) {
    // Kong 3.3+: 200 once the node can serve its config, 503 before (and while draining here).
    json::object root;
    root["ready"] = ready_;
    root["message"] = ready_ ? "ready" : (shutting_down_ ? "draining" : "starting: resolving host names");
    root["configuration_hash"] = current_->version;
    resp.status = ready_ ? 200 : 503;
    resp.body = json::serialize(root);
    return resp;
  }
  auto sum = [&](auto member) {
    uint64_t total = 0;
    for (auto& ctx : contexts_) total += static_cast<uint64_t>((ctx->stats.*member).value());
    return total;
  };
  using S = observability::WorkerStats;
  if (req.path == "/status" && (req.method == "GET" || req.method == "HEAD")) {
    json::object server;
    server["connections_accepted"] = sum(&S::connections_accepted);
    server["connections_active"] = sum(&S::connections_active);
    server["connections_handled"] = sum(&S::connections_accepted);
    server["connections_reading"] = sum(&S::connections_reading);
    server["connections_writing"] = sum(&S::connections_writing);
    server["connections_waiting"] =
        sum(&S::connections_active) - sum(&S::connections_writing) - sum(&S::connections_reading);
    server["total_requests"] = sum(&S::requests_total);
    json::object counters;
    counters["bad_requests"] = sum(&S::bad_requests);
    counters["no_route"] = sum(&S::no_route);
    counters["local_replies"] = sum(&S::local_replies);
    counters["upstream_requests"] = sum(&S::upstream_requests);
    counters["upstream_reused_connections"] = sum(&S::upstream_reused);
    counters["upstream_connect_failures"] = sum(&S::upstream_connect_failures);
    counters["upstream_timeouts"] = sum(&S::upstream_timeouts);
    counters["upstream_bad_responses"] = sum(&S::upstream_bad_responses);
    counters["upstream_retries"] = sum(&S::upstream_retries);
    {
      static constexpr const char* kLimits[] = {"max_connections", "max_pending_requests", "max_requests",
                                                "max_retries"};
      json::object trips;
      for (size_t l = 0; l < 4; ++l) {
        uint64_t t = 0;
        for (auto& ctx : contexts_) t += ctx->stats.circuit_breaker_trips[l].value();
        trips[kLimits[l]] = t;
      }
      counters["circuit_breaker_trips"] = std::move(trips);
    }
    counters["bytes_received"] = sum(&S::bytes_received);
    counters["bytes_sent"] = sum(&S::bytes_sent);
    counters["access_log_dropped"] = sum(&S::access_log_dropped);
    {
      const auto plugin_logs = observability::log_destination_totals();
      counters["log_plugin_dropped"] = plugin_logs.dropped;
      counters["log_plugin_write_errors"] = plugin_logs.write_errors;
    }
    {
      // The opentelemetry plugin's live exporters, summed.
      uint64_t exported = 0, queue_full = 0, export_failed = 0, failures = 0;
      for (const auto& e : observability::SpanExporter::all_counters()) {
        exported += e.spans_exported;
        queue_full += e.spans_dropped_queue_full;
        export_failed += e.spans_dropped_export_failed;
        failures += e.export_failures;
      }
      json::object tracing;
      tracing["spans_exported"] = exported;
      tracing["spans_dropped_queue_full"] = queue_full;
      tracing["spans_dropped_export_failed"] = export_failed;
      tracing["export_failures"] = failures;
      counters["tracing"] = std::move(tracing);
    }
    counters["accept_paused"] = sum(&S::accept_paused);
    {
      json::object failures;
      for (size_t i = 0; i < static_cast<size_t>(observability::TlsFailure::kCount); ++i) {
        uint64_t t = 0;
        for (const auto& c : contexts_) t += c->stats.tls_handshake_failures[i].value();
        failures[observability::kTlsFailureNames[i]] = t;
      }
      counters["tls_handshake_failures"] = std::move(failures);
      counters["tls_handshakes"] = sum(&S::tls_handshakes);
      counters["tls_misdirected"] = sum(&S::tls_misdirected);
    }
    counters["overload_rejected"] = sum(&S::overload_rejected);
    counters["rate_limited"] = sum(&S::rate_limited);
    counters["rate_limit_store_errors"] = sum(&S::rate_limit_store_errors);
    {
      json::object rejected;
      for (size_t p = 0; p < observability::kAuthPlugins; ++p) {
        json::object reasons;
        for (size_t r = 0; r < observability::kAuthReasons; ++r) {
          if (!observability::kAuthReasonApplies[p][r]) continue;
          uint64_t t = 0;
          for (auto& ctx : contexts_) t += ctx->stats.auth_rejected[p][r].value();
          reasons[observability::kAuthReasonNames[r]] = t;
        }
        rejected[observability::kAuthPluginNames[p]] = std::move(reasons);
      }
      counters["auth_rejected"] = std::move(rejected);
    }
    json::object by_class;
    for (int c = 1; c <= 5; ++c) {
      uint64_t t = 0;
      for (auto& ctx : contexts_) t += ctx->stats.responses[c].value();
      by_class[std::to_string(c) + "xx"] = t;
    }
    counters["responses"] = std::move(by_class);
    counters["config_reloads"] = reloads_;
    counters["config_reload_failures"] = reload_failures_;
    counters["endpoints_generation"] = current_->endpoints_generation;
    if (discovery_) {
      const auto& d = discovery_->stats();
      json::object dns;
      dns["names"] = discovery_->tracked();
      dns["queries_sent"] = d.queries_sent.value();
      dns["cache_hits"] = d.cache_hits.value();
      dns["timeouts"] = d.timeouts.value();
      dns["server_failures"] = d.server_failures.value();
      dns["lookup_failures"] = d.lookup_failures.value();
      dns["responses_ignored"] = d.responses_ignored.value();
      dns["changes"] = d.watch_changes.value();
      dns["refresh_failures"] = d.watch_refresh_failures.value();
      counters["dns"] = std::move(dns);
    }
    json::array workers;
    for (auto& ctx : contexts_) {
      json::object w;
      w["index"] = ctx->worker().index();
      w["config_version"] = ctx->config_version();
      w["connections_active"] = ctx->stats.connections_active.value();
      w["total_requests"] = ctx->stats.requests_total.value();
      workers.push_back(std::move(w));
    }
    json::object root;
    root["server"] = std::move(server);
    root["counters"] = std::move(counters);
    // Kong's /status has `memory` (Lua VMs and shared dicts); Portico's is the process's.
    if (observability::ProcessSample p; observability::sample_process(p)) {
      json::object memory;
      memory["resident_bytes"] = static_cast<uint64_t>(p.resident_bytes);
      root["memory"] = std::move(memory);
    }
    root["workers"] = std::move(workers);
    root["configuration_hash"] = current_->version;
    root["version"] = "0.1.0";
    root["draining"] = shutting_down_;
    root["upstreams"] = upstreams_health(*current_);
    if (health_) {
      json::object hc;
      hc["probes"] = health_->probes();
      hc["state_changes"] = health_->state_changes();
      root["health_checks"] = std::move(hc);
    }
    {
      json::array jwks;
      for (const auto& j : filters::JwksSource::all_status()) {
        json::object o;
        o["uri"] = j.uri;
        o["fetches_ok"] = j.fetches_ok;
        o["fetches_failed"] = j.fetches_failed;
        o["unknown_kid_refreshes"] = j.unknown_kid_refreshes;
        o["unknown_kid_suppressed"] = j.unknown_kid_suppressed;
        o["keys"] = j.keys;
        o["seconds_since_good_fetch"] = j.seconds_since_good_fetch;
        o["last_error"] = j.last_error;
        jwks.push_back(std::move(o));
      }
      root["jwks"] = std::move(jwks);
    }
    resp.body = json::serialize(root);
    return resp;
  }
  // Kong: GET /upstreams/{name}/health lists the targets with their health.
  if (req.method == "GET" && req.path.size() > 18 && req.path.starts_with("/upstreams/") &&
      req.path.ends_with("/health")) {
    std::string_view name = std::string_view(req.path).substr(11, req.path.size() - 11 - 7);
    auto all = upstreams_health(*current_);
    auto* u = name.empty() ? nullptr : all.if_contains(name);
    if (!u) {
      resp.status = 404;
      resp.body = "{\"message\":\"Not found\"}";
      return resp;
    }
    json::object root;
    root["health"] = u->as_object().at("health");
    root["total"] = u->as_object().at("targets").as_array().size();
    root["data"] = u->as_object().at("targets");
    resp.body = json::serialize(root);
    return resp;
  }
  // Kong: PUT (or POST) /upstreams/{upstream}/targets/{target}[/{address}]/healthy|unhealthy.
  if ((req.method == "PUT" || req.method == "POST") && req.path.starts_with("/upstreams/") &&
      (req.path.ends_with("/healthy") || req.path.ends_with("/unhealthy"))) {
    return set_target_health(req);
  }
  if (req.path == "/" && req.method == "GET") {
    json::object root;
    root["tagline"] = "Welcome to portico";
    root["version"] = "0.1.0";
    root["configuration_hash"] = current_->version;
    resp.body = json::serialize(root);
    return resp;
  }
  resp.status = 404;
  resp.body = "{\"message\":\"Not found\"}";
  return resp;
}

}  // namespace

int run_server(const ServerOptions& options) {
  Server server(options);
  return server.run();
}

int check_config(const std::string& path) {
  filter::Registry registry = make_registry();
  auto built = config::build_from_file(path, registry);
  if (!built.ok()) {
    print_errors(built.errors);
    return 1;
  }
  const auto& c = *built.snapshot->config;
  std::printf("%s: OK (config %s: %zu services, %zu routes, %zu plugins)\n", path.c_str(),
              built.snapshot->version.c_str(), c.services.size(), c.routes.size(), c.plugins.size());
  return 0;
}

}  // namespace portico::server
