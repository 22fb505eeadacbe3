#include "harness/fake_dns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <stdexcept>

namespace portico::integration {

namespace {

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeAAAA = 28;

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}

}  // namespace

FakeDns::FakeDns() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("fake dns: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error(std::string("fake dns: bind failed: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    ::close(fd_);
    throw std::runtime_error("fake dns: pipe2 failed");
  }
  thread_ = std::thread([this] { serve(); });
}

FakeDns::~FakeDns() {
  char b = 1;
  (void)::write(wake_[1], &b, 1);
  thread_.join();
  ::close(fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void FakeDns::set(const std::string& name, std::vector<std::string> ipv4, std::uint32_t ttl) {
  std::lock_guard<std::mutex> lock(mu_);
  records_[name] = Record{std::move(ipv4), ttl};
}

void FakeDns::remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  records_.erase(name);
}

void FakeDns::drop_next(const std::string& name, int n) {
  std::lock_guard<std::mutex> lock(mu_);
  drops_[name] = n;
}

int FakeDns::queries(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = queries_.find(name);
  return it == queries_.end() ? 0 : it->second;
}

void FakeDns::serve() {
  std::uint8_t buf[1500];
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
    if (n <= 0) continue;
    std::vector<std::uint8_t> reply = answer(buf, static_cast<std::size_t>(n));
    if (reply.empty()) continue;
    ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
  }
}

// One question, uncompressed name (what resolvers send); anything else is dropped.
std::vector<std::uint8_t> FakeDns::answer(const std::uint8_t* q, std::size_t size) {
  if (size < 12 || (q[2] & 0x80) != 0 || q[4] != 0 || q[5] != 1) return {};
  std::size_t pos = 12;
  std::string name;
  while (pos < size && q[pos] != 0) {
    std::size_t label = q[pos];
    if (label > 63 || pos + 1 + label >= size) return {};
    if (!name.empty()) name += '.';
    for (std::size_t i = 0; i < label; ++i) {
      name += static_cast<char>(std::tolower(q[pos + 1 + i]));
    }
    pos += 1 + label;
  }
  if (pos + 5 > size) return {};
  const std::size_t question_end = pos + 5;
  const std::uint16_t type = static_cast<std::uint16_t>(q[pos + 1] << 8 | q[pos + 2]);

  Record record;
  bool known;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (type == kTypeA) ++queries_[name];
    if (auto d = drops_.find(name); d != drops_.end() && d->second > 0) {
      --d->second;
      return {};
    }
    auto it = records_.find(name);
    known = it != records_.end();
    if (known) record = it->second;
  }
  std::vector<std::uint8_t> out(q, q + question_end);
  out[2] = 0x84 | (q[2] & 0x01);  // QR, AA, RD copied
  out[3] = known ? 0x80 : 0x83;   // RA; rcode NOERROR or NXDOMAIN
  const std::uint16_t answers = known && type == kTypeA ? static_cast<std::uint16_t>(record.ipv4.size()) : 0;
  out[6] = static_cast<std::uint8_t>(answers >> 8);
  out[7] = static_cast<std::uint8_t>(answers);
  out[8] = out[9] = out[10] = out[11] = 0;
  if (type != kTypeA && type != kTypeAAAA) return out;
  for (std::uint16_t i = 0; i < answers; ++i) {
    in_addr a{};
    if (::inet_pton(AF_INET, record.ipv4[i].c_str(), &a) != 1) continue;
    put16(out, 0xC00C);  // pointer to the question's name
    put16(out, kTypeA);
    put16(out, 1);  // IN
    put32(out, record.ttl);
    put16(out, 4);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&a.s_addr);
    out.insert(out.end(), b, b + 4);
  }
  return out;
}

}  // namespace portico::integration
