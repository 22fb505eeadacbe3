#include "redis/client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <deque>
#include <functional>

#include "session/stream.h"

namespace portico::redis {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

RedisValue to_value(const RespReply& reply, size_t& index) {
  const RespNode& n = reply.nodes[index++];
  RedisValue v;
  v.type = n.type;
  v.integer = n.integer;
  v.text.assign(n.text);
  if (n.type == RespType::kArray) {
    v.elements.reserve(static_cast<size_t>(n.integer));
    for (int64_t i = 0; i < n.integer; ++i) v.elements.push_back(to_value(reply, index));
  }
  return v;
}

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

struct RedisClient::Connection {
  enum class State : uint8_t { kIdle, kConnecting, kReady };
  struct Pending {
    std::function<void(RedisResult)> done;  // null for AUTH / SELECT, checked by `internal`
    Clock::time_point deadline;
    const char* internal = nullptr;         // "AUTH" / "SELECT": an error reply breaks the connection
  };

  explicit Connection(const asio::any_io_executor& ex) : wake(ex) {}

  State state = State::kIdle;
  bool pumping_write = false;   // the pump is writing `out`: calls only append
  bool flush_posted = false;    // a flush of `out` is queued on the executor
  std::unique_ptr<session::Stream> stream;
  std::string out;
  // Commands held back until AUTH / SELECT have answered (`gate` replies still to come), so a
  // refused AUTH or SELECT never lets a command run as another user or in another database.
  std::string held;
  size_t gate = 0;
  std::deque<Pending> pending;
  asio::steady_timer wake;
  RespParser parser;
  RespReply reply;
};

struct RedisClient::Shared : std::enable_shared_from_this<RedisClient::Shared> {
  Shared(asio::any_io_executor ex, RedisSettings s) : executor(std::move(ex)), settings(std::move(s)) {}

  asio::any_io_executor executor;
  RedisSettings settings;
  std::vector<std::shared_ptr<Connection>> connections;
  Clock::time_point down_until{};
  std::string down_reason;
  struct Counters {
    std::atomic<uint64_t> calls{0}, failures{0}, connects{0}, connect_failures{0}, fast_failures{0};
  } stats;
  bool closed = false;

  Connection& pick() {
    Connection* best = nullptr;
    for (auto& c : connections) {
      if (!best || c->pending.size() < best->pending.size()) best = c.get();
    }
    if ((!best || !best->pending.empty()) && connections.size() < std::max<size_t>(1, settings.pool_size)) {
      connections.push_back(std::make_shared<Connection>(executor));
      return *connections.back();
    }
    return *best;
  }

  std::shared_ptr<Connection> owner(Connection& c) {
    for (auto& p : connections) {
      if (p.get() == &c) return p;
    }
    return nullptr;
  }

  // A broken connection leaves the pool at once (its pump may still hold it while an operation
  // on its stream completes); the next call opens a fresh one.
  void forget(Connection& c) {
    for (size_t i = 0; i < connections.size(); ++i) {
      if (connections[i].get() == &c) {
        connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(i));
        return;
      }
    }
  }

  static void fail(Connection::Pending& p, const std::string& why) {
    if (!p.done) return;
    RedisResult r;
    r.error = why;
    auto done = std::move(p.done);
    done(std::move(r));
  }

  // Fails every call on `c` and closes it; a broken server is not retried before the back-off.
  void break_connection(Connection& c, const std::string& why) {
    std::deque<Connection::Pending> failed;
    failed.swap(c.pending);
    c.out.clear();
    c.held.clear();
    c.gate = 0;
    if (c.stream) c.stream->close();
    c.state = Connection::State::kIdle;
    c.wake.cancel();
    forget(c);
    down_until = Clock::now() + settings.reconnect_backoff;
    down_reason = why;
    for (auto& p : failed) {
      if (p.done) ++stats.failures;
      fail(p, why);
    }
  }

  // Sends what `c.out` holds without waiting. A kernel buffer too full to take a few commands
  // means Redis stopped reading: the connection is broken rather than left to stall the pipeline.
  void write_now(Connection& c) {
    if (c.out.empty() || c.pumping_write || c.stream->tls()) return;
    asio::const_buffer b(c.out.data(), c.out.size());
    size_t written = 0;
    const session::IoStatus s = c.stream->write_now(session::Stream::Buffers(&b, 1), written);
    if (s == session::IoStatus::kOk) {
      c.out.clear();
    } else {
      break_connection(c, s == session::IoStatus::kWouldBlock ? "redis is not reading its commands"
                                                              : "write to redis failed: " + c.stream->error_text());
    }
  }

