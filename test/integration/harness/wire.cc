#include "harness/wire.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace portico::integration {
namespace {

int poll_one(int fd, short events, Millis timeout) {
  pollfd p{fd, events, 0};
  int ms = timeout.count() < 0 ? -1 : static_cast<int>(timeout.count());
  for (;;) {
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    return r;  // 0 = timeout, 1 = ready (or error flagged in revents)
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

std::vector<std::string> find_headers(const Headers& headers, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) out.push_back(v);
  return out;
}

bool header_has_token(const Headers& headers, std::string_view name, std::string_view token) {
  for (const auto& value : find_headers(headers, name)) {
    std::string_view rest = value;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      if (iequals(item, token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

void fill_pattern(std::uint64_t offset, char* out, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    std::uint64_t pos = offset + i;
    std::uint64_t word = splitmix(pos >> 3);
    for (unsigned b = static_cast<unsigned>(pos & 7); b < 8 && i < n; ++b, ++i)
      out[i] = static_cast<char>((word >> (8 * b)) & 0xff);
  }
}

std::string pattern(std::uint64_t offset, std::size_t n) {
  std::string s(n, '\0');
  fill_pattern(offset, s.data(), n);
  return s;
}

void Fnv64::update(std::string_view data) {
  std::uint64_t h = h_;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h_ = h;
}

std::uint64_t fnv64(std::string_view data) {
  Fnv64 f;
  f.update(data);
  return f.value();
}

std::uint64_t pattern_hash(std::uint64_t size) {
  Fnv64 f;
  std::string piece(1 << 16, '\0');
  for (std::uint64_t off = 0; off < size; off += piece.size()) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), size - off));
    fill_pattern(off, piece.data(), n);
    f.update(std::string_view(piece.data(), n));
  }
  return f.value();
}

std::string_view to_string(IoStatus s) {
  switch (s) {
    case IoStatus::kOk: return "ok";
    case IoStatus::kTimeout: return "timeout";
    case IoStatus::kClosed: return "connection closed by peer";
    case IoStatus::kReset: return "connection reset by peer";
    case IoStatus::kError: return "socket error";
    case IoStatus::kMalformed: return "malformed message";
    case IoStatus::kTooLarge: return "message too large";
  }
  return "?";
}

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      counter_(other.counter_),
      buf_(std::move(other.buf_)),
      bytes_read_(other.bytes_read_) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    counter_ = other.counter_;
    buf_ = std::move(other.buf_);
    bytes_read_ = other.bytes_read_;
  }
  return *this;
}

Socket::~Socket() { close(); }

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Socket::reset() {
  if (fd_ < 0) return;
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close();
}

void Socket::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void Socket::shutdown_both() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

IoStatus Socket::write_all(std::string_view data, Millis timeout) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int r = poll_one(fd_, POLLOUT, timeout);
      if (r == 0) return IoStatus::kTimeout;
      if (r < 0) return IoStatus::kError;
      continue;
    }
    if (errno == ECONNRESET) return IoStatus::kReset;
    if (errno == EPIPE) return IoStatus::kClosed;
    return IoStatus::kError;
  }
  return IoStatus::kOk;
}

IoStatus Socket::fill(Millis timeout) {
  char tmp[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n > 0) {
      buf_.append(tmp, static_cast<std::size_t>(n));
      bytes_read_ += static_cast<std::uint64_t>(n);
      if (counter_) *counter_ += static_cast<std::uint64_t>(n);
      return IoStatus::kOk;
    }
    if (n == 0) return IoStatus::kClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int r = poll_one(fd_, POLLIN, timeout);
      if (r == 0) return IoStatus::kTimeout;
      if (r < 0) return IoStatus::kError;
      continue;
    }
    if (errno == ECONNRESET) return IoStatus::kReset;
    return IoStatus::kError;
  }
}

IoStatus Socket::fill_until(std::string_view delim, std::size_t max, Millis timeout,
                            std::size_t* end) {
  std::size_t searched = 0;
  for (;;) {
    std::size_t from = searched >= delim.size() ? searched - delim.size() + 1 : 0;
    std::size_t pos = buf_.find(delim, from);
    if (pos != std::string::npos) {
      if (pos + delim.size() > max) return IoStatus::kTooLarge;
      *end = pos + delim.size();
      return IoStatus::kOk;
    }
    if (buf_.size() > max) return IoStatus::kTooLarge;
    searched = buf_.size();
    IoStatus s = fill(timeout);
    if (s != IoStatus::kOk) return s;
  }
}

IoStatus Socket::fill_at_least(std::size_t n, Millis timeout) {
  while (buf_.size() < n) {
    IoStatus s = fill(timeout);
    if (s != IoStatus::kOk) return s;
  }
  return IoStatus::kOk;
}

Socket connect_tcp(std::uint16_t port, Millis timeout, int* err) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    if (err) *err = errno;
    return Socket{};
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (r < 0 && errno == EINPROGRESS) {
    if (poll_one(fd, POLLOUT, timeout) <= 0) {
      ::close(fd);
      if (err) *err = ETIMEDOUT;
      return Socket{};
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      ::close(fd);
      if (err) *err = so_error;
      return Socket{};
    }
  } else if (r < 0) {
    if (err) *err = errno;
    ::close(fd);
    return Socket{};
  }
  // Back to blocking; every wait goes through poll() with a timeout anyway.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (err) *err = 0;
  return Socket{fd};
}

