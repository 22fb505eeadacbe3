#include "upstream/health_checker.h"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <strings.h>

#include <deque>

#include "observability/log.h"
#include "session/stream.h"

namespace portico::upstream {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

struct HealthChecker::Target {
  Target(asio::io_context& io, std::string k, asio::ip::tcp::endpoint a)
      : key(std::move(k)), address(a), timer(io), readmit_timer(io) {}
  std::string key;
  asio::ip::tcp::endpoint address;
  // https probes: the name sent as SNI and verified (https_sni, else the target's host, which
  // for an address means no SNI and a check against the certificate's IP SANs).
  std::string server_name;
  asio::steady_timer timer;
  asio::steady_timer readmit_timer;  // a passive ejection's end
  HealthCounter counter;
  EjectionBackoff backoff;
  bool removed = false;  // no longer an endpoint: pending timers and probes end without effect
  bool probing = false;  // a probe is in flight or waiting for a concurrency slot
};

struct HealthChecker::Group {
  std::string name;
  HealthCheckSettings settings;
  std::map<std::string, std::shared_ptr<Target>> targets;  // by endpoint key
  std::vector<std::shared_ptr<const Cluster>> clusters;     // of the latest snapshot
  uint32_t in_flight = 0;
  std::deque<std::shared_ptr<Target>> waiting;  // due, beyond `concurrency`
};

namespace {

constexpr size_t kMaxHead = 8192;

// One probe without its timeout (the caller races it against the timer); never throws.
asio::awaitable<ProbeOutcome> probe(asio::ip::tcp::endpoint address, HealthCheckSettings::Type type,
                                    std::string request, std::shared_ptr<const HealthCheckSettings> settings) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  auto [connect_error] = co_await socket.async_connect(address, asio::as_tuple(asio::use_awaitable));
  if (connect_error) co_return ProbeOutcome::kTcpFailure;
  if (type == HealthCheckSettings::Type::kTcp) co_return ProbeOutcome::kSuccess;
  auto [write_error, written] = co_await asio::async_write(socket, asio::buffer(request),
                                                           asio::as_tuple(asio::use_awaitable));
  if (write_error) co_return ProbeOutcome::kTcpFailure;
  std::string head;
  char buffer[2048];
  while (head.find("\r\n") == std::string::npos && head.size() < kMaxHead) {
    auto [read_error, n] = co_await socket.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    head.append(buffer, n);
    if (read_error) break;
  }
  const int status = parse_status_line(head);
  // Not HTTP at all: the connection is as useless as a refused one.
  if (status < 0) co_return ProbeOutcome::kTcpFailure;
  co_return classify_status(*settings, status);
}

// An https probe: connect, TLS handshake, then the HTTP probe, every step within what is left of
// the probe's timeout (session::Stream races each wait against it, so no outer timer is needed).
// Kong's semantics: a failed handshake is a TCP failure.
asio::awaitable<ProbeOutcome> probe_https(asio::ip::tcp::endpoint address, std::string server_name,
                                          std::string request, std::shared_ptr<const HealthCheckSettings> settings) {
  const auto end = std::chrono::steady_clock::now() + settings->timeout;
  auto left = [&] {
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    return std::max(std::chrono::milliseconds(1), ms);
  };
  session::Stream stream(asio::ip::tcp::socket(co_await asio::this_coro::executor), 4096, kMaxHead);
  auto outcome = [](session::IoStatus s) {
    return s == session::IoStatus::kTimeout ? ProbeOutcome::kTimeout : ProbeOutcome::kTcpFailure;
  };
  session::IoStatus s = co_await stream.connect(address, left());
  if (s != session::IoStatus::kOk) co_return outcome(s);
  std::string error;
  auto engine = settings->tls.context ? session::TlsEngine::make(settings->tls.context, error) : nullptr;
  if (!engine) co_return ProbeOutcome::kTcpFailure;
  if (!engine->set_peer_host(server_name)) {
    co_return ProbeOutcome::kTcpFailure;
  }
  stream.start_tls(std::move(engine));
  s = co_await stream.handshake(left());
  if (s != session::IoStatus::kOk) {
    PORTICO_LOG_DEBUG("health: https probe of {}: TLS handshake failed: {}", address.address().to_string(),
                      s == session::IoStatus::kTimeout ? "timeout" : stream.error_text());
    stream.close();
    co_return outcome(s);
  }
  s = co_await stream.write(asio::const_buffer(request.data(), request.size()), left());
  while (s == session::IoStatus::kOk) {
    std::string_view head = stream.in().view();
    if (head.find("\r\n") != std::string_view::npos) break;
    s = co_await stream.read_more(left());
  }
  const int status = parse_status_line(stream.in().view());
  stream.close();
  if (status < 0) co_return s == session::IoStatus::kTimeout ? ProbeOutcome::kTimeout : ProbeOutcome::kTcpFailure;
  co_return classify_status(*settings, status);
}

asio::awaitable<ProbeOutcome> probe_with_timeout(asio::ip::tcp::endpoint address,
                                                 std::shared_ptr<const HealthCheckSettings> settings,
                                                 std::string request, std::string server_name) {
  if (settings->type == HealthCheckSettings::Type::kHttps) {
    co_return co_await probe_https(address, std::move(server_name), std::move(request), settings);
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, settings->timeout);
  auto result = co_await (probe(address, settings->type, std::move(request), settings) ||
                          timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (result.index() == 1) co_return ProbeOutcome::kTimeout;
  co_return std::get<0>(result);
}

std::string probe_request(const HealthCheckSettings& s, const std::string& host) {
  std::string out = "GET " + s.http_path + " HTTP/1.1\r\n";
  // A configured Host wins over the endpoint's.
  bool has_host = false;
  for (size_t at = 0; at < s.headers.size();) {
    size_t end = s.headers.find("\r\n", at);
    if (s.headers.size() - at >= 5 && strncasecmp(s.headers.data() + at, "host:", 5) == 0) has_host = true;
    at = end == std::string::npos ? s.headers.size() : end + 2;
  }
  if (!has_host) out += "Host: " + host + "\r\n";
  out += s.headers;
  out += "User-Agent: portico-health-check\r\nConnection: close\r\n\r\n";
  return out;
}

const char* type_name(HealthCheckSettings::Type t) {
  switch (t) {
    case HealthCheckSettings::Type::kTcp: return "tcp";
    case HealthCheckSettings::Type::kHttps: return "https";
    case HealthCheckSettings::Type::kHttp: break;
  }
  return "http";
}

const char* outcome_name(ProbeOutcome o) {
  switch (o) {
    case ProbeOutcome::kSuccess: return "success";
    case ProbeOutcome::kHttpFailure: return "http failure";
    case ProbeOutcome::kTcpFailure: return "tcp failure";
    case ProbeOutcome::kTimeout: return "timeout";
    case ProbeOutcome::kIgnored: return "ignored status";
  }
  return "?";
}

}  // namespace

HealthChecker::HealthChecker(asio::io_context& io) : io_(io), inbox_(std::make_shared<Inbox>()) {
  inbox_->checker = this;
}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::stop() {
  stopped_ = true;
  inbox_->checker = nullptr;
  for (auto& [name, g] : groups_) {
    for (auto& [key, t] : g->targets) {
      t->removed = true;
      t->timer.cancel();
      t->readmit_timer.cancel();
    }
    g->waiting.clear();
  }
}

void HealthChecker::update(const std::vector<std::shared_ptr<const Cluster>>& clusters) {
  if (stopped_) return;
  std::map<std::string, std::vector<std::shared_ptr<const Cluster>>> by_upstream;
  for (const auto& c : clusters) {
    if (c->upstream_name.empty() || !c->health) continue;
    if (!c->health_check.active() && !c->health_check.passive.enabled()) continue;
    by_upstream[c->upstream_name].push_back(c);
    if (c->health_check.passive.enabled()) {
      // Called on a worker: only posts (the inbox outlives the checker, the io_context does not
      // outlive the workers).
      c->health->set_passive_sink([inbox = inbox_, io = &io_, name = c->upstream_name](const std::string& key,
                                                                                      bool healthy) {
        asio::post(*io, [inbox, name, key, healthy] {
          if (inbox->checker) inbox->checker->on_passive(name, key, healthy);
        });
      });
    }
  }
  // Upstreams without active checks any more.
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (by_upstream.count(it->first)) {
      ++it;
      continue;
    }
    for (auto& [key, t] : it->second->targets) {
      t->removed = true;
      t->timer.cancel();
      t->readmit_timer.cancel();
    }
    it = groups_.erase(it);
  }
  for (auto& [name, list] : by_upstream) {
    auto& slot = groups_[name];
    if (!slot) {
      slot = std::make_shared<Group>();
      slot->name = name;
      slot->settings = list.front()->health_check;
    }
    std::shared_ptr<Group> g = slot;
    const bool settings_changed = !(g->settings == list.front()->health_check);
    g->settings = list.front()->health_check;
    g->clusters = list;
    std::map<std::string, std::pair<asio::ip::tcp::endpoint, std::string>> wanted;
    for (const auto& c : list) {
      for (const auto& ep : c->endpoints) {
        std::string name = g->settings.https_sni;
        if (name.empty()) {
          name = ep.target < c->targets.size() ? c->targets[ep.target].host : ep.address.address().to_string();
        }
        wanted.emplace(ep.key, std::make_pair(ep.address, std::move(name)));
      }
    }
    for (auto it = g->targets.begin(); it != g->targets.end();) {
      if (wanted.count(it->first)) {
        ++it;
        continue;
      }
      it->second->removed = true;
      it->second->timer.cancel();
      it->second->readmit_timer.cancel();
      it = g->targets.erase(it);
    }
    std::erase_if(g->waiting, [](const std::shared_ptr<Target>& t) { return t->removed; });
    for (auto& [key, wanted_target] : wanted) {
      const auto& [address, server_name] = wanted_target;
      auto found = g->targets.find(key);
      if (found != g->targets.end()) {
        found->second->server_name = server_name;
        if (settings_changed) {
          found->second->counter.reset_counters();
          found->second->timer.cancel();  // its wait ends at once; reschedule with the new interval
        }
        continue;
      }
      auto t = std::make_shared<Target>(io_, key, address);
      t->server_name = server_name;
      g->targets.emplace(key, t);
      schedule(g, t);
    }
    if (settings_changed) {
      for (auto& [key, t] : g->targets) schedule(g, t);
    }
    publish(*g);
  }
}

