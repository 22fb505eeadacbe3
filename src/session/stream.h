// Stream: a TCP socket, its read buffer and the timeout that guards every operation on it.
//
// Contract: lives on one worker. Every read and write is raced against the stream's Deadline: when
// the deadline wins, the socket is cancelled and the operation reports IoStatus::kTimeout.
// `read_more` appends to `in()` (growing it up to `max_buffer`); `write` sends a whole buffer
// sequence (one writev when the kernel takes it all). Neither throws.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "core/byte_buffer.h"
#include "runtime/deadline.h"
#include "runtime/task.h"

namespace portico::session {

enum class IoStatus : uint8_t { kOk, kEof, kTimeout, kError, kBufferFull };
const char* to_string(IoStatus s);

class Stream {
 public:
  Stream(boost::asio::ip::tcp::socket socket, size_t initial_buffer, size_t max_buffer);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  core::ByteBuffer& in() { return in_; }
  size_t max_buffer() const { return max_buffer_; }
  void set_max_buffer(size_t n) { max_buffer_ = n; }

  // Reads at least one byte (or reports EOF/timeout/error). kBufferFull when the buffer is at its
  // maximum and holds no free room. With `pinned`, the buffer's bytes never move (no compaction,
  // no growth): views into a parsed head stay valid; kBufferFull when the tail has no room.
  runtime::Task<IoStatus> read_more(std::chrono::milliseconds timeout, bool pinned = false);

  // Connects the (closed) socket to `ep`, raced against `timeout`. Sets TCP_NODELAY.
  runtime::Task<IoStatus> connect(const boost::asio::ip::tcp::endpoint& ep,
                                  std::chrono::milliseconds timeout);

  template <class Buffers>
  runtime::Task<IoStatus> write(const Buffers& buffers, std::chrono::milliseconds timeout) {
    deadline_.extend(timeout);
    auto [ec, n] = co_await boost::asio::async_write(socket_, buffers,
                                                     boost::asio::as_tuple(boost::asio::use_awaitable));
    deadline_.cancel();
    if (!ec) co_return IoStatus::kOk;
    co_return classify(ec);
  }

  // Cancels pending operations (they complete with kError, or kTimeout if the deadline fired).
  void cancel();
  void close();
  bool is_open() const { return socket_.is_open(); }
  boost::system::error_code last_error() const { return last_error_; }

 private:
  IoStatus classify(const boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  core::ByteBuffer in_;
  size_t max_buffer_;
  runtime::Deadline deadline_;
  boost::system::error_code last_error_;
};

}  // namespace portico::session
