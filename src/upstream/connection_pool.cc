#include "upstream/connection_pool.h"

#include <sys/socket.h>

#include <cerrno>

namespace portico::upstream {

ConnectionPool::ConnectionPool(boost::asio::io_context& io, PoolSettings settings)
    : settings_(settings), sweep_timer_(io) {}

ConnectionPool::~ConnectionPool() { sweep_timer_.cancel(); }

// An idle connection must have nothing to read: data means the upstream sent bytes we never asked
// for, EOF means it closed. One non-blocking peek is far cheaper than a pending read per idle
// connection and catches the close that happened while the connection sat in the pool.
bool ConnectionPool::still_usable(UpstreamConnection& c) {
  if (!c.stream.is_open() || !c.stream.in().empty()) return false;
  char byte;
  ssize_t n = ::recv(c.stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
  return false;
}

std::unique_ptr<UpstreamConnection> ConnectionPool::acquire(const std::string& key, bool replayable) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    // Most recently used first: it is the least likely to have been closed by the upstream.
    auto conn = std::move(list.back());
    list.pop_back();
    auto idle = now - conn->idle_since;
    bool trusted = replayable && idle < kTrustIdle;
    if (idle < settings_.idle_timeout && conn->stream.is_open() && (trusted || still_usable(*conn))) {
      reused.add();
      return conn;
    }
    stale.add();
    conn->stream.close();
  }
  return nullptr;
}

SSL_SESSION* ConnectionPool::tls_session(const std::string& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void ConnectionPool::remember_session(UpstreamConnection& conn) {
  session::TlsEngine* tls = conn.stream.tls();
  if (!tls) return;
  if (SSL_SESSION* s = tls->take_session()) sessions_[conn.key].reset(s);
}

void ConnectionPool::release(std::unique_ptr<UpstreamConnection> conn) {
  remember_session(*conn);
  if (!conn->stream.is_open() || conn->requests >= settings_.max_requests ||
      settings_.max_idle_per_endpoint == 0) {
    conn->stream.close();
    return;
  }
  auto& list = idle_[conn->key];
  if (list.size() >= settings_.max_idle_per_endpoint) {
    // The oldest idle connection makes room: it is the one most likely to time out anyway.
    list.front()->stream.close();
    list.erase(list.begin());
  }
  conn->idle_since = std::chrono::steady_clock::now();
  conn->stream.in().clear();
  list.push_back(std::move(conn));
  if (!sweeping_) schedule_sweep();
}

void ConnectionPool::schedule_sweep() {
  sweeping_ = true;
  auto period = settings_.idle_timeout / 2;
  if (period < std::chrono::milliseconds(100)) period = std::chrono::milliseconds(100);
  if (period > std::chrono::seconds(5)) period = std::chrono::seconds(5);
  sweep_timer_.expires_after(period);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    sweeping_ = false;
    if (ec) return;
    sweep();
    if (idle_count() > 0) schedule_sweep();
  });
}

void ConnectionPool::sweep() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    size_t w = 0;
    for (size_t r = 0; r < list.size(); ++r) {
      if (now - list[r]->idle_since >= settings_.idle_timeout || !still_usable(*list[r])) {
        stale.add();
        list[r]->stream.close();
      } else {
        list[w++] = std::move(list[r]);
      }
    }
    list.resize(w);
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
}

void ConnectionPool::close_all() {
  for (auto& [key, list] : idle_) {
    for (auto& c : list) c->stream.close();
  }
  idle_.clear();
  sessions_.clear();
  sweep_timer_.cancel();
}

size_t ConnectionPool::idle_count() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

}  // namespace portico::upstream