void HealthChecker::schedule(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t) {
  if (stopped_ || t->removed) return;
  const auto interval = t->counter.healthy() ? g->settings.healthy_interval : g->settings.unhealthy_interval;
  t->timer.cancel();
  if (interval.count() <= 0) return;
  t->timer.expires_after(interval);
  t->timer.async_wait([this, g, t](const boost::system::error_code& ec) {
    if (ec || stopped_ || t->removed || t->probing) return;
    enqueue(g, t);
  });
}

void HealthChecker::enqueue(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t) {
  t->probing = true;
  if (g->in_flight >= std::max<uint32_t>(1, g->settings.concurrency)) {
    g->waiting.push_back(t);
    return;
  }
  start_probe(g, t);
}

void HealthChecker::start_probe(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t) {
  ++g->in_flight;
  ++probes_;
  auto settings = std::make_shared<const HealthCheckSettings>(g->settings);
  asio::co_spawn(io_, probe_with_timeout(t->address, settings, probe_request(*settings, t->key), t->server_name),
                 [this, g, t](std::exception_ptr e, ProbeOutcome outcome) {
                   --g->in_flight;
                   t->probing = false;
                   if (!e && !stopped_ && !t->removed) on_result(g, t, static_cast<int>(outcome));
                   if (e && !stopped_ && !t->removed) schedule(g, t);
                   while (!stopped_ && !g->waiting.empty() &&
                          g->in_flight < std::max<uint32_t>(1, g->settings.concurrency)) {
                     auto next = std::move(g->waiting.front());
                     g->waiting.pop_front();
                     if (!next->removed) start_probe(g, next);
                   }
                 });
}

