#include "harness/upstream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

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

namespace {

UpstreamHandler default_handler() {
  return [](const RecordedRequest&) {
    UpstreamResponse r;
    r.body = "ok";
    return r;
  };
}

// Loads PEM text into the context: the certificate chain and key, or the client CAs.
void load_server_pems(SSL_CTX* ctx, const UpstreamTls& tls) {
  BIO* bio = BIO_new_mem_buf(tls.cert_pem.data(), static_cast<int>(tls.cert_pem.size()));
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  bool ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) SSL_CTX_add0_chain_cert(ctx, extra);
  BIO_free(bio);
  bio = BIO_new_mem_buf(tls.key_pem.data(), static_cast<int>(tls.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ok = ok && key && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!ok) throw std::runtime_error("upstream: TLS certificate or key does not load");
  if (!tls.client_ca_pem.empty()) {
    bio = BIO_new_mem_buf(tls.client_ca_pem.data(), static_cast<int>(tls.client_ca_pem.size()));
    while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
      X509_free(ca);
    }
    BIO_free(bio);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (tls.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       nullptr);
  }
  ERR_clear_error();
}

// Writes all of `data` to the TLS connection on a non-blocking socket.
bool ssl_write_all(SSL* ssl, int fd, const char* data, size_t len) {
  size_t off = 0;
  while (off < len) {
    int r = SSL_write(ssl, data + off, static_cast<int>(len - off));
    if (r > 0) {
      off += static_cast<size_t>(r);
      continue;
    }
    int err = SSL_get_error(ssl, r);
    if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) return false;
    pollfd p{fd, static_cast<short>(err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
  }
  return true;
}

bool plain_write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Moves bytes between the TLS connection (tcp_fd, non-blocking) and the plaintext socket until
// the plaintext side closes; a TLS close or error ends the plaintext side's input.
void relay(SSL* ssl, int tcp_fd, int plain_fd) {
  char buf[16384];
  bool tls_open = true;
  for (;;) {
    if (tls_open) {
      for (;;) {
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n > 0) {
          if (!plain_write_all(plain_fd, buf, static_cast<size_t>(n))) tls_open = false;
          if (tls_open) continue;
        } else if (SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ) {
          break;
        } else {
          tls_open = false;
        }
        ::shutdown(plain_fd, SHUT_WR);
        break;
      }
    }
    pollfd fds[2] = {{plain_fd, POLLIN, 0}, {tls_open ? tcp_fd : -1, POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(plain_fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        if (tls_open && !ssl_write_all(ssl, tcp_fd, buf, static_cast<size_t>(n))) tls_open = false;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      break;  // the request loop closed its end
    }
    if (fds[1].revents & (POLLHUP | POLLERR) && !(fds[1].revents & POLLIN)) {
      tls_open = false;
      ::shutdown(plain_fd, SHUT_WR);
    }
  }
  if (tls_open) SSL_shutdown(ssl);
}

}  // namespace

Upstream::Upstream(const std::string& ipv4, std::uint16_t port)
    : handler_(std::make_shared<const UpstreamHandler>(default_handler())) {
  start(ipv4, port);
}

Upstream::Upstream(const UpstreamTls& tls, std::uint16_t port)
    : handler_(std::make_shared<const UpstreamHandler>(default_handler())) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw std::runtime_error("upstream: SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  static constexpr unsigned char kContext[] = "harness";
  SSL_CTX_set_session_id_context(ctx, kContext, sizeof kContext - 1);
  try {
    load_server_pems(ctx, tls);
  } catch (...) {
    SSL_CTX_free(ctx);
    throw;
  }
  tls_ctx_ = ctx;
  start("127.0.0.1", port);
}

void Upstream::start(const std::string& ipv4, std::uint16_t port) {
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
  if (tls_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_ctx_));
  tls_ctx_ = nullptr;
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
    if (tls_ctx_) {
      conn.thread = std::thread([this, fd, id, c = &conn] { serve_tls(fd, id, c); });
    } else {
      conn.thread = std::thread([this, fd, id, c = &conn] { serve(fd, id, c); });
    }
  }
}

void Upstream::serve_tls(int fd, std::uint64_t id, Conn* conn) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(tls_ctx_));
  SSL_set_fd(ssl, fd);
  timeval tv{10, 0};  // a client that never finishes its handshake
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int sp[2] = {-1, -1};
  if (SSL_accept(ssl) != 1 || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
    ERR_clear_error();
    ++tls_failures_;
    {
      std::lock_guard lock(mu_);
      open_fds_.erase(id);
    }
    SSL_free(ssl);
    ::close(fd);
    ++closed_;
    conn->done = true;
    return;
  }
  TlsInfo info;
  if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) info.sni = name;
  if (X509* peer = SSL_get1_peer_certificate(ssl)) {
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
    info.client_subject = buf;
    X509_free(peer);
  }
  int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::thread relay_thread([ssl, fd, plain = sp[1]] { relay(ssl, fd, plain); });
  serve(sp[0], id, conn, &info);  // closes sp[0], which ends the relay
  relay_thread.join();
  SSL_free(ssl);
  ::close(sp[1]);
  ::close(fd);
}

void Upstream::serve(int fd, std::uint64_t id, Conn* conn, const TlsInfo* tls) {
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
    if (tls) {
      req.tls = true;
      req.tls_sni = tls->sni;
      req.tls_client_subject = tls->client_subject;
    }
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
