// RedisClient against a real redis-server on loopback, driven in-process on one io_context (as a
// worker would): pipelining, AUTH / SELECT, Redis errors, timeouts, an outage and recovery.
#include "redis/client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>

#include "harness/redis_server.h"

namespace portico::integration {
namespace {

namespace asio = boost::asio;
using redis::RedisClient;
using redis::RedisResult;
using redis::RedisSettings;
using redis::RespType;
using Clock = std::chrono::steady_clock;

// g++ 12 mishandles initializer lists inside co_await expressions: commands are built here.
template <class... A>
std::vector<std::string> cmd(A... a) {  // by value: string literals decay to pointers
  return {std::string(a)...};
}

// Runs `body` as a coroutine on a fresh io_context until it finishes (bounded).
void run(asio::io_context& io, std::function<runtime::Task<void>()> body) {
  bool done = false;
  asio::co_spawn(io, [&]() -> runtime::Task<void> {
    co_await body();
    done = true;
    io.stop();  // the client's idle connections would keep run_for busy until it times out
  }, asio::detached);
  io.restart();
  io.run_for(std::chrono::seconds(20));
  ASSERT_TRUE(done) << "coroutine did not finish";
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
  }
  RedisSettings settings_for(const RedisServer& server) {
    RedisSettings s;
    s.port = server.port();
    s.timeout = std::chrono::milliseconds(1000);
    s.reconnect_backoff = std::chrono::milliseconds(300);
    return s;
  }
  asio::io_context io;
};

TEST_F(RedisClientTest, CommandsRepliesAndRedisErrors) {
  RedisServer server;
  server.start();
  RedisClient client(io.get_executor(), settings_for(server));
  run(io, [&]() -> runtime::Task<void> {
    RedisResult r = co_await client.call(cmd("SET", "k", "a\r\nb"));
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.value.type, RespType::kSimpleString);
    EXPECT_EQ(r.value.text, std::string_view("OK"));
    r = co_await client.call(cmd("GET", "k"));
    EXPECT_EQ(r.value.type, RespType::kBulkString);
    EXPECT_EQ(r.value.text, std::string_view("a\r\nb"));
    r = co_await client.call(cmd("GET", "missing"));
    EXPECT_EQ(r.value.type, RespType::kNull);
    r = co_await client.call(cmd("INCR", "k"));  // not an integer: Redis answers an error reply
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.value.type, RespType::kError);
    EXPECT_NE(r.value.text.find("not an integer"), std::string::npos);
    r = co_await client.call(cmd("EVAL", "return {1, 'x', {2}}", "0"));
    EXPECT_EQ(r.value.type, RespType::kArray);
    if (r.value.elements.size() == 3 && r.value.elements[2].elements.size() == 1) {
      EXPECT_EQ(r.value.elements[1].text, std::string_view("x"));
      EXPECT_EQ(r.value.elements[2].elements[0].integer, 2);
    } else {
      ADD_FAILURE() << "unexpected EVAL reply shape";
    }
  });
  EXPECT_EQ(client.stats().connects, 1u);
  EXPECT_EQ(client.stats().failures, 0u);
}

TEST_F(RedisClientTest, ConcurrentCallsArePipelinedOnOneConnectionInOrder) {
  RedisServer server;
  server.start();
  RedisClient client(io.get_executor(), settings_for(server));
  constexpr int kCalls = 300;
  std::vector<int64_t> got(kCalls, -1);
  int finished = 0;
  for (int i = 0; i < kCalls; ++i) {
    asio::co_spawn(io, [&, i]() -> runtime::Task<void> {
      RedisResult r = co_await client.call(cmd("INCR", "counter"));
      if (r.ok) got[static_cast<size_t>(i)] = r.value.integer;
      if (++finished == kCalls) io.stop();
    }, asio::detached);
  }
  io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(finished, kCalls);
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], i + 1) << i;  // replies in issue order
  EXPECT_EQ(client.stats().connects, 1u);
  EXPECT_EQ(server.cli({"GET", "counter"}), std::to_string(kCalls));
}

TEST_F(RedisClientTest, AuthAndSelectGoAheadOfTheFirstCommand) {
  RedisServer server({"--requirepass", "s3cret"});
  server.start();
  RedisSettings s = settings_for(server);
  s.password = "s3cret";
  s.database = 3;
  RedisClient client(io.get_executor(), s);
  run(io, [&]() -> runtime::Task<void> {
    RedisResult r = co_await client.call(cmd("SET", "in-db-3", "yes"));
    EXPECT_TRUE(r.ok) << r.error;
  });
  EXPECT_EQ(server.cli({"-n", "3", "GET", "in-db-3"}), std::string_view("yes"));
  EXPECT_EQ(server.cli({"-n", "0", "EXISTS", "in-db-3"}), std::string_view("0"));

  RedisSettings wrong = s;
  wrong.password = "wrong";
  RedisClient refused(io.get_executor(), wrong);
  run(io, [&]() -> runtime::Task<void> {
    RedisResult r = co_await refused.call(cmd("PING"));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("AUTH refused by redis"), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find("wrong"), std::string::npos) << "the password must not appear: " << r.error;
  });
}