void HealthChecker::on_result(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t, int raw) {
  const auto outcome = static_cast<ProbeOutcome>(raw);
  if (t->counter.record(outcome, g->settings)) {
    ++state_changes_;
    if (t->counter.healthy()) {
      t->readmit_timer.cancel();
      t->backoff.readmitted(EjectionBackoff::Clock::now());
      PORTICO_LOG_INFO("health: upstream {} target {} is healthy again (active {} probe: {})", g->name, t->key,
                       type_name(g->settings.type), outcome_name(outcome));
    } else {
      PORTICO_LOG_WARN("health: upstream {} target {} is unhealthy (active {} probe: {})", g->name, t->key,
                       type_name(g->settings.type), outcome_name(outcome));
    }
    publish(*g);
  }
  schedule(g, t);
}

void HealthChecker::on_passive(const std::string& upstream, const std::string& key, bool healthy) {
  if (stopped_) return;
  auto g_it = groups_.find(upstream);
  if (g_it == groups_.end()) return;
  std::shared_ptr<Group> g = g_it->second;
  auto t_it = g->targets.find(key);
  if (t_it == g->targets.end()) return;
  std::shared_ptr<Target> t = t_it->second;
  if (t->counter.healthy() == healthy) return;  // a late report: the state already moved
  const PassiveSettings& p = g->settings.passive;
  t->counter.force(healthy);
  ++state_changes_;
  if (healthy) {
    t->readmit_timer.cancel();
    t->backoff.readmitted(EjectionBackoff::Clock::now());
    PORTICO_LOG_INFO("health: upstream {} target {} is healthy again (passive: {} successes)", g->name, t->key,
                     p.successes);
  } else {
    const auto ejection = t->backoff.eject(EjectionBackoff::Clock::now(), p);
    if (ejection.count() > 0) {
      PORTICO_LOG_WARN("health: upstream {} target {} is unhealthy (passive: consecutive failures; ejection {} "
                       "for {} ms)",
                       g->name, t->key, t->backoff.ejections(), ejection.count());
      t->readmit_timer.expires_after(ejection);
      t->readmit_timer.async_wait([this, g, t](const boost::system::error_code& ec) {
        if (ec || stopped_ || t->removed) return;
        readmit(g, t);
      });
    } else {
      PORTICO_LOG_WARN("health: upstream {} target {} is unhealthy (passive: consecutive failures)", g->name,
                       t->key);
    }
  }
  publish(*g);
  schedule(g, t);  // probes follow the new state's interval
}

