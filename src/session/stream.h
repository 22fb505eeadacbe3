// Stream: a TCP socket, its read buffer and the timeout that guards every operation on it.
//
// Contract: lives on one worker. Every read and write is raced against the stream's Deadline: when
// the deadline wins, the socket is cancelled and the operation reports IoStatus::kTimeout.
// `read_more` appends to `in()` (growing it up to `max_buffer`); `write` sends a whole buffer
// sequence (one writev when the kernel takes it all). Neither throws.
//
// TLS: a Stream may carry a TlsEngine (session/tls.h; null = plaintext, the only cost on the
// plaintext path is one predictable branch per call). With one, every call below keeps its
// meaning for plaintext: reads decrypt into `in()`, writes encrypt and flush, statuses and
// timeouts are the same. kEof means the peer sent close_notify; a TCP close without it
// (truncation) is kError. `handshake` runs after `connect` (client) or after accept (server).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/as_tuple.hpp>
#include <chrono>
#include <span>

#include "core/byte_buffer.h"
#include "runtime/deadline.h"
#include "runtime/task.h"
#include "session/reactor_recv.h"
#include "session/tls.h"

namespace portico::session {

enum class IoStatus : uint8_t { kOk, kEof, kTimeout, kError, kBufferFull, kWouldBlock };
const char* to_string(IoStatus s);

class Stream {
 public:
  using Buffers = std::span<const boost::asio::const_buffer>;

  Stream(boost::asio::ip::tcp::socket socket, size_t initial_buffer, size_t max_buffer);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  core::ByteBuffer& in() { return in_; }
  size_t max_buffer() const { return max_buffer_; }
  void set_max_buffer(size_t n) { max_buffer_ = n; }

  // Reading. `read_now` is a plain non-blocking recv into the buffer's tail: it never suspends,
  // allocates nothing and needs no timer; use it where bytes are probably there already (a body
  // in flight). `read_async` hands the read to the reactor, raced against `timeout`: the reactor
  // tries the recv at once and, if the socket is empty, waits for the edge-triggered event
  // without any extra syscall. Use it where the peer has yet to answer (the next request on a
  // keep-alive connection, an upstream's response), so an empty socket costs one failed recv
  // and nothing more. (A readiness wait, async_wait, would cost an epoll_ctl per call instead.)
  //
  // Both return kOk (bytes added), kEof, kError, kBufferFull; read_now also kWouldBlock, and
  // read_async kTimeout. With `pinned`, the buffer's bytes never move (no compaction, no growth),
  // so views into a parsed head stay valid; kBufferFull when the tail has no room.
  IoStatus read_now(bool pinned = false);
  runtime::Task<IoStatus> read_async(std::chrono::milliseconds timeout, bool pinned = false);
  // read_now, then read_async when nothing was there.
  runtime::Task<IoStatus> read_more(std::chrono::milliseconds timeout, bool pinned = false);

  // Writes as much of `buffers` as the kernel takes (one sendmsg). kOk when all was written;
  // kWouldBlock with `written` set when the rest must wait; kError.
  IoStatus write_now(Buffers buffers, size_t& written);
  // Writes `buffers` from byte offset `written` on, waiting for room as needed.
  runtime::Task<IoStatus> write_rest(Buffers buffers, size_t written, std::chrono::milliseconds timeout);
  runtime::Task<IoStatus> write(Buffers buffers, std::chrono::milliseconds timeout);
  // A coroutine itself (not a forwarding function): the awaitable starts only when awaited, so
  // `buffer` must live in this frame, not in the caller's expression.
  runtime::Task<IoStatus> write(boost::asio::const_buffer buffer, std::chrono::milliseconds timeout) {
    co_return co_await write(Buffers(&buffer, 1), timeout);
  }

  // Connects the (closed) socket to `ep`, raced against `timeout`. Sets TCP_NODELAY.
  runtime::Task<IoStatus> connect(const boost::asio::ip::tcp::endpoint& ep,
                                  std::chrono::milliseconds timeout);

  // TLS. `start_tls` attaches an engine (before any byte of the connection is read or written
  // through this Stream); `handshake` completes the TLS handshake within `timeout` (the whole
  // handshake, not each wait): kOk, kTimeout, kEof (closed before it finished: kError) or kError
  // with error_text() saying why (e.g. "certificate verify failed: unable to get local issuer
  // certificate").
  void start_tls(std::unique_ptr<TlsEngine> engine);
  TlsEngine* tls() const { return tls_.get(); }
  runtime::Task<IoStatus> handshake(std::chrono::milliseconds timeout);
  // For an idle pooled TLS connection: processes whatever the peer sent meanwhile without
  // waiting. True when the connection may carry a new request (nothing, or only session tickets
  // and other post-handshake messages); false after close_notify, a TCP close, an error, or
  // application data nobody asked for.
  bool tls_idle_usable();
  // Records a TLS failure found outside the stream (e.g. a server name the engine refused):
  // error_text() returns `message`; returns kError.
  IoStatus fail_tls(std::string message) { return tls_error(std::move(message)); }

  // Cancels pending waits (they complete with kError, or kTimeout if the deadline fired).
  void cancel();
  // Closes the socket; a TLS stream sends close_notify first when it can without waiting.
  void close();
  bool is_open() const { return socket_.is_open(); }
  boost::system::error_code last_error() const { return last_error_; }
  // The last failure as text: the TLS reason when TLS failed, else last_error().message().
  std::string error_text() const;

 private:
  IoStatus classify(const boost::system::error_code& ec);
  IoStatus make_room(bool pinned);
  IoStatus fail_errno(int err);
  // stream_tls.cc
  IoStatus tls_read_now(bool pinned);
  runtime::Task<IoStatus> tls_read_async(std::chrono::milliseconds timeout, bool pinned);
  IoStatus tls_write_from(Buffers buffers, size_t& written);
  runtime::Task<IoStatus> tls_write_rest(Buffers buffers, size_t written, std::chrono::milliseconds timeout);
  IoStatus tls_decrypt(bool pinned);
  IoStatus tls_recv_now();
  runtime::Task<IoStatus> tls_recv_async(std::chrono::milliseconds timeout);
  IoStatus tls_flush();
  runtime::Task<IoStatus> tls_flush_async(std::chrono::milliseconds timeout);
  IoStatus tls_on_tcp_eof();
  IoStatus tls_error(std::string message);

  ReactorSocket socket_;
  boost::asio::detail::reactor& reactor_;
  core::ByteBuffer in_;
  size_t max_buffer_;
  runtime::Deadline deadline_;
  boost::system::error_code last_error_;
  std::unique_ptr<TlsEngine> tls_;
  std::unique_ptr<char[]> tls_scratch_;  // small write spans gathered into one record
  bool tls_failed_ = false;              // last_error_ came from TLS: error_text() is the engine's
  bool tls_write_wants_read_ = false;    // a write waits for the peer's bytes, not for room
};

}  // namespace portico::session
