#include "proxy/worker_context.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <ctime>

#include "observability/log.h"
#include "proxy/http1_session.h"

namespace portico::proxy {

namespace asio = boost::asio;

SnapshotRef::SnapshotRef(WorkerContext* ctx, LocalSnapshot* s) : ctx_(ctx), s_(s) {
  if (s_) ++s_->refs;
}

SnapshotRef& SnapshotRef::operator=(SnapshotRef&& o) noexcept {
  if (this != &o) {
    release();
    ctx_ = o.ctx_;
    s_ = o.s_;
    o.s_ = nullptr;
  }
  return *this;
}

void SnapshotRef::release() {
  if (s_) {
    ctx_->release(s_);
    s_ = nullptr;
  }
}

WorkerContext::WorkerContext(runtime::Worker& worker, ProcessLimits limits, upstream::PoolSettings pool_settings,
                             observability::AccessLog* log)
    : pool(worker.io(), pool_settings), access_log(log), worker_(worker), limits_(limits),
      flush_timer_(worker.io()) {}

const filter::Chain* SnapshotRef::consumer_chain(const router::Route& route, int consumer, int priority,
                                                 std::optional<filter::Chain>& overflow) const {
  const config::Snapshot& snap = *s_->shared;
  if (!snap.has_consumer_plugins(consumer)) return &route.chain;
  LocalSnapshot::ConsumerChainKey key{&route, consumer, priority};
  auto it = s_->consumer_chains.find(key);
  if (it != s_->consumer_chains.end()) return it->second.get();
  filter::Chain chain = snap.chain_for(route, consumer, priority);
  if (s_->consumer_chains.size() >= LocalSnapshot::kMaxConsumerChains) {
    overflow.emplace(std::move(chain));
    return &*overflow;
  }
  auto [at, inserted] = s_->consumer_chains.emplace(key, std::make_unique<filter::Chain>(std::move(chain)));
  return at->second.get();
}

WorkerContext::~WorkerContext() {
  if (current_ && current_->refs == 0) delete current_;
}

void WorkerContext::release(LocalSnapshot* s) {
  if (--s->refs == 0 && s != current_) delete s;
}

void WorkerContext::install(std::shared_ptr<const config::Snapshot> snap, ProcessLimits limits,
                            upstream::PoolSettings pool_settings) {
  {
    std::lock_guard<std::mutex> lock(version_mu_);
    version_ = snap->version;
  }
  LocalSnapshot* old = current_;
  current_ = new LocalSnapshot{std::move(snap), 0, {}};
  for (size_t i = 0; i < current_->shared->clusters.size(); ++i) {
    const auto& cluster = current_->shared->clusters[i];
    if (old && i < old->shared->clusters.size() && old->shared->clusters[i] == cluster) {
      current_->balancers.push_back(old->balancers[i]);
      continue;
    }
    std::vector<upstream::Target> targets;
    targets.reserve(cluster->endpoints.size());
    for (const auto& ep : cluster->endpoints) targets.push_back({ep.key, ep.weight});
    current_->balancers.push_back(upstream::make_balancer(cluster->algorithm, std::move(targets), cluster->slots));
  }
  // The old snapshot lives on while requests that started with it are still running.
  if (old && old->refs == 0) delete old;
  limits_ = limits;
  pool.set_settings(pool_settings);
  // A reload may have raised (or lifted) max_connections; a lowered one applies at the next accept.
  if (accept_paused_ && !at_connection_limit()) resume_accepting();
}

std::string WorkerContext::config_version() const {
  std::lock_guard<std::mutex> lock(version_mu_);
  return version_;
}

void WorkerContext::start(std::vector<asio::ip::tcp::acceptor> acceptors, std::vector<bool> tls) {
  observability::MetricsShard::set_current(&metrics);
  observability::WorkerStats::set_current(&stats);
  acceptors_ = std::move(acceptors);
  tls_ = std::move(tls);
  tls_.resize(acceptors_.size(), false);
  accepting_.assign(acceptors_.size(), false);
  for (size_t i = 0; i < acceptors_.size(); ++i) accept_loop(i);
  schedule_flush();  // the access log and log plugins' per-thread buffers
}

void WorkerContext::accept_loop(size_t index) {
  accepting_[index] = true;
  acceptors_[index].async_accept([this, index](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec) {
      // Cancelled by pause_accepting() (or closed by a drain): nothing was taken from the backlog.
      if (ec == asio::error::operation_aborted || draining_) return continue_accepting(index);
      // EMFILE and friends: log, back off briefly, keep accepting.
      PORTICO_LOG_WARN("accept failed: {}", ec.message());
      auto timer = std::make_shared<asio::steady_timer>(io(), std::chrono::milliseconds(50));
      timer->async_wait([this, index, timer](const boost::system::error_code&) { continue_accepting(index); });
      return;
    }
    if (draining_) return continue_accepting(index);
    // A connection taken from the backlog is always served, even one whose accept completed just
    // before the loop paused: closing it unanswered is what the pause exists to avoid.
    auto session = std::make_unique<Http1Session>(*this, std::move(socket), tls_[index]);
    asio::co_spawn(
        io(),
        [s = std::move(session)]() mutable -> runtime::Task<void> { co_await s->run(); },
        asio::detached);
    if (!accept_paused_ && at_connection_limit()) pause_accepting();
    continue_accepting(index);
  });
}