TEST_F(RedisClientTest, ARefusedSelectLetsNoCommandRunInAnotherDatabase) {
  RedisServer server;  // 16 databases: SELECT 20 is refused
  server.start();
  RedisSettings s = settings_for(server);
  s.database = 20;
  RedisClient client(io.get_executor(), s);
  run(io, [&]() -> runtime::Task<void> {
    RedisResult r = co_await client.call(cmd("SET", "stray", "1"));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("SELECT refused by redis"), std::string::npos) << r.error;
  });
  // The SET waited for SELECT's answer and was never sent: database 0 has no such key.
  EXPECT_EQ(server.cli({"-n", "0", "EXISTS", "stray"}), std::string_view("0"));
}

TEST_F(RedisClientTest, AnOutageFailsFastDuringBackoffAndRecovers) {
  RedisServer server;
  server.start();
  RedisClient client(io.get_executor(), settings_for(server));
  run(io, [&]() -> runtime::Task<void> {
    EXPECT_TRUE((co_await client.call(cmd("PING"))).ok);
  });
  server.stop();
  run(io, [&]() -> runtime::Task<void> {
    const auto t0 = Clock::now();
    RedisResult r = co_await client.call(cmd("PING"));  // the open connection sees the close
    EXPECT_FALSE(r.ok);
    r = co_await client.call(cmd("PING"));  // within the back-off: no connect attempted
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("redis unavailable"), std::string::npos) << r.error;
    EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(900));  // below the 1 s timeout
  });
  EXPECT_GE(client.stats().fast_failures, 1u);
  server.start();
  run(io, [&]() -> runtime::Task<void> {
    asio::steady_timer t(io, std::chrono::milliseconds(350));  // the back-off passes
    co_await t.async_wait(asio::use_awaitable);
    RedisResult r = co_await client.call(cmd("PING"));
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.value.text, std::string_view("PONG"));
  });
}

TEST_F(RedisClientTest, ASlowRedisTimesOutEveryCallOnTheConnectionWithinTheTimeout) {
  RedisServer server({"--enable-debug-command", "yes"});
  server.start();
  RedisSettings s = settings_for(server);
  s.timeout = std::chrono::milliseconds(200);
  RedisClient client(io.get_executor(), s);
  RedisClient other(io.get_executor(), settings_for(server));
  int finished = 0;
  Clock::time_point t0;
  run(io, [&]() -> runtime::Task<void> {
    EXPECT_TRUE((co_await client.call(cmd("PING"))).ok);
    t0 = Clock::now();
    asio::co_spawn(io, [&]() -> runtime::Task<void> {
      co_await other.call(cmd("DEBUG", "SLEEP", "1"));  // Redis is busy for a second
    }, asio::detached);
    asio::steady_timer t(io, std::chrono::milliseconds(50));
    co_await t.async_wait(asio::use_awaitable);
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(io, [&]() -> runtime::Task<void> {
        RedisResult r = co_await client.call(cmd("PING"));
        EXPECT_FALSE(r.ok);
        EXPECT_NE(r.error.find("did not answer within 200 ms"), std::string::npos) << r.error;
        if (++finished == 3) io.stop();
      }, asio::detached);
    }
  });
  io.restart();
  io.run_for(std::chrono::seconds(3));
  EXPECT_EQ(finished, 3);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(600));  // 200 ms timeout, not Redis's 1 s
  EXPECT_EQ(client.stats().failures, 3u);
}

TEST_F(RedisClientTest, ARefusedConnectionFailsAtOnce) {
  RedisServer server;
  server.start();
  RedisSettings s = settings_for(server);
  server.stop();  // nothing listens on the port any more
  RedisClient client(io.get_executor(), s);
  run(io, [&]() -> runtime::Task<void> {
    const auto t0 = Clock::now();
    RedisResult r = co_await client.call(cmd("PING"));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("connect to redis 127.0.0.1:"), std::string::npos) << r.error;
    EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(500));
  });
  EXPECT_EQ(client.stats().connect_failures, 1u);
}

}  // namespace
}  // namespace portico::integration