bool parse_head(std::string_view raw, ParsedHead* out) {
  out->raw = std::string(raw);
  out->headers.clear();
  std::size_t eol = raw.find("\r\n");
  if (eol == std::string_view::npos) return false;
  std::string_view line = raw.substr(0, eol);
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  std::size_t sp2 = line.find(' ', sp1 + 1);
  out->first = std::string(line.substr(0, sp1));
  if (sp2 == std::string_view::npos) {
    out->second = std::string(line.substr(sp1 + 1));
    out->third.clear();
  } else {
    out->second = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    out->third = std::string(line.substr(sp2 + 1));
  }
  std::string_view rest = raw.substr(eol + 2);
  while (!rest.empty()) {
    std::size_t e = rest.find("\r\n");
    if (e == std::string_view::npos) return false;
    std::string_view field = rest.substr(0, e);
    rest.remove_prefix(e + 2);
    if (field.empty()) break;
    std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    out->headers.emplace_back(std::string(field.substr(0, colon)),
                              std::string(trim(field.substr(colon + 1))));
  }
  return true;
}

namespace {

void take(Body* body, std::string_view data, std::size_t store_limit) {
  Fnv64 f(body->hash);
  f.update(data);
  body->hash = f.value();
  body->size += data.size();
  if (body->data.size() < store_limit)
    body->data.append(data.substr(0, std::min(data.size(), store_limit - body->data.size())));
}

IoStatus read_exact(Socket& sock, std::uint64_t n, Body* body, std::size_t store_limit,
                    Millis timeout) {
  while (n > 0) {
    if (sock.buffer().empty()) {
      IoStatus s = sock.fill(timeout);
      if (s != IoStatus::kOk) return s;
    }
    std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, sock.buffer().size()));
    take(body, std::string_view(sock.buffer()).substr(0, k), store_limit);
    sock.consume(k);
    n -= k;
  }
  return IoStatus::kOk;
}

}  // namespace

IoStatus read_body(Socket& sock, Framing framing, std::uint64_t length, Body* body,
                   std::size_t store_limit, Millis timeout) {
  body->chunked = framing == Framing::kChunked;
  switch (framing) {
    case Framing::kNone:
      body->complete = true;
      return IoStatus::kOk;
    case Framing::kContentLength: {
      IoStatus s = read_exact(sock, length, body, store_limit, timeout);
      body->complete = s == IoStatus::kOk;
      return s;
    }
    case Framing::kUntilClose: {
      for (;;) {
        if (!sock.buffer().empty()) {
          take(body, sock.buffer(), store_limit);
          sock.consume(sock.buffer().size());
        }
        IoStatus s = sock.fill(timeout);
        if (s == IoStatus::kClosed) {
          body->complete = true;
          return IoStatus::kOk;
        }
        if (s != IoStatus::kOk) return s;
      }
    }
    case Framing::kChunked: {
      for (;;) {
        std::size_t end = 0;
        IoStatus s = sock.fill_until("\r\n", 4096, timeout, &end);
        if (s != IoStatus::kOk) return s == IoStatus::kTooLarge ? IoStatus::kMalformed : s;
        std::string line = sock.buffer().substr(0, end - 2);
        sock.consume(end);
        std::size_t semi = line.find(';');
        std::string hex = std::string(trim(line.substr(0, semi)));
        if (hex.empty() || hex.size() > 15) return IoStatus::kMalformed;
        std::uint64_t size = 0;
        for (char c : hex) {
          int d = (c >= '0' && c <= '9')   ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
          if (d < 0) return IoStatus::kMalformed;
          size = size * 16 + static_cast<std::uint64_t>(d);
        }
        if (size == 0) {
          // Trailer section up to an empty line.
          for (;;) {
            s = sock.fill_until("\r\n", 65536, timeout, &end);
            if (s != IoStatus::kOk) return s == IoStatus::kTooLarge ? IoStatus::kMalformed : s;
            std::string field = sock.buffer().substr(0, end - 2);
            sock.consume(end);
            if (field.empty()) {
              body->complete = true;
              return IoStatus::kOk;
            }
            std::size_t colon = field.find(':');
            if (colon == std::string::npos) return IoStatus::kMalformed;
            body->trailers.emplace_back(field.substr(0, colon),
                                        std::string(trim(std::string_view(field).substr(colon + 1))));
          }
        }
        body->chunk_sizes.push_back(size);
        s = read_exact(sock, size, body, store_limit, timeout);
        if (s != IoStatus::kOk) return s;
        s = sock.fill_at_least(2, timeout);
        if (s != IoStatus::kOk) return s;
        if (sock.buffer().compare(0, 2, "\r\n") != 0) return IoStatus::kMalformed;
        sock.consume(2);
      }
    }
  }
  return IoStatus::kError;
}

}  // namespace portico::integration