  // Queues AUTH / SELECT on a new connection; `spawn` then starts its pump.
  void prepare(Connection& c) {
    c.state = Connection::State::kConnecting;
    // AUTH and SELECT go first, pipelined with the command that opened the connection.
    const Clock::time_point deadline = Clock::now() + settings.timeout;
    if (!settings.password.empty()) {
      if (settings.username.empty()) {
        encode_command(c.out, {"AUTH", settings.password});
      } else {
        encode_command(c.out, {"AUTH", settings.username, settings.password});
      }
      c.pending.push_back({nullptr, deadline, "AUTH"});
    }
    if (settings.database != 0) {
      const std::string db = std::to_string(settings.database);
      encode_command(c.out, {"SELECT", db});
      c.pending.push_back({nullptr, deadline, "SELECT"});
    }
    c.gate = c.pending.size();
  }
  void spawn(Connection& c) { asio::co_spawn(executor, pump(shared_from_this(), owner(c)), asio::detached); }

  static runtime::Task<void> pump(std::shared_ptr<Shared> self, std::shared_ptr<Connection> conn);
  runtime::Task<bool> connect(Connection& c);
  // Hands every complete reply in the buffer to its call. False when the stream broke framing.
  bool deliver(Connection& c);
};

runtime::Task<bool> RedisClient::Shared::connect(Connection& c) {
  const auto started = Clock::now();
  auto left = [&] {
    auto l = std::chrono::duration_cast<std::chrono::milliseconds>(started + settings.timeout - Clock::now());
    return std::max(l, std::chrono::milliseconds(1));
  };
  const std::string target = settings.host + ":" + std::to_string(settings.port);
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(settings.host, ec);
  if (ec) {
    // The resolution counts against the timeout too: a resolver that stops answering cancels.
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(executor);
    asio::steady_timer deadline(executor, settings.timeout);
    deadline.async_wait([weak = std::weak_ptr(resolver)](const boost::system::error_code& e) {
      if (auto r = weak.lock(); r && !e) r->cancel();
    });
    auto [rec, results] = co_await resolver->async_resolve(settings.host, std::to_string(settings.port),
                                                           asio::as_tuple(asio::use_awaitable));
    const bool timed_out = rec == asio::error::operation_aborted;
    deadline.cancel();
    if (c.state != Connection::State::kConnecting) co_return false;  // closed meanwhile
    if (rec || results.empty()) {
      ++stats.connect_failures;
      break_connection(c, "cannot resolve redis host " + settings.host + ": " +
                              (timed_out ? "timed out after " + ms_text(settings.timeout) : rec.message()));
      co_return false;
    }
    address = results.begin()->endpoint().address();
  }
  c.stream = std::make_unique<session::Stream>(asio::ip::tcp::socket(executor), 4096, 1024 * 1024);
  session::IoStatus s = co_await c.stream->connect(asio::ip::tcp::endpoint(address, settings.port), left());
  if (s == session::IoStatus::kOk && settings.tls) {
    std::string error;
    auto engine = session::TlsEngine::make(settings.tls, error);
    const std::string& name = settings.server_name.empty() ? settings.host : settings.server_name;
    if (!engine || !engine->set_peer_host(name)) {
      ++stats.connect_failures;
      break_connection(c, "redis TLS setup failed: " + (engine ? engine->error() : error));
      co_return false;
    }
    c.stream->start_tls(std::move(engine));
    s = co_await c.stream->handshake(left());
  }
  if (c.state != Connection::State::kConnecting) co_return false;  // closed meanwhile
  if (s != session::IoStatus::kOk) {
    ++stats.connect_failures;
    break_connection(c, s == session::IoStatus::kTimeout
                            ? "connect to redis " + target + " timed out after " + ms_text(settings.timeout)
                            : "connect to redis " + target + " failed: " + c.stream->error_text());
    co_return false;
  }
  ++stats.connects;
  c.state = Connection::State::kReady;
  co_return true;
}

bool RedisClient::Shared::deliver(Connection& c) {
  while (!c.stream->in().empty()) {
    size_t consumed = 0;
    const RespStatus st = c.parser.parse(c.stream->in().view(), c.reply, consumed);
    if (st == RespStatus::kNeedMore) return true;
    if (st == RespStatus::kError || c.pending.empty()) {
      break_connection(c, st == RespStatus::kError ? std::string("redis protocol error: ") + c.parser.error()
                                                   : std::string("redis sent a reply nobody asked for"));
      return false;
    }
    Connection::Pending p = std::move(c.pending.front());
    c.pending.pop_front();
    size_t index = 0;
    RedisResult result;
    result.ok = true;
    result.value = to_value(c.reply, index);
    c.stream->in().consume(consumed);
    if (p.internal) {
      if (result.value.type == RespType::kError) {
        break_connection(c, std::string(p.internal) + " refused by redis: " + result.value.text);
        return false;
      }
      if (c.gate > 0 && --c.gate == 0) {
        c.out.append(c.held);  // the pump writes it next
        c.held.clear();
      }
      continue;
    }
    // The call may resume here and make new calls: `c` stays valid (the pump holds it).
    auto done = std::move(p.done);
    done(std::move(result));
    if (c.state != Connection::State::kReady) return false;
  }
  return true;
}