void HealthChecker::readmit(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t) {
  if (t->counter.healthy()) return;
  t->counter.force(true);
  t->backoff.readmitted(EjectionBackoff::Clock::now());
  ++state_changes_;
  PORTICO_LOG_INFO("health: upstream {} target {} is healthy again (passive: ejection time over)", g->name, t->key);
  publish(*g);
  schedule(g, t);
}

int HealthChecker::set_by_operator(const std::string& upstream, const std::vector<std::string>& keys, bool healthy) {
  if (stopped_) return -1;
  auto g_it = groups_.find(upstream);
  if (g_it == groups_.end()) return -1;
  std::shared_ptr<Group> g = g_it->second;
  int found = 0;
  for (const auto& key : keys) {
    auto t_it = g->targets.find(key);
    if (t_it == g->targets.end()) continue;
    ++found;
    std::shared_ptr<Target> t = t_it->second;
    const bool changed = t->counter.healthy() != healthy;
    t->counter.force(healthy);
    t->readmit_timer.cancel();
    if (healthy) t->backoff.readmitted(EjectionBackoff::Clock::now());
    if (changed) ++state_changes_;
    PORTICO_LOG_INFO("health: upstream {} target {} set {} by the admin API", g->name, t->key,
                     healthy ? "healthy" : "unhealthy");
    schedule(g, t);
  }
  if (found == 0) return 0;
  // The workers' passive counters of these endpoints restart too.
  for (const auto& c : g->clusters) {
    for (size_t i = 0; i < c->endpoints.size(); ++i) {
      if (std::find(keys.begin(), keys.end(), c->endpoints[i].key) != keys.end()) c->health->clear_passive(i);
    }
  }
  publish(*g);
  return found;
}

void HealthChecker::publish(Group& g) {
  for (const auto& c : g.clusters) {
    uint64_t total = 0;
    uint64_t healthy = 0;
    for (size_t i = 0; i < c->endpoints.size(); ++i) {
      auto it = g.targets.find(c->endpoints[i].key);
      const bool ok = it == g.targets.end() || it->second->counter.healthy();
      c->health->set(i, ok);
      total += c->endpoints[i].weight;
      if (ok) healthy += c->endpoints[i].weight;
    }
    // Kong: below `threshold` percent of healthy weight the whole upstream is unhealthy.
    const bool down = g.settings.threshold > 0 && total > 0 &&
                      static_cast<double>(healthy) * 100.0 < g.settings.threshold * static_cast<double>(total);
    c->health->set_down(down);
  }
}

}  // namespace portico::upstream
