#include "harness/upstream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace portico::integration {
namespace {

constexpr Millis kForever{-1};

std::string hex(std::uint64_t n) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, n, 16);
  return std::string(buf, r.ptr);
}

}  // namespace

UpstreamHandler answer_with(std::string body, Millis delay) {
  return [body = std::move(body), delay](const RecordedRequest&) {
    UpstreamResponse r;
    r.body = body;
    r.delay = delay;
    return r;
  };
}

Upstream::Upstream() : Upstream("127.0.0.1", 0) {}

Upstream::Upstream(const std::string& ipv4, std::uint16_t port)
    : handler_(std::make_shared<const UpstreamHandler>([](const RecordedRequest&) {
        UpstreamResponse r;
        r.body = "ok";
        return r;
      })) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("upstream: socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, ipv4.c_str(), &addr.sin_addr) != 1) {
    ::close(listen_fd_);
    throw std::runtime_error("upstream: not an IPv4 address: " + ipv4);
  }
  addr.sin_port = htons(port);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 512) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("upstream: bind/listen failed: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("upstream: pipe2 failed");
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

Upstream::~Upstream() { stop(); }

void Upstream::stop() {
  if (stopping_.exchange(true)) {
    // Already stopped (or stopping on another thread, which the tests never do).
    return;
  }
  char c = 'x';
  [[maybe_unused]] ssize_t w = ::write(wake_[1], &c, 1);
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& [id, fd] : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  stop_cv_.notify_all();
  for (auto& conn : conns_)
    if (conn.thread.joinable()) conn.thread.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void Upstream::set_handler(UpstreamHandler handler) {
  auto h = std::make_shared<const UpstreamHandler>(std::move(handler));
  std::lock_guard lock(mu_);
  handler_ = std::move(h);
}

std::vector<RecordedRequest> Upstream::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::size_t Upstream::request_count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

bool Upstream::wait_for_requests(std::size_t n, Millis timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (request_count() < n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis{2});
  }
  return true;
}

bool Upstream::wait_for_connections_closed(std::uint64_t n, Millis timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (closed_ < n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis{2});
  }
  return true;
}

void Upstream::record(RecordedRequest req) {
  std::lock_guard lock(mu_);
  requests_.push_back(std::move(req));
}

bool Upstream::wait_or_stop(Millis delay) {
  std::unique_lock lock(mu_);
  return !stop_cv_.wait_for(lock, delay, [this] { return stopping_.load(); });
}

void Upstream::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (stopping_ || (fds[1].revents & POLLIN)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::uint64_t id = ++accepted_;
    std::lock_guard lock(mu_);
    // Reap connection threads that have finished.
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->done) {
        it->thread.join();
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
    open_fds_[id] = fd;
    Conn& conn = conns_.emplace_back();
    conn.thread = std::thread([this, fd, id, c = &conn] { serve(fd, id, c); });
  }
}

