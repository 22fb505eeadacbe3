#include "harness/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace portico::integration {

std::string Response::describe() const {
  std::string s = error.empty() ? "" : "error=[" + error + "] ";
  s += "status=" + std::to_string(status);
  for (const auto& [k, v] : headers) s += " | " + k + ": " + v;
  std::string b = body.data.substr(0, 300);
  s += " | body(" + std::to_string(body.size) + ")=" + b;
  return s;
}

std::string http_request(std::string_view method, std::string_view target, const Headers& headers,
                         std::string_view body, std::string_view host) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  if (!find_header(headers, "Host")) out.append("Host: ").append(host).append("\r\n");
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (!body.empty() && !find_header(headers, "Content-Length") && !find_header(headers, "Transfer-Encoding"))
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out.append(body);
  return out;
}

std::string chunked(std::string_view body, std::size_t chunk, const Headers& trailers) {
  std::string out;
  char hex[32];
  for (std::size_t off = 0; off < body.size(); off += chunk) {
    std::size_t n = std::min(chunk, body.size() - off);
    std::snprintf(hex, sizeof hex, "%zx\r\n", n);
    out += hex;
    out.append(body.substr(off, n));
    out += "\r\n";
  }
  out += "0\r\n";
  for (const auto& [k, v] : trailers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  return out;
}

Client::Client(std::uint16_t port, Millis timeout) {
  int err = 0;
  sock_ = connect_tcp(port, timeout, &err);
  if (!sock_.valid())
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed: " +
                             std::strerror(err));
}

std::optional<Client> Client::try_connect(std::uint16_t port, Millis timeout, int* err) {
  Socket s = connect_tcp(port, timeout, err);
  if (!s.valid()) return std::nullopt;
  return Client(std::move(s));
}

bool Client::send(std::string_view data, Millis timeout, IoStatus* status) {
  IoStatus s = sock_.write_all(data, timeout);
  if (status) *status = s;
  return s == IoStatus::kOk;
}

bool Client::send_in_pieces(std::string_view data, std::size_t piece, Millis timeout) {
  for (std::size_t off = 0; off < data.size(); off += piece)
    if (!send(data.substr(off, std::min(piece, data.size() - off)), timeout)) return false;
  return true;
}

Response Client::read_response(const ReadOptions& options) {
  Response r;
  for (;;) {
    std::size_t end = 0;
    IoStatus s = sock_.fill_until("\r\n\r\n", 1 << 20, options.timeout, &end);
    if (s != IoStatus::kOk) {
      r.error = "reading response head: " + std::string(to_string(s));
      if (!sock_.buffer().empty()) r.error += " (partial: " + sock_.buffer().substr(0, 200) + ")";
      return r;
    }
    ParsedHead head;
    r.raw_head = sock_.buffer().substr(0, end);
    bool parsed = parse_head(r.raw_head, &head);
    sock_.consume(end);
    if (!parsed || head.first.rfind("HTTP/", 0) != 0) {
      r.error = "malformed response head: " + r.raw_head.substr(0, 200);
      return r;
    }
    r.version = head.first;
    r.status = std::atoi(head.second.c_str());
    r.reason = head.third;
    r.headers = std::move(head.headers);
    if (r.status >= 100 && r.status < 200 && r.status != 101) {
      if (options.stop_at_informational) return r;
      r.informational.push_back(r.status);
      continue;
    }
    break;
  }
  Framing framing = Framing::kUntilClose;
  std::uint64_t length = 0;
  if (options.head_request || r.status == 204 || r.status == 304 || r.status == 101) {
    framing = Framing::kNone;
  } else if (header_has_token(r.headers, "Transfer-Encoding", "chunked")) {
    framing = Framing::kChunked;
  } else if (auto cl = r.header("Content-Length")) {
    framing = Framing::kContentLength;
    char* endp = nullptr;
    length = std::strtoull(cl->c_str(), &endp, 10);
    if (cl->empty() || *endp != '\0') {
      r.error = "bad Content-Length in response: " + *cl;
      return r;
    }
  }
  IoStatus s = read_body(sock_, framing, length, &r.body, options.store_limit, options.timeout);
  if (s != IoStatus::kOk)
    r.error = "reading response body (" + std::to_string(r.body.size) + " bytes so far): " +
              std::string(to_string(s));
  return r;
}

Response Client::request(std::string_view raw, const ReadOptions& options) {
  IoStatus st;
  if (!send(raw, options.timeout, &st)) {
    // The server may have answered and closed before taking everything: still read.
    Response r = read_response(options);
    if (!r.ok()) r.error = "send failed (" + std::string(to_string(st)) + "); then " + r.error;
    return r;
  }
  return read_response(options);
}

bool Client::wait_closed(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    IoStatus s = sock_.fill(left);
    if (s == IoStatus::kClosed || s == IoStatus::kReset || s == IoStatus::kError) return true;
    if (s == IoStatus::kTimeout) return false;
  }
}

bool Client::idle_and_open() {
  std::size_t before = sock_.buffer().size();
  IoStatus s = sock_.fill(Millis{0});
  return s == IoStatus::kTimeout && sock_.buffer().size() == before;
}

std::string Client::read_until_close(Millis timeout, bool* closed) {
  bool c = wait_closed(timeout);
  if (closed) *closed = c;
  std::string out = std::move(sock_.buffer());
  sock_.buffer().clear();
  return out;
}

Response fetch(std::uint16_t port, std::string_view raw, const ReadOptions& options) {
  int err = 0;
  auto c = Client::try_connect(port, options.timeout, &err);
  if (!c) {
    Response r;
    r.error = "connect to 127.0.0.1:" + std::to_string(port) + " failed: " + std::strerror(err);
    return r;
  }
  return c->request(raw, options);
}

bool connection_refused(std::uint16_t port) {
  int err = 0;
  Socket s = connect_tcp(port, Millis{1000}, &err);
  return !s.valid() && err == ECONNREFUSED;
}

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int status_over_ipv6(std::uint16_t port, std::string_view path) {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(port);
  addr.sin6_addr = in6addr_loopback;
  int status = -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[512];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      std::string_view head(buf, n > 0 ? static_cast<size_t>(n) : 0);
      if (head.size() > 12 && head.starts_with("HTTP/1.1 ")) status = std::atoi(std::string(head.substr(9, 3)).c_str());
    }
  }
  ::close(fd);
  return status;
}

}  // namespace portico::integration
