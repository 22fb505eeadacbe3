// WorkerContext: everything one worker thread owns: its listeners, the snapshot it runs, its
// upstream pools, its stats shard, its access-log buffer and its live sessions.
//
// Contract: constructed by the server on the control thread before the worker starts; from then
// on touched only on the worker thread, except `stats` (read by the control thread) and
// `config_version_` (an atomic the control thread reads). New snapshots arrive by `post()` of
// `install()`; requests pin the snapshot they started with through `SnapshotRef`, which counts
// references without atomics because only this thread touches them.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "config/snapshot.h"
#include "core/request_id.h"
#include "filter/log_fields.h"
#include "observability/access_log.h"
#include "observability/metrics.h"
#include "observability/worker_stats.h"
#include "runtime/worker.h"
#include "upstream/balancer.h"
#include "upstream/connection_pool.h"

namespace portico::proxy {

class Http1Session;

// The snapshot as this worker holds it, with a thread-local reference count.
struct LocalSnapshot {
  std::shared_ptr<const config::Snapshot> shared;
  uint32_t refs = 0;
  // This worker's load-balancer state for each cluster of the snapshot (same index). Requests
  // that started on the snapshot keep using (and releasing) these, so a reload never mixes the
  // accounting of two target sets. A snapshot that shares a cluster with the previous one (a DNS
  // change elsewhere) shares its balancer too, so unrelated clusters keep their state.
  std::vector<std::shared_ptr<upstream::Balancer>> balancers;
  // Chains with a consumer's plugins merged in (Snapshot::chain_for), built on first use by this
  // worker and kept with the snapshot: keyed by route, consumer and the priority of the filter
  // that authenticated. At most kMaxConsumerChains; beyond that a request builds its own.
  struct ConsumerChainKey {
    const router::Route* route;
    int consumer;
    int priority;
    bool operator==(const ConsumerChainKey&) const = default;
  };
  struct ConsumerChainHash {
    size_t operator()(const ConsumerChainKey& k) const {
      return std::hash<const void*>()(k.route) ^ (static_cast<size_t>(k.consumer) * 0x9E3779B97F4A7C15ull) ^
             static_cast<size_t>(static_cast<uint32_t>(k.priority));
    }
  };
  static constexpr size_t kMaxConsumerChains = 65536;
  std::unordered_map<ConsumerChainKey, std::unique_ptr<filter::Chain>, ConsumerChainHash> consumer_chains;
};

class WorkerContext;

class SnapshotRef {
 public:
  SnapshotRef() = default;
  SnapshotRef(WorkerContext* ctx, LocalSnapshot* s);
  SnapshotRef(const SnapshotRef&) = delete;
  SnapshotRef& operator=(const SnapshotRef&) = delete;
  SnapshotRef(SnapshotRef&& o) noexcept : ctx_(o.ctx_), s_(o.s_) { o.s_ = nullptr; }
  SnapshotRef& operator=(SnapshotRef&& o) noexcept;
  ~SnapshotRef() { release(); }
  const config::Snapshot* operator->() const { return s_->shared.get(); }
  const config::Snapshot& operator*() const { return *s_->shared; }
  // The worker's balancer for `cluster`, its availability brought up to date with the cluster's
  // health checks first (one atomic load when nothing changed; upstream/health.h).
  upstream::Balancer& balancer(size_t cluster) const {
    upstream::Balancer& b = *s_->balancers[cluster];
    if (const auto& health = s_->shared->clusters[cluster]->health) b.sync_health(*health);
    return b;
  }
  // The chain to continue with after a filter of `priority` authenticated the request as
  // `consumer` (the route's own chain when the consumer has no plugins). Valid while this
  // reference lives; `overflow` holds it when the worker's cache is full.
  const filter::Chain* consumer_chain(const router::Route& route, int consumer, int priority,
                                      std::optional<filter::Chain>& overflow) const;
  explicit operator bool() const { return s_ != nullptr; }
  void release();

 private:
  WorkerContext* ctx_ = nullptr;
  LocalSnapshot* s_ = nullptr;
};

struct ProcessLimits {
  uint32_t max_header_bytes = 65536;
  uint32_t max_headers = 100;
  uint32_t max_uri_bytes = 8192;
  uint64_t max_body_bytes = 0;
  uint32_t max_connections = 0;          // client connections on this worker; 0 = unlimited
  uint32_t max_concurrent_requests = 0;  // requests in flight on this worker; 0 = unlimited
  std::chrono::milliseconds client_header_timeout{60000};
  std::chrono::milliseconds client_body_timeout{60000};
  std::chrono::milliseconds keepalive_timeout{60000};
  // `portico.headers`: latency headers on responses (off by default).
  bool latency_tokens = false;  // X-Portico-Upstream-Latency / -Proxy-Latency / -Response-Latency
  bool server_timing = false;   // Server-Timing: gateway, connect, upstream
};

class WorkerContext {
 public:
  WorkerContext(runtime::Worker& worker, ProcessLimits limits, upstream::PoolSettings pool,
                observability::AccessLog* access_log);
  ~WorkerContext();

