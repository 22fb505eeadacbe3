// RedisClient: pipelined Redis connections of one worker to one Redis server.
//
// Contract
// - Thread: one worker's io_context. Every call and every callback happens there, so the client
//   needs no lock. Each worker owns its clients (one per distinct RedisSettings); a client is
//   never shared between threads.
// - `call` sends one command and completes with its reply. Commands from concurrent requests are
//   pipelined on the least loaded of up to `pool_size` connections, and replies are matched in
//   order: the commands made during one turn of the worker's event loop leave together in one
//   non-blocking send queued behind them (automatic pipelining: under load one syscall carries
//   many decisions). Over TLS a command that arrives while a reply is awaited is sent with the
//   connection's next batch.
// - Connecting: lazily on the first call, then AUTH (username / password) and SELECT (database);
//   commands wait for their answers, so a refused AUTH or SELECT runs nothing as another user or
//   in another database. Name resolution uses Asio's resolver (not the worker's thread) within
//   the timeout; IP literals need none.
// - Timeouts: every call completes within `timeout` of being made. When the oldest reply on a
//   connection is late, the connection is closed and every call on it fails ("timed out"): a
//   pipeline cannot skip a reply. After a failed connect or a broken connection, calls fail at
//   once ("redis unavailable: <reason>") until `reconnect_backoff` has passed, so a dead Redis
//   costs no waiting and no connect storm; the first call after the back-off tries again.
// - Errors are text for logs; they never contain command arguments (they may hold keys).
// - `close()` fails pending calls and closes the connections; the destructor does the same.
//   Connection coroutines hold the state by shared_ptr, so destroying the client while a read is
//   pending is safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "redis/resp.h"
#include "runtime/task.h"
#include "session/tls.h"

namespace portico::redis {

struct RedisSettings {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string username;  // AUTH username password (Redis 6 ACL); empty = AUTH password
  std::string password;  // empty = no AUTH
  int database = 0;      // SELECT when not 0
  std::chrono::milliseconds timeout{2000};
  std::chrono::milliseconds reconnect_backoff{1000};
  size_t pool_size = 1;
  // TLS (Kong's `ssl`, `ssl_verify`, `server_name`); null context = plaintext.
  std::shared_ptr<const session::TlsContext> tls;
  std::string server_name;
  // Equal settings share a client. TLS contexts compare by what they check and present (a
  // reload builds a new context with the same identity), not by address.
  bool operator==(const RedisSettings& o) const {
    return host == o.host && port == o.port && username == o.username && password == o.password &&
           database == o.database && timeout == o.timeout && reconnect_backoff == o.reconnect_backoff &&
           pool_size == o.pool_size && server_name == o.server_name && (tls == nullptr) == (o.tls == nullptr) &&
           (tls == nullptr || tls->identity() == o.tls->identity());
  }
};

// An owned reply (the parsed RESP tree, copied out of the connection's buffer).
struct RedisValue {
  RespType type = RespType::kNull;
  int64_t integer = 0;
  std::string text;
  std::vector<RedisValue> elements;
};

struct RedisResult {
  bool ok = false;     // a reply arrived (which may itself be a Redis error: value.type kError)
  std::string error;   // transport failure when !ok
  RedisValue value;
};

// A snapshot of a client's counters (readable from any thread: they are relaxed atomics).
struct RedisClientStats {
  uint64_t calls = 0;
  uint64_t failures = 0;     // calls that got no reply
  uint64_t connects = 0;     // connections established
  uint64_t connect_failures = 0;
  uint64_t fast_failures = 0;  // failed at once during the reconnect back-off
};

class RedisClient {
 public:
  RedisClient(boost::asio::any_io_executor executor, RedisSettings settings);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  runtime::Task<RedisResult> call(std::vector<std::string> args);
  void close();

  const RedisSettings& settings() const;
  RedisClientStats stats() const;

 private:
  struct Shared;
  struct Connection;
  std::shared_ptr<Shared> shared_;
};

}  // namespace portico::redis
