#include "filters/jwt/jwks_source.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "auth/cache_control.h"
#include "auth/jwk.h"
#include "observability/log.h"
#include "session/tls.h"
#include "upstream/http_fetch.h"

namespace portico::filters {

namespace asio = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;

// A JWKS document larger than this is refused (by the fetch and by the parser alike).
constexpr size_t kMaxJwksBytes = 512 * 1024;
constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 2;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::chrono::seconds clamp_interval(std::chrono::seconds value, const JwksSettings& s) {
  const auto lo = std::max(s.min_refresh_interval, std::chrono::seconds{1});
  const auto hi = std::max(lo, s.max_refresh_interval);
  return std::clamp(value, lo, hi);
}

// Everything a source's refresh loop works on. Shared by the source (any thread drops it) and by
// the loop (control thread), so the loop never refers to a source that is gone.
//
// Threads: atomics are read from anywhere; the members marked "control" are touched only on the
// control io_context (the loop, and handlers posted to it).
struct SourceState {
  explicit SourceState(JwksSettings s) : settings(std::move(s)) {}

  const JwksSettings settings;

  // Read by workers.
  std::atomic<std::shared_ptr<const auth::KeySet>> keys{nullptr};
  std::atomic<asio::io_context*> io{nullptr};       // non-null while started
  std::atomic<int64_t> last_kid_refresh_ns{kNever};  // rate limit of on_unknown_kid
  std::atomic<bool> dropped{false};                  // no source refers to this state any more

  // Counters for /status.
  std::atomic<uint64_t> fetches_ok{0};
  std::atomic<uint64_t> fetches_failed{0};
  std::atomic<uint64_t> unknown_kid_refreshes{0};
  std::atomic<uint64_t> unknown_kid_suppressed{0};
  std::atomic<size_t> key_count{0};
  std::atomic<int64_t> last_good_ns{kNever};
  mutable std::mutex error_mu;  // last_error is written by the loop, read by all_status()
  std::string last_error;

  // Control thread only.
  bool loop_running = false;
  bool stopping = false;
  bool refresh_now = false;  // an unknown kid asked for a fetch
  asio::steady_timer* timer = nullptr;        // the loop's wait for the next fetch, while it waits
  asio::steady_timer* fetch_wait = nullptr;   // the loop's wait for a fetch in flight
  std::shared_ptr<const session::TlsContext> tls;

  void set_error(std::string text) {
    std::lock_guard lock(error_mu);
    last_error = std::move(text);
  }
  std::string error() const {
    std::lock_guard lock(error_mu);
    return last_error;
  }

  // Control thread: ends the current wait early (the loop then re-checks its flags).
  void wake() {
    if (timer) timer->cancel();
  }
  // Control thread: stop or drop. The loop leaves at once, also from a fetch in flight.
  void abort() {
    if (timer) timer->cancel();
    if (fetch_wait) fetch_wait->cancel();
  }
};

class RemoteJwksSource;

// The process-wide registry: settings → source. Guarded by `mu`; never touched by workers.
struct Registry {
  struct Entry {
    std::weak_ptr<RemoteJwksSource> source;
    std::weak_ptr<SourceState> state;
  };
  std::mutex mu;
  asio::io_context* io = nullptr;  // set between start() and stop()
  std::vector<Entry> entries;

