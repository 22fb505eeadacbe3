#include "harness/redis_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "harness/client.h"

namespace portico::integration {
namespace {

const char* kServer = "/usr/bin/redis-server";
const char* kCli = "/usr/bin/redis-cli";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

RedisServer::RedisServer(std::vector<std::string> extra) : extra_(std::move(extra)) {}

RedisServer::~RedisServer() { stop(); }

bool RedisServer::available() { return ::access(kServer, X_OK) == 0 && ::access(kCli, X_OK) == 0; }

void RedisServer::start() {
  if (process_) return;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (fixed_ && attempt > 0) break;
    if (!fixed_ && (port_ == 0 || attempt > 0)) port_ = closed_port();
    std::vector<std::string> args = {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--protected-mode", "no", "--loglevel", "notice"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    process_ = std::make_unique<Process>(kServer, args);
    std::string error;
    if (process_->wait_for_line("Ready to accept connections", Millis(5000), Process::Stream::kStdout, &error)) {
      return;
    }
    process_.reset();
  }
  throw std::runtime_error("redis-server did not start");
}

bool RedisServer::port_in_use(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool used = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) ::close(fd);
  return used;
}

void RedisServer::stop() {
  if (!process_) return;
  process_->kill();
  process_.reset();
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"-h", "127.0.0.1", "-p", std::to_string(port_)};
  for (size_t i = 0; i + 1 < extra_.size(); ++i) {
    if (extra_[i] == "--requirepass") {
      argv.push_back("--no-auth-warning");
      argv.push_back("-a");
      argv.push_back(extra_[i + 1]);
    }
  }
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = run_command(kCli, argv, Millis(5000));
  return trim(r.out);
}

}  // namespace portico::integration
