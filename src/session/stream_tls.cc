// Stream's TLS paths (see stream.h and tls.h): ciphertext moves between the socket and the
// engine's BIO pair with the same non-blocking calls and reactor waits as plaintext.
#include <boost/asio/error.hpp>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "session/stream.h"

namespace portico::session {
namespace {

// Spans at least this long are encrypted in place; shorter ones (chunk framing, small heads)
// are gathered into one record first.
constexpr size_t kDirectWrite = 4096;
constexpr size_t kScratch = 16 * 1024;

}  // namespace

void Stream::start_tls(std::unique_ptr<TlsEngine> engine) {
  tls_ = std::move(engine);
  tls_scratch_ = std::make_unique<char[]>(kScratch);
  tls_failed_ = false;
}

IoStatus Stream::tls_error(std::string message) {
  if (!message.empty()) tls_->set_error(std::move(message));
  tls_failed_ = true;
  last_error_ = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
  return IoStatus::kError;
}

IoStatus Stream::tls_on_tcp_eof() {
  if (tls_->peer_closed()) return IoStatus::kEof;
  if (!tls_->handshake_done()) return tls_error("connection closed during the TLS handshake");
  return tls_error("TLS connection closed without close_notify (truncated)");
}

IoStatus Stream::tls_flush() {
  while (tls_->has_cipher_out()) {
    const char* at = nullptr;
    size_t n = tls_->cipher_out_pending(&at);
    if (n == 0) break;
    ssize_t sent = ::send(socket_.native_handle(), at, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent > 0) {
      tls_->cipher_out_consume(static_cast<size_t>(sent));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kWouldBlock;
    return fail_errno(errno);
  }
  return IoStatus::kOk;
}

runtime::Task<IoStatus> Stream::tls_flush_async(std::chrono::milliseconds timeout) {
  for (;;) {
    IoStatus f = tls_flush();
    if (f != IoStatus::kWouldBlock) co_return f;
    deadline_.extend(timeout);
    auto [ec] = co_await socket_.async_wait(boost::asio::socket_base::wait_write,
                                            boost::asio::as_tuple(boost::asio::use_awaitable));
    deadline_.cancel();
    if (ec) co_return classify(ec);
  }
}

IoStatus Stream::tls_decrypt(bool pinned) {
  if (IoStatus room = make_room(pinned); room != IoStatus::kOk) return room;
  for (int attempt = 0;; ++attempt) {
    size_t n = 0;
    TlsStatus s = tls_->read(in_.tail(), in_.tail_room(), n);
    if (tls_->has_cipher_out()) {
      // Alerts, key update answers: out with whatever the socket takes now.
      if (tls_flush() == IoStatus::kError) return IoStatus::kError;
    }
    switch (s) {
      case TlsStatus::kOk:
        in_.commit(n);
        return IoStatus::kOk;
      case TlsStatus::kWantRead:
        return IoStatus::kWouldBlock;
      case TlsStatus::kWantWrite:
        // The caller flushes (or waits for the socket), then reads again.
        if (tls_->has_cipher_out() || attempt > 0) return IoStatus::kWouldBlock;
        continue;
      case TlsStatus::kClosed:
        return IoStatus::kEof;
      case TlsStatus::kError:
        return tls_error({});
    }
  }
}

IoStatus Stream::tls_recv_now() {
  char* at = nullptr;
  size_t space = tls_->cipher_in_space(&at);
  if (space == 0) return tls_error("TLS receive buffer full");
  for (;;) {
    ssize_t n = ::recv(socket_.native_handle(), at, space, MSG_DONTWAIT);
    if (n > 0) {
      tls_->cipher_in_commit(static_cast<size_t>(n));
      return IoStatus::kOk;
    }
    if (n == 0) return tls_on_tcp_eof();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kWouldBlock;
    return fail_errno(errno);
  }
}

runtime::Task<IoStatus> Stream::tls_recv_async(std::chrono::milliseconds timeout) {
  if (!socket_.is_open()) co_return fail_errno(EBADF);
  char* at = nullptr;
  size_t space = tls_->cipher_in_space(&at);
  if (space == 0) co_return tls_error("TLS receive buffer full");
  deadline_.extend(timeout);
  auto [ec, n] = co_await async_recv_drained(socket_, reactor_, at, space,
                                             boost::asio::as_tuple(boost::asio::use_awaitable));
  deadline_.cancel();
  if (ec == boost::asio::error::eof && !deadline_.expired()) co_return tls_on_tcp_eof();
  if (ec) co_return classify(ec);
  tls_->cipher_in_commit(n);
  co_return IoStatus::kOk;
}

IoStatus Stream::tls_read_now(bool pinned) {
  for (;;) {
    IoStatus s = tls_decrypt(pinned);
    if (s != IoStatus::kWouldBlock) return s;
    if (tls_->has_cipher_out()) return IoStatus::kWouldBlock;
    IoStatus r = tls_recv_now();
    if (r != IoStatus::kOk) return r;
  }
}

runtime::Task<IoStatus> Stream::tls_read_async(std::chrono::milliseconds timeout, bool pinned) {
  // Plaintext may be waiting inside the engine already: decrypt before any wait.
  for (;;) {
    IoStatus s = tls_decrypt(pinned);
    if (s != IoStatus::kWouldBlock) co_return s;
    if (tls_->has_cipher_out()) {
      IoStatus f = co_await tls_flush_async(timeout);
      if (f != IoStatus::kOk) co_return f;
      continue;
    }
    IoStatus r = co_await tls_recv_async(timeout);
    if (r != IoStatus::kOk) co_return r;
  }
}

IoStatus Stream::tls_write_from(Buffers buffers, size_t& written) {
  IoStatus f = tls_flush();
  if (f != IoStatus::kOk) return f;
  size_t total = 0;
  for (const auto& b : buffers) total += b.size();
  while (written < total) {
    // The bytes from `written` on: one long span as it is, or short ones gathered. The choice
    // depends only on (buffers, written), so a retry after WANT_WRITE presents the same bytes.
    size_t skip = written;
    size_t i = 0;
    while (skip >= buffers[i].size()) skip -= buffers[i++].size();
    const char* src = static_cast<const char*>(buffers[i].data()) + skip;
    size_t len = buffers[i].size() - skip;
    if (len < kDirectWrite) {
      char* scratch = tls_scratch_.get();
      size_t filled = 0;
      for (size_t j = i; j < buffers.size() && filled < kScratch; ++j) {
        const char* from = static_cast<const char*>(buffers[j].data()) + (j == i ? skip : 0);
        size_t take = std::min(buffers[j].size() - (j == i ? skip : 0), kScratch - filled);
        std::memcpy(scratch + filled, from, take);
        filled += take;
      }
      src = scratch;
      len = filled;
    }
    size_t n = 0;
    TlsStatus s = tls_->write(src, len, n);
    if (s == TlsStatus::kOk) {
      written += n;
    } else if (s == TlsStatus::kWantRead) {
      // The engine needs the peer's bytes before it can write more (not expected with TLS 1.2
      // renegotiation disabled, but legal): take what is there, else wait for it.
      f = tls_flush();
      if (f == IoStatus::kError) return f;
      IoStatus r = tls_recv_now();
      if (r == IoStatus::kWouldBlock) tls_write_wants_read_ = true;
      if (r != IoStatus::kOk) return r == IoStatus::kEof ? tls_on_tcp_eof() : r;
      continue;
    } else if (s != TlsStatus::kWantWrite) {
      return tls_error({});
    }
    f = tls_flush();
    if (f != IoStatus::kOk) return f;
  }
  return IoStatus::kOk;
}

runtime::Task<IoStatus> Stream::tls_write_rest(Buffers buffers, size_t written, std::chrono::milliseconds timeout) {
  for (;;) {
    tls_write_wants_read_ = false;
    IoStatus s = tls_write_from(buffers, written);
    if (s != IoStatus::kWouldBlock) co_return s;
    deadline_.extend(timeout);
    auto [ec] = co_await socket_.async_wait(
        tls_write_wants_read_ ? boost::asio::socket_base::wait_read : boost::asio::socket_base::wait_write,
        boost::asio::as_tuple(boost::asio::use_awaitable));
    deadline_.cancel();
    if (ec) co_return classify(ec);
  }
}

runtime::Task<IoStatus> Stream::handshake(std::chrono::milliseconds timeout) {
  if (!tls_) co_return IoStatus::kOk;
  const auto end = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    return std::max(std::chrono::milliseconds(1), ms);
  };
  for (;;) {
    TlsStatus s = tls_->handshake();
    IoStatus f = co_await tls_flush_async(left());
    if (f != IoStatus::kOk) co_return f;
    if (std::chrono::steady_clock::now() >= end && s != TlsStatus::kOk) co_return IoStatus::kTimeout;
    switch (s) {
      case TlsStatus::kOk:
        co_return IoStatus::kOk;
      case TlsStatus::kWantWrite:
        continue;
      case TlsStatus::kWantRead: {
        IoStatus r = co_await tls_recv_async(left());
        if (r == IoStatus::kEof) co_return tls_error("connection closed during the TLS handshake");
        if (r != IoStatus::kOk) co_return r;
        continue;
      }
      case TlsStatus::kClosed:
        co_return tls_error("connection closed during the TLS handshake");
      case TlsStatus::kError:
        co_return tls_error({});
    }
  }
}

bool Stream::tls_idle_usable() {
  if (!tls_ || !socket_.is_open() || !in_.empty()) return false;
  for (;;) {
    char byte;
    size_t n = 0;
    TlsStatus s = tls_->read(&byte, 1, n);
    if (s == TlsStatus::kOk || s == TlsStatus::kClosed || s == TlsStatus::kError) return false;
    if (tls_->has_cipher_out() && tls_flush() == IoStatus::kError) return false;
    if (s == TlsStatus::kWantWrite) return !tls_->has_cipher_out();
    IoStatus r = tls_recv_now();
    if (r == IoStatus::kWouldBlock) return true;
    if (r != IoStatus::kOk) return false;
  }
}

}  // namespace portico::session