  // With `mu` held: forget entries whose source and loop are both gone.
  void prune() {
    std::erase_if(entries, [](const Entry& e) { return e.source.expired() && e.state.expired(); });
  }
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: sources may die during static destruction
  return *r;
}

// Why a fetch failed, or the key set it brought and how long it stays fresh.
struct FetchOutcome {
  std::shared_ptr<const auth::KeySet> keys;
  size_t skipped = 0;
  std::chrono::seconds fresh_for{0};
  std::string error;
};

FetchOutcome read_response(const upstream::FetchResponse& resp, const JwksSettings& settings) {
  FetchOutcome out;
  if (!resp.ok) {
    out.error = resp.error.empty() ? std::string("fetch failed") : resp.error;
    return out;
  }
  if (resp.status != 200) {
    out.error = fmt::format("status {}", resp.status);
    return out;
  }
  auth::JwksLimits limits;
  limits.max_document_bytes = kMaxJwksBytes;
  auto parsed = auth::parse_jwks(resp.body, limits);
  if (!parsed.keys) {
    out.error = "invalid JWKS: " + parsed.error;
    return out;
  }
  out.keys = std::move(parsed.keys);
  out.skipped = parsed.skipped.size();
  for (const auto& s : parsed.skipped) {
    PORTICO_LOG_DEBUG("jwks {}: key {} (kid \"{}\") skipped: {}", settings.uri, s.index, s.kid, s.reason);
  }
  std::chrono::seconds lifetime = settings.default_max_age;
  auto cc = resp.header("Cache-Control");
  if (!cc.empty()) {
    if (auto f = auth::freshness_lifetime(auth::parse_cache_control(cc))) lifetime = *f;
  }
  out.fresh_for = clamp_interval(lifetime, settings);
  return out;
}

// A fetch the loop can walk away from. http_fetch ends by its own timeout but does not react to
// cancellation, so it runs detached and the loop waits for its answer on a timer that stop() and
// a dropped source cancel: the loop then ends at once, and the fetch, bounded by `timeout`, ends
// later with nobody reading its result. Null when abandoned.
struct PendingFetch {
  std::optional<upstream::FetchResponse> response;
  asio::steady_timer* waiter = nullptr;  // the loop's wait, while it waits
};

runtime::Task<std::optional<upstream::FetchResponse>> fetch_abandonable(std::shared_ptr<SourceState> st,
                                                                         upstream::FetchRequest req) {
  auto executor = co_await asio::this_coro::executor;
  auto pending = std::make_shared<PendingFetch>();
  asio::co_spawn(executor, upstream::http_fetch(std::move(req)),
                 [pending](std::exception_ptr e, upstream::FetchResponse resp) {
                   if (e) {
                     resp = {};
                     resp.error = "fetch failed unexpectedly";
                   }
                   pending->response = std::move(resp);
                   if (pending->waiter) pending->waiter->cancel();
                 });
  if (!pending->response) {
    asio::steady_timer wait(executor, asio::steady_timer::time_point::max());
    pending->waiter = &wait;
    st->fetch_wait = &wait;
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    pending->waiter = nullptr;
    st->fetch_wait = nullptr;
  }
  co_return std::move(pending->response);
}

// One fetch and its bookkeeping; returns how long to wait before the next one. `backoff` is the
// loop's failure delay (awaited in place by run_loop, so the reference never outlives it).
runtime::Task<std::chrono::seconds> refresh(std::shared_ptr<SourceState> st, std::chrono::seconds& backoff) {
  const auto& s = st->settings;
  upstream::FetchRequest req;
  req.url = s.uri;
  req.timeout = s.timeout;
  req.max_body_bytes = kMaxJwksBytes;
  req.headers.emplace_back("Accept", "application/jwk-set+json, application/json");
  std::string tls_error;
  if (s.uri.starts_with("https://") && !st->tls) {
    session::TlsClientOptions options;
    options.verify = s.tls_verify;
    options.ca_pems = s.ca_pems;
    st->tls = session::TlsContext::make_client(options, tls_error);
    if (!st->tls && tls_error.empty()) tls_error = "cannot create the TLS context";
  }
  req.tls = st->tls;

  FetchOutcome outcome;
  if (!tls_error.empty()) {
    outcome.error = "tls: " + tls_error;
  } else {
    auto resp = co_await fetch_abandonable(st, std::move(req));
    if (!resp || st->stopping || st->dropped.load(std::memory_order_acquire)) co_return std::chrono::seconds{0};
    outcome = read_response(*resp, s);
  }

  if (outcome.keys) {
    const size_t count = outcome.keys->size();
    st->keys.store(std::move(outcome.keys), std::memory_order_release);
    st->last_good_ns.store(now_ns(), std::memory_order_relaxed);
    const size_t previous = st->key_count.exchange(count, std::memory_order_relaxed);
    const uint64_t ok = st->fetches_ok.fetch_add(1, std::memory_order_relaxed) + 1;
    const bool recovered = backoff != clamp_interval(s.min_refresh_interval, s) || !st->error().empty();
    st->set_error({});
    backoff = clamp_interval(s.min_refresh_interval, s);
    // Logged when something changed, not at every refresh.
    if (ok == 1 || recovered || previous != count) {
      PORTICO_LOG_INFO("jwks {}: {} keys ({} skipped), fresh for {} s", s.uri, count, outcome.skipped,
                       outcome.fresh_for.count());
    }
    co_return outcome.fresh_for;
  }
  st->fetches_failed.fetch_add(1, std::memory_order_relaxed);
  const auto retry_in = backoff;
  backoff = clamp_interval(backoff * 2, s);
  PORTICO_LOG_WARN("jwks {}: fetch failed: {}; keeping {} keys, retry in {} s", s.uri, outcome.error,
                   st->key_count.load(std::memory_order_relaxed), retry_in.count());
  st->set_error(std::move(outcome.error));
  co_return retry_in;
}

// The refresh loop of one source on the control thread: fetch, wait until stale (or failed-fetch
// back-off, or an unknown kid's request), repeat; ends on stop() or when the source is dropped.
runtime::Task<void> run_loop(std::shared_ptr<SourceState> st) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::chrono::seconds backoff = clamp_interval(st->settings.min_refresh_interval, st->settings);
  try {
    while (!st->stopping && !st->dropped.load(std::memory_order_acquire)) {
      st->refresh_now = false;
      const auto wait = co_await refresh(st, backoff);
      if (st->stopping || st->dropped.load(std::memory_order_acquire)) break;
      if (st->refresh_now) continue;  // an unknown kid arrived during the fetch
      timer.expires_after(wait);
      st->timer = &timer;
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      st->timer = nullptr;
      // Woken early: an unknown kid (fetch now), or stop / drop (the loop head ends).
    }
  } catch (const std::exception& e) {
    PORTICO_LOG_ERROR("jwks {}: refresh loop ended: {}", st->settings.uri, e.what());
  }
  st->timer = nullptr;
  st->fetch_wait = nullptr;
  st->loop_running = false;
}

