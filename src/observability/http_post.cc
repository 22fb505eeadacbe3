#include "observability/http_post.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>

#include "codec/http1/body_decoder.h"
#include "codec/http1/response_parser.h"
#include "core/ascii.h"

namespace portico::observability {
namespace {

using Clock = std::chrono::steady_clock;

using core::iequals;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Reads more bytes into `buf`: >0 bytes read, 0 at EOF, -1 on error or timeout.
ssize_t read_some(int fd, std::string& buf, Clock::time_point deadline) {
  char chunk[16384];
  while (true) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf.append(chunk, static_cast<size_t>(n));
      return n;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (!wait_fd(fd, POLLIN, deadline)) return -1;
  }
}

}  // namespace

bool parse_http_url(std::string_view url, HttpUrl& out, std::string& reason) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() >= 8 && iequals(url.substr(0, 8), "https://")) {
    reason = "https endpoints are not supported yet (use http://)";
    return false;
  }
  if (url.size() < kScheme.size() || !iequals(url.substr(0, kScheme.size()), kScheme)) {
    reason = "expected an http:// URL";
    return false;
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  if (size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (target.empty() || target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  if (authority.find('@') != std::string_view::npos) {
    reason = "user information in the URL is not supported";
    return false;
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      reason = "unterminated IPv6 address";
      return false;
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        reason = "bad authority";
        return false;
      }
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    reason = "missing host";
    return false;
  }
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '\\' || c == 0x7f) {
      reason = "bad character in host";
      return false;
    }
  }
  out.port = 80;
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      reason = "bad port";
      return false;
    }
    out.port = static_cast<uint16_t>(value);
  }
  out.host = std::string(host);
  out.host_header = std::string(authority);
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      reason = "bad character in path";
      return false;
    }
  }
  return true;
}

void HttpPoster::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool HttpPoster::connect(const HttpUrl& url, std::chrono::milliseconds timeout, std::string& error) {
  auto deadline = Clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::string port = std::to_string(url.port);
  // Blocking resolution is fine here: this is the exporter's own thread.
  int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    error = std::string("cannot resolve ") + url.host + ": " + gai_strerror(rc);
    return false;
  }
  error = "connect failed";
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      if (wait_fd(fd, POLLOUT, deadline)) {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        r = so_error == 0 ? 0 : -1;
        if (so_error) error = std::string("connect: ") + std::strerror(so_error);
      } else {
        error = "connect timed out";
      }
    } else if (r != 0) {
      error = std::string("connect: ") + std::strerror(errno);
    }
    if (r == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
      ::freeaddrinfo(list);
      return true;
    }
    ::close(fd);
    if (Clock::now() >= deadline) break;
  }
  ::freeaddrinfo(list);
  return false;
}

bool HttpPoster::post(const HttpUrl& url, std::string_view content_type,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      std::string_view body, const HttpTimeouts& timeouts, int& status,
                      std::string& error) {
  // The head is rebuilt in a buffer kept across posts; the body is sent from the caller's buffer
  // (gathered with the head in one sendmsg), never copied.
  std::string& request = head_;
  request.clear();
  request += "POST ";
  request += url.target;
  request += " HTTP/1.1\r\nHost: ";
  request += url.host_header;
  request += "\r\nContent-Type: ";
  request += content_type;
  request += "\r\nContent-Length: ";
  char digits[20];
  auto [digits_end, ec] = std::to_chars(digits, digits + sizeof digits, body.size());
  request.append(digits, digits_end);
  request += "\r\nUser-Agent: portico\r\n";
  for (const auto& [name, value] : headers) {
    request += name;
    request += ": ";
    request += value;
    request += "\r\n";
  }
  request += "\r\n";

  bool reused = fd_ >= 0;
  if (!reused && !connect(url, timeouts.connect, error)) return false;
  Outcome outcome = attempt(url, request, body, timeouts, reused, status, error);
  if (outcome == Outcome::kStale) {
    // The kept-alive connection had been closed by the collector: one fresh connection.
    close();
    if (!connect(url, timeouts.connect, error)) return false;
    outcome = attempt(url, request, body, timeouts, false, status, error);
  }
  if (outcome != Outcome::kOk) {
    close();
    return false;
  }
  return true;
}

HttpPoster::Outcome HttpPoster::attempt(const HttpUrl& url, std::string_view request_head, std::string_view body,
                                        const HttpTimeouts& timeouts, bool reused, int& status,
                                        std::string& error) {
  auto send_deadline = Clock::now() + timeouts.send;
  size_t sent = 0;
  const size_t total = request_head.size() + body.size();
  while (sent < total) {
    iovec iov[2];
    int count = 0;
    if (sent < request_head.size()) {
      iov[count++] = {const_cast<char*>(request_head.data() + sent), request_head.size() - sent};
      iov[count++] = {const_cast<char*>(body.data()), body.size()};
    } else {
      iov[count++] = {const_cast<char*>(body.data() + (sent - request_head.size())), total - sent};
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_fd(fd_, POLLOUT, send_deadline)) {
        error = "send timed out";
        return Outcome::kFailed;
      }
      continue;
    }
    error = std::string("send: ") + std::strerror(errno);
    return reused && sent == 0 ? Outcome::kStale : Outcome::kFailed;
  }

  auto read_deadline = Clock::now() + timeouts.read;
  std::string buf;
  codec::http1::ResponseParser parser;
  codec::http1::ResponseHead head;
  while (true) {
    auto parsed = parser.parse(buf, head, /*request_was_head=*/false);
    if (parsed == codec::http1::ParseStatus::kError) {
      error = "malformed response";
      return Outcome::kFailed;
    }
    if (parsed == codec::http1::ParseStatus::kNeedMore) {
      ssize_t n = read_some(fd_, buf, read_deadline);
      if (n <= 0) {
        error = n == 0 ? "connection closed before a response" : "read timed out or failed";
        return reused && n == 0 && buf.empty() ? Outcome::kStale : Outcome::kFailed;
      }
      continue;
    }
    buf.erase(0, parser.head_size());
    parser.reset();
    if (head.status >= 200) break;  // interim 1xx response: skip it
  }
  status = head.status;
  bool close_after = !head.keep_alive;

  // The body, whatever its framing, is read and discarded.
  codec::http1::BodyDecoder decoder;
  decoder.start(head.framing, head.content_length);
  while (!decoder.done()) {
    auto step = decoder.decode(buf);
    if (step.error != codec::http1::ParseError::kNone) {
      error = "malformed response body";
      return Outcome::kFailed;
    }
    if (step.consumed > 0 || !step.data.empty()) {
      buf.erase(0, step.consumed);
      continue;
    }
    if (step.done) break;
    ssize_t n = read_some(fd_, buf, read_deadline);
    if (n == 0) {
      if (!decoder.finish_eof()) {
        error = "body cut short";
        return Outcome::kFailed;
      }
      close_after = true;
    } else if (n < 0) {
      error = "read timed out or failed";
      return Outcome::kFailed;
    }
  }
  if (close_after) close();
  return Outcome::kOk;
}

}  // namespace portico::observability
