#include "net/dns_resolver.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <unordered_map>
#include <variant>

#include "net/dns_message.h"
#include "net/hosts_file.h"

namespace portico::net {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using Address = asio::ip::address;
using namespace asio::experimental::awaitable_operators;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

Address to_asio(const DnsAddress& a) {
  if (a.family == 4) {
    asio::ip::address_v4::bytes_type b;
    std::copy_n(a.bytes.begin(), 4, b.begin());
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::copy_n(a.bytes.begin(), 16, b.begin());
  return asio::ip::address_v6(b);
}

void sort_unique(std::vector<Address>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// What one family's query (A or AAAA) ended with.
struct FamilyOutcome {
  DnsError error = DnsError::kTimeout;
  std::vector<DnsAddress> addresses;
  uint32_t ttl = 0;
};

// One family's socket and timer. Shared between the query coroutine and the resolver so that
// shutdown can close them: that completes the pending receive and lets the coroutine unwind.
struct Exchange {
  explicit Exchange(const asio::any_io_executor& ex) : socket(ex), timer(ex) {}
  udp::socket socket;
  asio::steady_timer timer;
};

struct Lookup {
  std::vector<DnsResolver::Callback> waiters;
  std::vector<std::shared_ptr<Exchange>> exchanges;
};

struct Watch {
  Watch(const asio::any_io_executor& ex, std::string n, DnsFamily f, DnsResolver::OnChange cb)
      : name(std::move(n)), family(f), on_change(std::move(cb)), timer(ex) {}
  std::string name;
  DnsFamily family;
  DnsResolver::OnChange on_change;
  std::optional<std::vector<Address>> last;
  asio::steady_timer timer;
  int failures = 0;
};

char family_tag(DnsFamily f) {
  switch (f) {
    case DnsFamily::kAny: return '*';
    case DnsFamily::kV4: return '4';
    case DnsFamily::kV6: return '6';
  }
  return '?';
}

}  // namespace

std::string_view to_string(DnsError error) {
  switch (error) {
    case DnsError::kOk: return "ok";
    case DnsError::kInvalidName: return "invalid name";
    case DnsError::kNxDomain: return "name does not exist";
    case DnsError::kNoData: return "no address of the requested family";
    case DnsError::kServFail: return "server failure";
    case DnsError::kTruncated: return "truncated answer";
    case DnsError::kTimeout: return "timeout";
    case DnsError::kNetwork: return "network error";
    case DnsError::kNoNameservers: return "no nameservers";
    case DnsError::kCancelled: return "cancelled";
  }
  return "unknown";
}

DnsResolverOptions DnsResolverOptions::from_resolv_conf(const ResolvConf& conf) {
  DnsResolverOptions o;
  for (const DnsAddress& a : conf.nameservers()) o.nameservers.emplace_back(to_asio(a), 53);
  o.timeout = conf.timeout();
  o.attempts = conf.attempts();
  return o;
}

struct DnsResolver::State : std::enable_shared_from_this<State> {
  State(asio::io_context& io_context, DnsResolverOptions o)
      : io(io_context), options(sanitize(std::move(o))), rng(std::random_device{}()) {}

  static DnsResolverOptions sanitize(DnsResolverOptions o) {
    o.attempts = std::max(o.attempts, 1);
    o.min_ttl = std::max(o.min_ttl, std::chrono::seconds(0));
    o.max_ttl = std::max(o.max_ttl, o.min_ttl);
    return o;
  }

  asio::io_context& io;
  const DnsResolverOptions options;
  DnsResolverStats stats;
  bool stopped = false;
  // Query ids only need to be unguessable by an off-path sender; the connected socket (kernel
  // filters by server address and port) and the random ephemeral source port do the rest.
  std::mt19937 rng;

  HostsFile hosts;
  bool hosts_loaded = false;
  core::MonoTime hosts_loaded_at{};

  std::unordered_map<std::string, DnsResult> cache;
  std::unordered_map<std::string, std::shared_ptr<Lookup>> pending;
  std::map<WatchId, std::unique_ptr<Watch>> watches;
  WatchId next_watch_id = 1;

  void post_result(Callback cb, DnsResult r) {
    asio::post(io, [cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
  }

  void reload_hosts_if_stale(core::MonoTime now) {
    if (options.hosts_path.empty()) return;
    if (hosts_loaded && now - hosts_loaded_at < options.hosts_ttl) return;
    hosts = HostsFile::load(options.hosts_path).value_or(HostsFile{});
    hosts_loaded = true;
    hosts_loaded_at = now;
  }

  void resolve(std::string raw, DnsFamily family, Callback cb);
  static runtime::Task<void> run_lookup(std::shared_ptr<State> self, std::shared_ptr<Lookup> lookup,
                                        std::string key, std::string name, DnsFamily family);
  static runtime::Task<FamilyOutcome> query(std::shared_ptr<State> self, std::shared_ptr<Exchange> ex,
                                            std::string name, DnsType type);
  DnsResult merge(const std::optional<FamilyOutcome>& v4, const std::optional<FamilyOutcome>& v6) const;
  void store(const std::string& key, const DnsResult& result);

  void start_watch(WatchId id);
  void on_watch_result(WatchId id, DnsResult result);
  void arm_watch(WatchId id, Watch& w);

  void shutdown();
};

void DnsResolver::State::resolve(std::string raw, DnsFamily family, Callback cb) {
  DnsResult r;
  const core::MonoTime now = core::MonoClock::now();
  if (stopped) {
    r.error = DnsError::kCancelled;
    post_result(std::move(cb), std::move(r));
    return;
  }
  std::string_view view = raw;
  if (view.size() > 2 && view.front() == '[' && view.back() == ']') view = view.substr(1, view.size() - 2);

  boost::system::error_code ec;
  const Address literal = asio::ip::make_address(view, ec);
  if (!ec) {
    r.source = DnsSource::kLiteral;
    const bool fits = family == DnsFamily::kAny || (family == DnsFamily::kV4) == literal.is_v4();
    if (fits) {
      r.addresses.push_back(literal);
      r.ttl = options.max_ttl;
    } else {
      r.error = DnsError::kNoData;
      r.ttl = options.negative_ttl;
    }
    r.expires_at = now + r.ttl;
    post_result(std::move(cb), std::move(r));
    return;
  }

  std::string name = normalize_dns_name(view);
  if (!build_dns_query(0, name, DnsType::kA)) {
    r.error = DnsError::kInvalidName;
    r.expires_at = now;
    post_result(std::move(cb), std::move(r));
    return;
  }

  reload_hosts_if_stale(now);
  const std::vector<DnsAddress> listed =
      hosts.lookup(name, family != DnsFamily::kV6, family != DnsFamily::kV4);
  if (!listed.empty()) {
    r.source = DnsSource::kHostsFile;
    for (const DnsAddress& a : listed) r.addresses.push_back(to_asio(a));
    sort_unique(r.addresses);
    r.ttl = options.hosts_ttl;
    r.expires_at = now + r.ttl;
    post_result(std::move(cb), std::move(r));
    return;
  }

  std::string key(1, family_tag(family));
  key += name;
  if (auto it = cache.find(key); it != cache.end()) {
    if (now < it->second.expires_at) {
      stats.cache_hits.add();
      DnsResult hit = it->second;
      hit.source = DnsSource::kCache;
      post_result(std::move(cb), std::move(hit));
      return;
    }
    cache.erase(it);
  }

  if (auto it = pending.find(key); it != pending.end()) {
    stats.shared_lookups.add();
    it->second->waiters.push_back(std::move(cb));
    return;
  }

  if (options.nameservers.empty()) {
    r.error = DnsError::kNoNameservers;
    r.expires_at = now;
    post_result(std::move(cb), std::move(r));
    return;
  }

  auto lookup = std::make_shared<Lookup>();
  lookup->waiters.push_back(std::move(cb));
  const int families = family == DnsFamily::kAny ? 2 : 1;
  for (int i = 0; i < families; ++i) lookup->exchanges.push_back(std::make_shared<Exchange>(io.get_executor()));
  pending.emplace(key, lookup);
  asio::co_spawn(io, run_lookup(shared_from_this(), std::move(lookup), std::move(key), std::move(name), family),
                 asio::detached);
}

runtime::Task<void> DnsResolver::State::run_lookup(std::shared_ptr<State> self, std::shared_ptr<Lookup> lookup,
                                                   std::string key, std::string name, DnsFamily family) {
  State& s = *self;
  std::optional<FamilyOutcome> v4, v6;
  if (family == DnsFamily::kAny) {
    // Both families race in parallel: a lookup costs one timeout, not two.
    auto [a, aaaa] = co_await (query(self, lookup->exchanges[0], name, DnsType::kA) &&
                               query(self, lookup->exchanges[1], name, DnsType::kAaaa));
    v4 = std::move(a);
    v6 = std::move(aaaa);
  } else if (family == DnsFamily::kV4) {
    v4 = co_await query(self, lookup->exchanges[0], name, DnsType::kA);
  } else {
    v6 = co_await query(self, lookup->exchanges[0], name, DnsType::kAaaa);
  }
  // After shutdown the waiters have already been told kCancelled.
  if (s.stopped) co_return;

  DnsResult result = s.merge(v4, v6);
  if (!result.ok()) s.stats.lookup_failures.add();
  s.store(key, result);
  s.pending.erase(key);
  // Waiters may start new resolves, unwatch, or destroy the resolver; `lookup` and `self` keep
  // everything this loop touches alive.
  for (Callback& waiter : lookup->waiters) waiter(result);
}

runtime::Task<FamilyOutcome> DnsResolver::State::query(std::shared_ptr<State> self, std::shared_ptr<Exchange> ex,
                                                       std::string name, DnsType type) {
  State& s = *self;
  FamilyOutcome last;
  std::vector<uint8_t> buf(kDnsMaxUdpMessage);
  const FamilyOutcome cancelled{DnsError::kCancelled, {}, 0};
  for (int attempt = 0; attempt < s.options.attempts; ++attempt) {
    for (const udp::endpoint& server : s.options.nameservers) {
      if (s.stopped) co_return cancelled;
      // A fresh socket per try: a new random source port, and no late answer from the previous
      // server can be mistaken for this one's.
      boost::system::error_code ec;
      ex->socket.close(ec);
      ex->socket.open(server.protocol(), ec);
      if (!ec) ex->socket.connect(server, ec);
      const uint16_t id = static_cast<uint16_t>(s.rng());
      std::optional<std::vector<uint8_t>> packet = build_dns_query(id, name, type);
      if (!packet) co_return FamilyOutcome{DnsError::kInvalidName, {}, 0};
      if (!ec) {
        auto [send_ec, sent] = co_await ex->socket.async_send(asio::buffer(*packet), kAsTuple);
        if (s.stopped) co_return cancelled;
        ec = send_ec;
      }
      if (ec) {
        s.stats.server_failures.add();
        last.error = DnsError::kNetwork;
        continue;
      }
      s.stats.queries_sent.add();

      const auto deadline = std::chrono::steady_clock::now() + s.options.timeout;
      for (;;) {
        ex->timer.expires_at(deadline);
        auto outcome = co_await (ex->socket.async_receive(asio::buffer(buf), kAsTuple) ||
                                 ex->timer.async_wait(kAsTuple));
        if (s.stopped) co_return cancelled;
        if (outcome.index() == 1) {
          s.stats.timeouts.add();
          last.error = DnsError::kTimeout;
          break;
        }
        auto [recv_ec, n] = std::get<0>(outcome);
        if (recv_ec) {
          // Typically ECONNREFUSED from an ICMP port unreachable: this server is not there.
          s.stats.server_failures.add();
          last.error = DnsError::kNetwork;
          break;
        }
        DnsMessage message;
        if (parse_dns_message(std::span<const uint8_t>(buf.data(), n), message) != DnsParseError::kOk ||
            !dns_message_matches(message, id, name, type)) {
          // Keep listening until the deadline: the real answer may still come.
          s.stats.responses_ignored.add();
          continue;
        }
        DnsAnswer answer = extract_dns_answer(message, name, type);
        switch (answer.status) {
          case DnsAnswerStatus::kOk:
            ex->socket.close(ec);
            co_return FamilyOutcome{DnsError::kOk, std::move(answer.addresses), answer.ttl};
          case DnsAnswerStatus::kNoData:
            ex->socket.close(ec);
            co_return FamilyOutcome{DnsError::kNoData, {}, 0};
          case DnsAnswerStatus::kNxDomain:
            // Authoritative denial: asking the other servers would only repeat it.
            ex->socket.close(ec);
            co_return FamilyOutcome{DnsError::kNxDomain, {}, 0};
          case DnsAnswerStatus::kTruncated:
            last.error = DnsError::kTruncated;
            break;
          case DnsAnswerStatus::kServFail:
          case DnsAnswerStatus::kServerError:
          case DnsAnswerStatus::kBadCnameChain:
            last.error = DnsError::kServFail;
            break;
        }
        s.stats.server_failures.add();
        break;
      }
    }
  }
  boost::system::error_code ignored;
  ex->socket.close(ignored);
  co_return last;
}

DnsResult DnsResolver::State::merge(const std::optional<FamilyOutcome>& v4,
                                    const std::optional<FamilyOutcome>& v6) const {
  DnsResult r;
  const core::MonoTime now = core::MonoClock::now();
  const FamilyOutcome* parts[2] = {v4 ? &*v4 : nullptr, v6 ? &*v6 : nullptr};
  bool any_ok = false, any_nx = false, all_nodata = true;
  uint32_t ttl = UINT32_MAX;
  DnsError first_error = DnsError::kOk;
  for (const FamilyOutcome* p : parts) {
    if (p == nullptr) continue;
    if (p->error == DnsError::kOk) {
      any_ok = true;
      ttl = std::min(ttl, p->ttl);
      for (const DnsAddress& a : p->addresses) r.addresses.push_back(to_asio(a));
    }
    any_nx = any_nx || p->error == DnsError::kNxDomain;
    all_nodata = all_nodata && p->error == DnsError::kNoData;
    if (p->error != DnsError::kOk && p->error != DnsError::kNoData && first_error == DnsError::kOk) {
      first_error = p->error;
    }
  }
  if (any_ok) {
    // One family answering while the other times out still yields a usable (partial) set; it is
    // cached for its own TTL like any other answer.
    sort_unique(r.addresses);
    r.ttl = std::clamp(std::chrono::seconds(ttl), options.min_ttl, options.max_ttl);
    r.expires_at = now + r.ttl;
    return r;
  }
  r.addresses.clear();
  if (any_nx || all_nodata) {
    r.error = any_nx ? DnsError::kNxDomain : DnsError::kNoData;
    r.ttl = options.negative_ttl;
    r.expires_at = now + r.ttl;
    return r;
  }
  r.error = first_error;
  r.expires_at = now;
  return r;
}

void DnsResolver::State::store(const std::string& key, const DnsResult& result) {
  const bool cacheable = result.ok() || result.error == DnsError::kNxDomain || result.error == DnsError::kNoData;
  if (!cacheable || result.ttl.count() <= 0) return;
  if (cache.size() >= options.max_cache_entries) {
    const core::MonoTime now = core::MonoClock::now();
    std::erase_if(cache, [now](const auto& kv) { return kv.second.expires_at <= now; });
    // Still full of live entries: forget an arbitrary one rather than grow without bound.
    if (cache.size() >= options.max_cache_entries && !cache.empty()) cache.erase(cache.begin());
  }
  DnsResult entry = result;
  entry.source = DnsSource::kNetwork;
  cache.insert_or_assign(key, std::move(entry));
}

void DnsResolver::State::start_watch(WatchId id) {
  auto it = watches.find(id);
  if (it == watches.end()) return;
  std::weak_ptr<State> weak = weak_from_this();
  resolve(it->second->name, it->second->family, [weak, id](DnsResult r) {
    if (auto s = weak.lock()) s->on_watch_result(id, std::move(r));
  });
}

void DnsResolver::State::arm_watch(WatchId id, Watch& w) {
  std::weak_ptr<State> weak = weak_from_this();
  w.timer.async_wait([weak, id](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto s = weak.lock(); s && !s->stopped) s->start_watch(id);
  });
}

void DnsResolver::State::on_watch_result(WatchId id, DnsResult result) {
  if (stopped) return;
  auto it = watches.find(id);
  if (it == watches.end()) return;
  Watch& w = *it->second;
  if (!result.ok()) {
    ++w.failures;
    stats.watch_refresh_failures.add();
    auto delay = options.watch_backoff_initial;
    for (int i = 1; i < w.failures && delay < options.watch_backoff_max; ++i) delay *= 2;
    w.timer.expires_after(std::min(delay, options.watch_backoff_max));
    arm_watch(id, w);
    return;
  }
  w.failures = 0;
  w.timer.expires_at(result.expires_at);
  arm_watch(id, w);
  if (w.last && *w.last == result.addresses) return;
  w.last = result.addresses;
  stats.watch_changes.add();
  // A copy: the callback may unwatch this id, which destroys `w` and its on_change.
  OnChange on_change = w.on_change;
  on_change(result.addresses);
}

void DnsResolver::State::shutdown() {
  stopped = true;
  boost::system::error_code ignored;
  for (auto& [key, lookup] : pending) {
    for (auto& ex : lookup->exchanges) {
      ex->socket.close(ignored);
      ex->timer.cancel();
    }
    for (Callback& waiter : lookup->waiters) {
      DnsResult r;
      r.error = DnsError::kCancelled;
      post_result(std::move(waiter), std::move(r));
    }
    lookup->waiters.clear();
  }
  pending.clear();
  for (auto& [id, w] : watches) w->timer.cancel();
  watches.clear();
  cache.clear();
}

DnsResolver::DnsResolver(asio::io_context& io, DnsResolverOptions options)
    : state_(std::make_shared<State>(io, std::move(options))) {}

DnsResolver::~DnsResolver() { state_->shutdown(); }

void DnsResolver::resolve(std::string name, DnsFamily family, Callback callback) {
  state_->resolve(std::move(name), family, std::move(callback));
}

runtime::Task<DnsResult> DnsResolver::resolve(std::string name, DnsFamily family) {
  // The frame holds the state, not `this`: the resolver may be destroyed while we wait. The
  // initiation lambda captures only a pointer into this frame because g++ 12 mishandles
  // temporaries with non-trivial captures inside a co_await expression (double destruction).
  struct Request {
    std::shared_ptr<State> state;
    std::string name;
    DnsFamily family;
  };
  Request request{state_, std::move(name), family};
  Request* req = &request;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(DnsResult)>(
      [req](auto handler) {
        // Callback is a copyable std::function; the awaitable's handler is move-only and must be
        // invoked as an rvalue exactly once (it hands the coroutine stack back when it runs).
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        req->state->resolve(std::move(req->name), req->family, [shared](DnsResult r) {
          auto h = std::move(*shared);
          std::move(h)(std::move(r));
        });
      },
      asio::use_awaitable);
}

DnsResolver::WatchId DnsResolver::watch(std::string name, DnsFamily family, OnChange on_change) {
  State& s = *state_;
  const WatchId id = s.next_watch_id++;
  s.watches.emplace(id, std::make_unique<Watch>(s.io.get_executor(), std::move(name), family, std::move(on_change)));
  s.start_watch(id);
  return id;
}

void DnsResolver::unwatch(WatchId id) {
  auto it = state_->watches.find(id);
  if (it == state_->watches.end()) return;
  it->second->timer.cancel();
  state_->watches.erase(it);
}

void DnsResolver::clear_cache() { state_->cache.clear(); }

const DnsResolverStats& DnsResolver::stats() const { return state_->stats; }

}  // namespace portico::net
