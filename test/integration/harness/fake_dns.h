#pragma once
// A DNS server for integration tests: UDP on 127.0.0.1:0, one thread, the real wire format.
//
// Answers A queries for names set with `set()` (each address with the given TTL), an empty
// NOERROR answer (NODATA) for AAAA of a known name, and NXDOMAIN for names it does not know.
// `set()` and `remove()` may be called from any thread while it serves; the next query sees the
// change. The destructor stops the thread.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace portico::integration {

class FakeDns {
 public:
  FakeDns();
  ~FakeDns();
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;

  std::uint16_t port() const { return port_; }
  // "127.0.0.1:PORT", for `portico.dns.resolvers`.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void set(const std::string& name, std::vector<std::string> ipv4, std::uint32_t ttl);
  void remove(const std::string& name);
  // The next `n` queries for `name` (any type) get no answer, as if lost: the resolver's
  // per-try timeout then runs before it asks again.
  void drop_next(const std::string& name, int n);
  // A queries seen for `name` so far.
  int queries(const std::string& name) const;

 private:
  struct Record {
    std::vector<std::string> ipv4;
    std::uint32_t ttl = 0;
  };
  void serve();
  std::vector<std::uint8_t> answer(const std::uint8_t* query, std::size_t size);

  int fd_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, Record> records_;
  std::map<std::string, int> queries_;
  std::map<std::string, int> drops_;
};

}  // namespace portico::integration
