// ConnectionPool: one worker's keep-alive connections to upstream endpoints.
//
// Contract: owned by one worker; never shared. `acquire` hands out an idle connection to the
// endpoint (checking that the upstream has not closed it meanwhile) or null; `release` returns a
// connection whose last response was read completely and that may be reused. Connections idle for
// longer than the idle timeout are closed by a sweep and never handed out. Pools are keyed by
// endpoint address, so a config reload that keeps an upstream keeps its connections. A TLS
// connection's key adds its TLS identity ("ip:port|tls|<sni>|<context identity>"), so plaintext
// and TLS connections, different server names or different verification settings never mix.
// The pool also keeps the newest TLS session per key, so that new connections resume.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "codec/http1/response_parser.h"
#include "core/counter.h"
#include "session/stream.h"
#include "upstream/circuit_breaker.h"

namespace portico::upstream {

struct UpstreamConnection {
  UpstreamConnection(boost::asio::ip::tcp::socket socket, std::string key)
      : stream(std::move(socket), 32 * 1024, 96 * 1024), key(std::move(key)) {}
  session::Stream stream;
  std::string key;
  codec::http1::ResponseParser parser;
  uint32_t requests = 0;
  std::chrono::steady_clock::time_point idle_since{};
  // The max_connections slot of the breaker of the cluster that opened it (none when that
  // cluster has no breaker), held until the connection is destroyed. `breaker` keeps the breaker
  // alive past its snapshot; it is declared first so that `breaker_slot` is released before it.
  std::shared_ptr<CircuitBreaker> breaker;
  CircuitBreaker::Slot breaker_slot;
};

struct PoolSettings {
  size_t max_idle_per_endpoint = 512;
  uint32_t max_requests = 10000;
  std::chrono::milliseconds idle_timeout{60000};
};

class ConnectionPool {
 public:
  ConnectionPool(boost::asio::io_context& io, PoolSettings settings);
  ~ConnectionPool();

  // A connection is checked with one non-blocking peek (nothing to read, no EOF) before it is
  // handed out, unless `replayable` and it was idle for less than kTrustIdle: a caller that can
  // resend the request on a fresh connection (bodiless idempotent requests) saves the syscall on
  // a busy pool, and no upstream closes or talks on a connection idle for under a second.
  static constexpr std::chrono::milliseconds kTrustIdle{1000};
  std::unique_ptr<UpstreamConnection> acquire(const std::string& key, bool replayable = false);
  void release(std::unique_ptr<UpstreamConnection> conn);
  // The TLS session to resume on a new connection under `key`, or null (borrowed: valid until
  // the next call into the pool).
  SSL_SESSION* tls_session(const std::string& key) const;
  // Keeps the newest session `conn`'s engine received (if any) for its key.
  void remember_session(UpstreamConnection& conn);
  void set_settings(PoolSettings s) { settings_ = s; }
  const PoolSettings& settings() const { return settings_; }
  // Closes every idle connection (drain, shutdown).
  void close_all();
  size_t idle_count() const;

  core::Counter reused;      // connections handed out again
  core::Counter stale;       // idle connections found closed by the upstream or expired
 private:
  void sweep();
  void schedule_sweep();
  static bool still_usable(UpstreamConnection& c);

  PoolSettings settings_;
  boost::asio::steady_timer sweep_timer_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
  std::unordered_map<std::string, session::SessionPtr> sessions_;
  bool sweeping_ = false;
};

}  // namespace portico::upstream
