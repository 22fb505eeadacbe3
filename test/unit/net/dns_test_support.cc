#include "dns_test_support.h"

#include <boost/asio/ip/address.hpp>

namespace portico::net::testing {

namespace asio = boost::asio;
using asio::ip::udp;

FakeDnsServer::FakeDnsServer(asio::io_context& io)
    : socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  endpoint_ = socket_.local_endpoint();
  receive();
}

FakeDnsServer::~FakeDnsServer() {
  boost::system::error_code ec;
  socket_.close(ec);
}

void FakeDnsServer::receive() {
  socket_.async_receive_from(asio::buffer(buf_), peer_, [this](boost::system::error_code ec, size_t n) {
    if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
    if (!ec) handle(n);
    receive();
  });
}

void FakeDnsServer::send(std::vector<uint8_t> bytes) {
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(bytes), peer_, 0, ec);
}

void FakeDnsServer::handle(size_t n) {
  if (n < 12) return;
  const uint16_t id = static_cast<uint16_t>((buf_[0] << 8) | buf_[1]);
  // Queries carry one uncompressed name at offset 12.
  std::string name;
  size_t p = 12;
  while (p < n && buf_[p] != 0) {
    const size_t len = buf_[p];
    if (p + 1 + len > n) return;
    if (!name.empty()) name.push_back('.');
    name.append(reinterpret_cast<const char*>(&buf_[p + 1]), len);
    p += 1 + len;
  }
  if (p + 5 > n) return;
  const size_t question_end = p + 5;
  const uint16_t type = static_cast<uint16_t>((buf_[p + 1] << 8) | buf_[p + 2]);
  ++counts_[{name, type}];
  ++total_;

  FakeAnswer rule;
  bool known_name = false;
  if (auto it = rules_.find({name, type}); it != rules_.end()) {
    rule = it->second;
    known_name = true;
  } else {
    for (const auto& [key, value] : rules_) known_name = known_name || key.first == name;
    rule.kind = known_name ? FakeAnswer::Kind::kAnswer : FakeAnswer::Kind::kNxDomain;
  }
  if (override_all_) rule.kind = default_kind_;

  auto response = [&](uint16_t response_id, uint16_t rcode, bool tc, bool with_answers) {
    const bool cname = with_answers && !rule.cname.empty();
    const uint16_t count = with_answers ? static_cast<uint16_t>(rule.addresses.size() + (cname ? 1 : 0)) : 0;
    WireWriter w;
    w.header(response_id, static_cast<uint16_t>(0x8180 | (tc ? 0x0200 : 0) | rcode), 1, count);
    for (size_t i = 12; i < question_end; ++i) w.u8(buf_[i]);
    uint16_t owner = 12;  // the question name, compressed
    if (cname) {
      w.pointer(owner).rr(5, rule.ttl, 0);
      const size_t rdlength_at = w.size() - 2;
      owner = static_cast<uint16_t>(w.size());
      w.name(rule.cname);
      std::vector<uint8_t> bytes = w.data();
      const size_t rdlength = bytes.size() - rdlength_at - 2;
      bytes[rdlength_at] = static_cast<uint8_t>(rdlength >> 8);
      bytes[rdlength_at + 1] = static_cast<uint8_t>(rdlength);
      WireWriter fixed;
      for (uint8_t b : bytes) fixed.u8(b);
      w = fixed;
    }
    if (with_answers) {
      for (const std::string& literal : rule.addresses) {
        const auto address = asio::ip::make_address(literal);
        if (address.is_v4()) {
          w.pointer(owner).rr(1, rule.ttl, 4);
          for (uint8_t b : address.to_v4().to_bytes()) w.u8(b);
        } else {
          w.pointer(owner).rr(28, rule.ttl, 16);
          for (uint8_t b : address.to_v6().to_bytes()) w.u8(b);
        }
      }
    }
    return w.data();
  };

  switch (rule.kind) {
    case FakeAnswer::Kind::kAnswer: send(response(id, 0, false, true)); break;
    case FakeAnswer::Kind::kNxDomain: send(response(id, 3, false, false)); break;
    case FakeAnswer::Kind::kServFail: send(response(id, 2, false, false)); break;
    case FakeAnswer::Kind::kDrop: break;
    case FakeAnswer::Kind::kTruncated: send(response(id, 0, true, false)); break;
    case FakeAnswer::Kind::kWrongIdOnly: send(response(static_cast<uint16_t>(id + 1), 0, false, true)); break;
    case FakeAnswer::Kind::kWrongIdThenAnswer:
      send(response(static_cast<uint16_t>(id ^ 0x5555), 0, false, true));
      send(response(id, 0, false, true));
      break;
  }
}

bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace portico::net::testing