  runtime::Worker& worker() { return worker_; }
  boost::asio::io_context& io() { return worker_.io(); }
  const ProcessLimits& limits() const { return limits_; }

  // Worker thread. Starts accepting on the given acceptors (already bound and listening). With
  // limits().max_connections sessions open, the worker stops accepting (new connections wait in
  // the listen backlog) until a session ends or install() brings a higher limit.
  // `tls[i]`: acceptor i is a TLS listener (missing = plaintext).
  void start(std::vector<boost::asio::ip::tcp::acceptor> acceptors, std::vector<bool> tls = {});
  // Worker thread. Makes `snap` the snapshot new requests use.
  void install(std::shared_ptr<const config::Snapshot> snap, ProcessLimits limits,
               upstream::PoolSettings pool);
  SnapshotRef snapshot() { return SnapshotRef(this, current_); }
  bool has_snapshot() const { return current_ != nullptr; }

  // Worker thread. Admits one more request in flight unless `max_concurrent_requests` are
  // already; every admitted request must call end_request() exactly once.
  bool try_begin_request() {
    if (limits_.max_concurrent_requests != 0 && requests_in_flight_ >= limits_.max_concurrent_requests) {
      return false;
    }
    ++requests_in_flight_;
    return true;
  }
  void end_request() { --requests_in_flight_; }

  // Worker thread. Stops accepting, closes idle keep-alive connections and asks busy sessions to
  // close after their current response.
  void begin_drain();
  bool draining() const { return draining_; }
  // Worker thread. Closes every session and pooled connection now (end of the grace period).
  void close_all();

  // Any thread.
  std::string config_version() const;
  int64_t live_sessions() const { return stats.connections_active.value(); }

  observability::WorkerStats stats;
  // The `prometheus` plugin's shard: worker thread only (start() makes it the thread's current
  // shard); the admin API gets copies by post() (observability/metrics.h).
  observability::MetricsShard metrics;
  upstream::ConnectionPool pool;
  core::RequestIdGenerator ids;
  observability::AccessLogBuffer access_log;
  // The access log's fields (`portico.access_log_fields`); the default line when none are set.
  // Set before start() (the setting needs a restart, like `access_log`).
  void set_access_log_fields(std::shared_ptr<const filter::LogFields> fields) { access_log_fields_ = std::move(fields); }
  const filter::LogFields& access_log_fields() const {
    return access_log_fields_ ? *access_log_fields_ : filter::LogFields::access_log_default();
  }

  // Session registry, for drain and for `max_connections`. Removing a session may resume a
  // paused accept loop.
  std::list<Http1Session*>::iterator add_session(Http1Session* s) { return sessions_.insert(sessions_.end(), s); }
  void remove_session(std::list<Http1Session*>::iterator it);

  // HTTP Date header value, refreshed at most once per second.
  std::string_view http_date();

 private:
  friend class SnapshotRef;
  void accept_loop(size_t index);
  // After an accept completes (or is cancelled): accept again, unless paused or draining.
  void continue_accepting(size_t index);
  bool at_connection_limit() const {
    return limits_.max_connections != 0 && sessions_.size() >= limits_.max_connections;
  }
  void pause_accepting();
  void resume_accepting();
  void release(LocalSnapshot* s);
  void schedule_flush();

  runtime::Worker& worker_;
  ProcessLimits limits_;
  std::vector<boost::asio::ip::tcp::acceptor> acceptors_;
  // Per acceptor: an accept (or its retry timer) is outstanding and its handler will decide
  // whether to accept again. A paused acceptor has none, so resume_accepting() restarts it.
  std::vector<bool> accepting_;
  std::vector<bool> tls_;  // per acceptor: a TLS listener
  bool accept_paused_ = false;  // at max_connections: new connections wait in the kernel backlog
  uint32_t requests_in_flight_ = 0;
  LocalSnapshot* current_ = nullptr;
  bool draining_ = false;
  std::list<Http1Session*> sessions_;
  boost::asio::steady_timer flush_timer_;
  std::shared_ptr<const filter::LogFields> access_log_fields_;
  mutable std::mutex version_mu_;  // guards version_ (read by the admin API, written on install)
  std::string version_;
  char date_[40] = {};
  size_t date_len_ = 0;
  time_t date_second_ = 0;
};

}  // namespace portico::proxy