void WorkerContext::continue_accepting(size_t index) {
  if (draining_ || accept_paused_) {
    accepting_[index] = false;
    return;
  }
  accept_loop(index);
}

// Envoy's and nginx's answer to a full worker: stop calling accept() so that new connections wait
// in this worker's listen backlog instead of being accepted only to be dropped. Cancelling takes
// nothing from the backlog (closing the listener would reset what waits there).
void WorkerContext::pause_accepting() {
  accept_paused_ = true;
  stats.accept_paused.add();
  PORTICO_LOG_DEBUG("worker {}: {} connections (max_connections), accepting paused", worker_.index(),
                    sessions_.size());
  for (auto& a : acceptors_) {
    boost::system::error_code ignored;
    a.cancel(ignored);
  }
}

void WorkerContext::resume_accepting() {
  accept_paused_ = false;
  if (draining_) return;
  // An acceptor whose cancelled accept has not reported yet is still `accepting_`: its handler
  // restarts it.
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    if (!accepting_[i]) accept_loop(i);
  }
}

void WorkerContext::remove_session(std::list<Http1Session*>::iterator it) {
  sessions_.erase(it);
  if (accept_paused_ && !at_connection_limit()) resume_accepting();
}

void WorkerContext::begin_drain() {
  draining_ = true;
  for (auto& a : acceptors_) {
    boost::system::error_code ignored;
    a.close(ignored);
  }
  for (Http1Session* s : sessions_) s->on_drain();
}

void WorkerContext::close_all() {
  draining_ = true;
  for (auto& a : acceptors_) {
    boost::system::error_code ignored;
    a.close(ignored);
  }
  for (Http1Session* s : sessions_) s->abort();
  pool.close_all();
  flush_timer_.cancel();
  access_log.flush(stats.access_log_dropped);
  observability::flush_thread_log_buffers();
}

void WorkerContext::schedule_flush() {
  flush_timer_.expires_after(std::chrono::milliseconds(200));
  flush_timer_.async_wait([this](const boost::system::error_code& ec) {
    access_log.flush(stats.access_log_dropped);
    observability::flush_thread_log_buffers();
    if (!ec) schedule_flush();
  });
}

std::string_view WorkerContext::http_date() {
  time_t now = std::time(nullptr);
  if (now != date_second_) {
    date_second_ = now;
    tm utc;
    gmtime_r(&now, &utc);
    date_len_ = std::strftime(date_, sizeof date_, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  }
  return {date_, date_len_};
}

}  // namespace portico::proxy