void Upstream::serve(int fd, std::uint64_t id, Conn* conn) {
  Socket sock(fd);
  sock.set_counter(&bytes_received_);
  bool reset = false;
  std::size_t index = 0;
  for (;;) {
    std::size_t end = 0;
    IoStatus s = sock.fill_until("\r\n\r\n", 1 << 20, kForever, &end);
    if (s != IoStatus::kOk) {
      if (!sock.buffer().empty()) {
        RecordedRequest partial;
        partial.connection_id = id;
        partial.index_on_connection = index;
        partial.raw_head = sock.buffer();
        record(std::move(partial));
      }
      break;
    }
    RecordedRequest req;
    req.connection_id = id;
    req.index_on_connection = index++;
    ParsedHead head;
    bool parsed = parse_head(std::string_view(sock.buffer()).substr(0, end), &head);
    req.raw_head = sock.buffer().substr(0, end);
    sock.consume(end);
    if (!parsed) {
      record(std::move(req));
      sock.write_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                     Millis{1000});
      break;
    }
    req.method = head.first;
    req.target = head.second;
    req.version = head.third;
    req.headers = std::move(head.headers);

    Framing framing = Framing::kNone;
    std::uint64_t length = 0;
    if (header_has_token(req.headers, "Transfer-Encoding", "chunked")) {
      framing = Framing::kChunked;
    } else if (auto cl = req.header("Content-Length")) {
      framing = Framing::kContentLength;
      length = std::strtoull(cl->c_str(), nullptr, 10);
    }
    if (send_100_ && framing != Framing::kNone && header_has_token(req.headers, "Expect", "100-continue"))
      sock.write_all("HTTP/1.1 100 Continue\r\n\r\n", Millis{5000});
    s = read_body(sock, framing, length, &req.body, store_limit_, kForever);
    req.complete = s == IoStatus::kOk;
    bool keep_alive = !header_has_token(req.headers, "Connection", "close") &&
                      (req.version != "HTTP/1.0" ||
                       header_has_token(req.headers, "Connection", "keep-alive"));
    bool head_method = req.method == "HEAD";
    std::shared_ptr<const UpstreamHandler> handler;
    {
      std::lock_guard lock(mu_);
      handler = handler_;
      requests_.push_back(req);
    }
    if (!req.complete) break;

    UpstreamResponse resp = (*handler)(req);
    if (resp.delay.count() > 0 && !wait_or_stop(resp.delay)) break;
    if (resp.reset_without_answer) {
      reset = true;
      break;
    }
    if (resp.close_without_answer) break;
    if (!resp.raw.empty()) {
      if (sock.write_all(resp.raw, kForever) != IoStatus::kOk || resp.close_after) break;
      continue;
    }

    std::uint64_t body_size = resp.generated_body_size > 0 ? resp.generated_body_size : resp.body.size();
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " +
                      (resp.reason.empty() ? std::string(reason_phrase(resp.status)) : resp.reason) +
                      "\r\n";
    for (const auto& [k, v] : resp.headers) out += k + ": " + v + "\r\n";
    if (resp.framing == Framing::kContentLength && !find_header(resp.headers, "Content-Length"))
      out += "Content-Length: " + std::to_string(body_size) + "\r\n";
    if (resp.framing == Framing::kChunked) out += "Transfer-Encoding: chunked\r\n";
    bool close_after = resp.close_after || resp.framing == Framing::kUntilClose || !keep_alive;
    if (close_after && (resp.announce_close || !keep_alive) && !find_header(resp.headers, "Connection"))
      out += "Connection: close\r\n";
    out += "\r\n";

    // Everything after the head goes through `emit` so reset_after_body_bytes can cut it.
    std::uint64_t sent_body = 0;
    bool ok = sock.write_all(out, kForever) == IoStatus::kOk;
    bytes_sent_ += out.size();
    auto emit = [&](std::string_view bytes) {
      if (!ok) return false;
      if (resp.reset_after_body_bytes && sent_body + bytes.size() >= *resp.reset_after_body_bytes) {
        bytes = bytes.substr(0, *resp.reset_after_body_bytes - sent_body);
        sock.write_all(bytes, kForever);
        reset = true;
        return ok = false;
      }
      sent_body += bytes.size();
      ok = sock.write_all(bytes, kForever) == IoStatus::kOk;
      if (ok) bytes_sent_ += bytes.size();
      return ok;
    };
    bool has_body = !head_method && resp.framing != Framing::kNone;
    if (has_body) {
      std::size_t piece = resp.framing == Framing::kChunked ? std::max<std::size_t>(resp.chunk_size, 1)
                                                            : std::size_t{1} << 16;
      std::string buf;
      for (std::uint64_t off = 0; off < body_size && ok; off += piece) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(piece, body_size - off));
        std::string_view data;
        if (resp.generated_body_size > 0) {
          buf.resize(n);
          fill_pattern(off, buf.data(), n);
          data = buf;
        } else {
          data = std::string_view(resp.body).substr(static_cast<std::size_t>(off), n);
        }
        if (resp.framing == Framing::kChunked) {
          std::string framed = hex(n) + "\r\n";
          framed.append(data);
          framed += "\r\n";
          emit(framed);
        } else {
          emit(data);
        }
      }
      if (resp.framing == Framing::kChunked && ok) {
        std::string last = "0\r\n";
        for (const auto& [k, v] : resp.trailers) last += k + ": " + v + "\r\n";
        last += "\r\n";
        emit(last);
      }
    } else if (resp.reset_after_body_bytes) {
      reset = true;
    }
    if (!ok || close_after) break;
  }
  {
    std::lock_guard lock(mu_);
    open_fds_.erase(id);
  }
  if (reset)
    sock.reset();
  else
    sock.close();
  ++closed_;
  conn->done = true;
}

}  // namespace portico::integration
