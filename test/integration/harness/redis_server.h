#pragma once
// A real redis-server for tests: started on a free loopback port with no persistence and no
// config file, stopped (by PID) in the destructor also when a test fails.
//
// Contract: `start()` returns once the server answers PING (or throws with its log); `stop()`
// kills it (a Redis outage), `start()` again brings it back on the same port. Tests that need
// Redis skip (GTEST_SKIP) when redis-server is not installed.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/process.h"

namespace portico::integration {

class RedisServer {
 public:
  // `extra` are redis-server command-line options ("--requirepass", "secret", ...).
  explicit RedisServer(std::vector<std::string> extra = {});
  ~RedisServer();

  static bool available();

  // Before the first start(): listen on `port` (e.g. Redis's default 6379) instead of a free one.
  void use_port(uint16_t port) { port_ = port; fixed_ = true; }
  // True when something accepts connections on 127.0.0.1:port.
  static bool port_in_use(uint16_t port);

  void start();
  void stop();
  bool running() const { return process_ != nullptr; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  // Runs one command with redis-cli against this server and returns its output (trimmed).
  std::string cli(const std::vector<std::string>& args) const;

 private:
  std::vector<std::string> extra_;
  uint16_t port_ = 0;
  bool fixed_ = false;
  std::unique_ptr<Process> process_;
};

}  // namespace portico::integration