// Control thread: starts the loop unless it runs already.
void spawn_loop(asio::io_context& io, const std::shared_ptr<SourceState>& st) {
  if (st->dropped.load(std::memory_order_acquire)) return;
  st->stopping = false;
  if (st->loop_running) return;  // stopped but not yet out: it carries on
  st->loop_running = true;
  asio::co_spawn(io, run_loop(st), asio::detached);
}

class RemoteJwksSource final : public JwksSource {
 public:
  explicit RemoteJwksSource(std::shared_ptr<SourceState> state) : state_(std::move(state)) {}

  ~RemoteJwksSource() override {
    state_->dropped.store(true, std::memory_order_release);
    if (auto* io = state_->io.load(std::memory_order_acquire)) {
      asio::post(*io, [st = state_] { st->abort(); });
    }
  }

  std::shared_ptr<const auth::KeySet> keys() const override {
    return state_->keys.load(std::memory_order_acquire);
  }

  void on_unknown_kid() override {
    auto* io = state_->io.load(std::memory_order_acquire);
    if (!io) return;  // not started (`portico check`, or shutting down)
    const int64_t now = now_ns();
    const int64_t window =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clamp_interval(state_->settings.min_refresh_interval,
                                                                            state_->settings))
            .count();
    int64_t last = state_->last_kid_refresh_ns.load(std::memory_order_relaxed);
    if (now - last < window || !state_->last_kid_refresh_ns.compare_exchange_strong(last, now)) {
      state_->unknown_kid_suppressed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    state_->unknown_kid_refreshes.fetch_add(1, std::memory_order_relaxed);
    asio::post(*io, [st = state_] {
      if (st->stopping) return;
      st->refresh_now = true;
      st->wake();
    });
  }

  const JwksSettings& settings() const override { return state_->settings; }

  const std::shared_ptr<SourceState>& state() const { return state_; }

 private:
  std::shared_ptr<SourceState> state_;
};

JwksStatus status_of(const SourceState& st) {
  JwksStatus out;
  out.uri = st.settings.uri;
  out.fetches_ok = st.fetches_ok.load(std::memory_order_relaxed);
  out.fetches_failed = st.fetches_failed.load(std::memory_order_relaxed);
  out.unknown_kid_refreshes = st.unknown_kid_refreshes.load(std::memory_order_relaxed);
  out.unknown_kid_suppressed = st.unknown_kid_suppressed.load(std::memory_order_relaxed);
  out.keys = st.key_count.load(std::memory_order_relaxed);
  const int64_t good = st.last_good_ns.load(std::memory_order_relaxed);
  out.seconds_since_good_fetch = good == kNever ? -1 : (now_ns() - good) / 1'000'000'000;
  out.last_error = st.error();
  return out;
}

}  // namespace

std::shared_ptr<JwksSource> JwksSource::shared(const JwksSettings& settings) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.prune();
  for (const auto& e : r.entries) {
    if (auto s = e.source.lock(); s && s->settings() == settings) return s;
  }
  auto state = std::make_shared<SourceState>(settings);
  auto source = std::make_shared<RemoteJwksSource>(state);
  r.entries.push_back({source, state});
  if (r.io) {
    state->io.store(r.io, std::memory_order_release);
    asio::post(*r.io, [io = r.io, state] { spawn_loop(*io, state); });
  }
  return source;
}

void JwksSource::start(asio::io_context& control) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.prune();
  r.io = &control;
  for (const auto& e : r.entries) {
    auto state = e.state.lock();
    if (!state || e.source.expired()) continue;
    state->io.store(&control, std::memory_order_release);
    asio::post(control, [io = &control, state] { spawn_loop(*io, state); });
  }
}

void JwksSource::stop() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto* io = r.io;
  r.io = nullptr;
  if (!io) return;
  for (const auto& e : r.entries) {
    auto state = e.state.lock();
    if (!state) continue;
    state->io.store(nullptr, std::memory_order_release);
    // On the control thread this runs at once; from elsewhere (tests) it runs on the next turn.
    asio::dispatch(*io, [state] {
      state->stopping = true;
      state->abort();
    });
  }
  r.prune();
}

std::vector<JwksStatus> JwksSource::all_status() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.prune();
  std::vector<JwksStatus> out;
  for (const auto& e : r.entries) {
    if (e.source.expired()) continue;
    if (auto state = e.state.lock()) out.push_back(status_of(*state));
  }
  std::sort(out.begin(), out.end(), [](const JwksStatus& a, const JwksStatus& b) { return a.uri < b.uri; });
  return out;
}

}  // namespace portico::filters
