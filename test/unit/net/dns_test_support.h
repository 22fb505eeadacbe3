// Test helpers for the DNS tests: a byte-level message writer (so tests state exactly which bytes
// go on the wire) and a fake DNS server on 127.0.0.1 that speaks the real wire format.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::net::testing {

// Appends DNS fields in network order.
class WireWriter {
 public:
  WireWriter& u8(uint8_t v) {
    bytes_.push_back(v);
    return *this;
  }
  WireWriter& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
  WireWriter& u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v)); }
  WireWriter& header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0, uint16_t ar = 0) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  // Uncompressed name ("a.b" → 1a1b0); "" is the root.
  WireWriter& name(std::string_view n) {
    labels(n);
    return u8(0);
  }
  // Labels without the terminating zero (to end in a pointer).
  WireWriter& labels(std::string_view n) {
    while (!n.empty()) {
      const size_t dot = n.find('.');
      const std::string_view label = n.substr(0, dot);
      u8(static_cast<uint8_t>(label.size()));
      bytes_.insert(bytes_.end(), label.begin(), label.end());
      if (dot == std::string_view::npos) break;
      n.remove_prefix(dot + 1);
    }
    return *this;
  }
  WireWriter& pointer(uint16_t offset) { return u16(static_cast<uint16_t>(0xC000 | offset)); }
  WireWriter& bytes(std::initializer_list<uint8_t> b) {
    bytes_.insert(bytes_.end(), b);
    return *this;
  }
  // Record tail after the owner name: type, class IN, ttl, rdlength (rdata follows).
  WireWriter& rr(uint16_t type, uint32_t ttl, uint16_t rdlength) { return u16(type).u16(1).u32(ttl).u16(rdlength); }

  size_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& data() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// What the fake server does with a query for one (name, type).
struct FakeAnswer {
  enum class Kind { kAnswer, kNxDomain, kServFail, kDrop, kTruncated, kWrongIdOnly, kWrongIdThenAnswer };
  FakeAnswer() = default;
  FakeAnswer(Kind k, std::vector<std::string> a = {}, uint32_t t = 60, std::string c = {})
      : kind(k), addresses(std::move(a)), ttl(t), cname(std::move(c)) {}
  Kind kind = Kind::kAnswer;
  std::vector<std::string> addresses;  // literals matching the query type
  uint32_t ttl = 60;
  std::string cname;  // when set, answer with name CNAME cname, then cname's addresses
};

// A UDP DNS server on 127.0.0.1:0 driven by the test's io_context. Unknown names get NXDOMAIN
// for their type only if listed in no rule at all, and an empty NOERROR answer (NODATA) if the
// name has a rule for another type.
class FakeDnsServer {
 public:
  explicit FakeDnsServer(boost::asio::io_context& io);
  ~FakeDnsServer();

  boost::asio::ip::udp::endpoint endpoint() const { return endpoint_; }
  // type: 1 (A) or 28 (AAAA)
  void set(const std::string& name, uint16_t type, FakeAnswer answer) { rules_[{name, type}] = std::move(answer); }
  void set_all(FakeAnswer::Kind kind) {
    default_kind_ = kind;
    override_all_ = true;
  }
  void clear_override() { override_all_ = false; }
  int queries(const std::string& name, uint16_t type) const {
    auto it = counts_.find({name, type});
    return it == counts_.end() ? 0 : it->second;
  }
  int total_queries() const { return total_; }

 private:
  void receive();
  void handle(size_t n);
  void send(std::vector<uint8_t> bytes);

  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::endpoint endpoint_;
  boost::asio::ip::udp::endpoint peer_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(2048);
  std::map<std::pair<std::string, uint16_t>, FakeAnswer> rules_;
  std::map<std::pair<std::string, uint16_t>, int> counts_;
  FakeAnswer::Kind default_kind_ = FakeAnswer::Kind::kAnswer;
  bool override_all_ = false;
  int total_ = 0;
};

// Runs `io` until `done()` or `limit` passes; false on timeout.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = std::chrono::milliseconds(5000));

}  // namespace portico::net::testing