runtime::Task<void> RedisClient::Shared::pump(std::shared_ptr<Shared> self, std::shared_ptr<Connection> conn) {
  Shared& sh = *self;
  Connection& c = *conn;
  if (!co_await sh.connect(c)) co_return;
  const RedisSettings& settings = sh.settings;
  while (c.state == Connection::State::kReady && !sh.closed) {
    if (!c.out.empty()) {
      std::string batch;
      batch.swap(c.out);
      c.pumping_write = true;
      const session::IoStatus s = co_await c.stream->write(asio::const_buffer(batch.data(), batch.size()), settings.timeout);
      c.pumping_write = false;
      if (c.state != Connection::State::kReady) break;
      if (s != session::IoStatus::kOk) {
        sh.break_connection(c, s == session::IoStatus::kTimeout ? "write to redis timed out after " + ms_text(settings.timeout)
                                                             : "write to redis failed: " + c.stream->error_text());
        break;
      }
      continue;
    }
    if (c.pending.empty()) {
      c.wake.expires_at(Clock::time_point::max());
      co_await c.wake.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    const auto now = Clock::now();
    const auto deadline = c.pending.front().deadline;
    if (deadline <= now) {
      sh.break_connection(c, "redis did not answer within " + ms_text(settings.timeout));
      break;
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) + std::chrono::milliseconds(1);
    const session::IoStatus s = co_await c.stream->read_more(wait);
    if (c.state != Connection::State::kReady) break;
    if (s == session::IoStatus::kTimeout) {
      sh.break_connection(c, "redis did not answer within " + ms_text(settings.timeout));
      break;
    }
    if (s != session::IoStatus::kOk) {
      sh.break_connection(c, s == session::IoStatus::kEof ? std::string("redis closed the connection")
                                                       : "read from redis failed: " + c.stream->error_text());
      break;
    }
    if (!sh.deliver(c)) break;
  }
}

RedisClient::RedisClient(asio::any_io_executor executor, RedisSettings settings)
    : shared_(std::make_shared<Shared>(std::move(executor), std::move(settings))) {}

RedisClient::~RedisClient() { close(); }

const RedisSettings& RedisClient::settings() const { return shared_->settings; }

RedisClientStats RedisClient::stats() const {
  const auto& c = shared_->stats;
  auto get = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  return {get(c.calls), get(c.failures), get(c.connects), get(c.connect_failures), get(c.fast_failures)};
}

void RedisClient::close() {
  Shared& s = *shared_;
  s.closed = true;
  auto connections = s.connections;
  for (auto& c : connections) s.break_connection(*c, "redis client closed");
  s.connections.clear();
}

runtime::Task<RedisResult> RedisClient::call(std::vector<std::string> args) {
  std::shared_ptr<Shared> shared = shared_;
  Shared& s = *shared;
  ++s.stats.calls;
  if (s.closed) {
    ++s.stats.failures;
    co_return RedisResult{false, "redis client closed", {}};
  }
  Connection& c = s.pick();
  if (c.state == Connection::State::kIdle && Clock::now() < s.down_until) {
    ++s.stats.failures;
    ++s.stats.fast_failures;
    co_return RedisResult{false, "redis unavailable: " + s.down_reason, {}};
  }
  // See DnsResolver::resolve: the initiation captures a pointer into this frame only.
  struct Request {
    std::shared_ptr<Shared> shared;
    Connection* conn;
    std::vector<std::string>* args;
  };
  Request request{shared, &c, &args};
  Request* req = &request;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(RedisResult)>(
      [req](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        Shared& sh = *req->shared;
        Connection& conn = *req->conn;
        const bool idle = conn.state == Connection::State::kIdle;
        // prepare() puts AUTH / SELECT into `out` first; the command follows them.
        if (idle) sh.prepare(conn);
        encode_command(conn.gate > 0 ? conn.held : conn.out, *req->args);
        conn.pending.push_back({[h](RedisResult r) {
                                  auto handler = std::move(*h);
                                  std::move(handler)(std::move(r));
                                },
                                Clock::now() + sh.settings.timeout, nullptr});
        if (idle) {
          sh.spawn(conn);
        } else if (conn.state == Connection::State::kReady) {
          conn.wake.cancel();  // TLS, or a pump waiting with nothing pending
          if (!conn.flush_posted && !conn.pumping_write && !conn.stream->tls()) {
            // Automatic pipelining: the commands of every request the worker handles in this
            // turn of its event loop leave in one send, queued behind them.
            conn.flush_posted = true;
            asio::post(sh.executor, [shared = req->shared, c = sh.owner(conn)] {
              c->flush_posted = false;
              if (c->state == Connection::State::kReady) shared->write_now(*c);
            });
          }
        }
      },
      asio::use_awaitable);
}

}  // namespace portico::redis
