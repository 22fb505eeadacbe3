#include "session/stream.h"

#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <vector>

namespace portico::session {

const char* to_string(IoStatus s) {
  switch (s) {
    case IoStatus::kOk: return "ok";
    case IoStatus::kEof: return "connection closed";
    case IoStatus::kTimeout: return "timeout";
    case IoStatus::kError: return "i/o error";
    case IoStatus::kBufferFull: return "buffer full";
    case IoStatus::kWouldBlock: return "would block";
  }
  return "?";
}

Stream::Stream(boost::asio::ip::tcp::socket socket, size_t initial_buffer, size_t max_buffer)
    : socket_(std::move(socket)),
      reactor_(boost::asio::use_service<boost::asio::detail::reactor>(
          boost::asio::query(socket_.get_executor(), boost::asio::execution::context))),
      in_(initial_buffer),
      max_buffer_(max_buffer),
      deadline_(socket_.get_executor()) {
  boost::system::error_code ignored;
  if (socket_.is_open()) socket_.non_blocking(true, ignored);  // required by async_recv_drained
  deadline_.arm(std::chrono::hours(24), [this] {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  });
  deadline_.cancel();
}

Stream::~Stream() = default;

IoStatus Stream::fail_errno(int err) {
  tls_failed_ = false;
  last_error_ = boost::system::error_code(err, boost::system::system_category());
  return IoStatus::kError;
}

IoStatus Stream::make_room(bool pinned) {
  if (pinned) return in_.tail_room() == 0 ? IoStatus::kBufferFull : IoStatus::kOk;
  size_t want = in_.capacity() / 2;
  if (want < 4096) want = 4096;
  if (!in_.reserve_tail(want, max_buffer_) && !in_.reserve_tail(1, max_buffer_)) {
    return IoStatus::kBufferFull;
  }
  return IoStatus::kOk;
}

IoStatus Stream::read_now(bool pinned) {
  if (tls_) [[unlikely]] return tls_read_now(pinned);
  if (IoStatus room = make_room(pinned); room != IoStatus::kOk) return room;
  for (;;) {
    ssize_t n = ::recv(socket_.native_handle(), in_.tail(), in_.tail_room(), MSG_DONTWAIT);
    if (n > 0) {
      in_.commit(static_cast<size_t>(n));
      return IoStatus::kOk;
    }
    if (n == 0) return IoStatus::kEof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kWouldBlock;
    return fail_errno(errno);
  }
}

runtime::Task<IoStatus> Stream::read_async(std::chrono::milliseconds timeout, bool pinned) {
  if (tls_) [[unlikely]] co_return co_await tls_read_async(timeout, pinned);
  if (IoStatus room = make_room(pinned); room != IoStatus::kOk) co_return room;
  if (!socket_.is_open()) co_return fail_errno(EBADF);
  deadline_.extend(timeout);
  auto [ec, n] = co_await async_recv_drained(socket_, reactor_, in_.tail(), in_.tail_room(),
                                             boost::asio::as_tuple(boost::asio::use_awaitable));
  deadline_.cancel();
  if (ec) co_return classify(ec);
  in_.commit(n);
  co_return IoStatus::kOk;
}

runtime::Task<IoStatus> Stream::read_more(std::chrono::milliseconds timeout, bool pinned) {
  IoStatus s = read_now(pinned);
  if (s != IoStatus::kWouldBlock) co_return s;
  co_return co_await read_async(timeout, pinned);
}

IoStatus Stream::write_now(Buffers buffers, size_t& written) {
  constexpr size_t kMaxIov = 64;
  written = 0;
  if (tls_) [[unlikely]] return tls_write_from(buffers, written);
  size_t total = 0;
  for (const auto& b : buffers) total += b.size();
  size_t skip = 0;  // bytes already sent, from the start of `buffers`
  for (;;) {
    iovec iov[kMaxIov];
    size_t count = 0;
    size_t offset = skip;
    for (const auto& b : buffers) {
      if (offset >= b.size()) {
        offset -= b.size();
        continue;
      }
      if (count == kMaxIov) break;
      iov[count].iov_base = const_cast<char*>(static_cast<const char*>(b.data())) + offset;
      iov[count].iov_len = b.size() - offset;
      offset = 0;
      ++count;
    }
    if (count == 0) return IoStatus::kOk;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kWouldBlock;
      return fail_errno(errno);
    }
    skip += static_cast<size_t>(n);
    written = skip;
    if (skip >= total) return IoStatus::kOk;
  }
}

runtime::Task<IoStatus> Stream::write_rest(Buffers buffers, size_t written, std::chrono::milliseconds timeout) {
  if (tls_) [[unlikely]] co_return co_await tls_write_rest(buffers, written, timeout);
  size_t total = 0;
  for (const auto& b : buffers) total += b.size();
  // `buffers` may hold more than 64 spans, so write_now is retried until all are out.
  std::vector<boost::asio::const_buffer> rest;
  for (;;) {
    rest.clear();
    size_t offset = written;
    for (const auto& b : buffers) {
      if (offset >= b.size()) {
        offset -= b.size();
        continue;
      }
      rest.emplace_back(static_cast<const char*>(b.data()) + offset, b.size() - offset);
      offset = 0;
    }
    if (rest.empty()) co_return IoStatus::kOk;
    size_t n = 0;
    IoStatus s = write_now(rest, n);
    written += n;
    if (s == IoStatus::kOk && written >= total) co_return IoStatus::kOk;
    if (s != IoStatus::kOk && s != IoStatus::kWouldBlock) co_return s;
    if (s == IoStatus::kOk) continue;
    deadline_.extend(timeout);
    auto [ec] = co_await socket_.async_wait(boost::asio::socket_base::wait_write,
                                            boost::asio::as_tuple(boost::asio::use_awaitable));
    deadline_.cancel();
    if (ec) co_return classify(ec);
  }
}

runtime::Task<IoStatus> Stream::write(Buffers buffers, std::chrono::milliseconds timeout) {
  size_t written = 0;
  IoStatus s = write_now(buffers, written);
  if (s != IoStatus::kWouldBlock) co_return s;
  co_return co_await write_rest(buffers, written, timeout);
}

runtime::Task<IoStatus> Stream::connect(const boost::asio::ip::tcp::endpoint& ep,
                                        std::chrono::milliseconds timeout) {
  deadline_.extend(timeout);
  auto [ec] = co_await socket_.async_connect(ep, boost::asio::as_tuple(boost::asio::use_awaitable));
  deadline_.cancel();
  if (ec) co_return classify(ec);
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
  co_return IoStatus::kOk;
}

std::string Stream::error_text() const {
  if (tls_failed_ && tls_ && !tls_->error().empty()) return tls_->error();
  return last_error_.message();
}

IoStatus Stream::classify(const boost::system::error_code& ec) {
  last_error_ = ec;
  tls_failed_ = false;
  if (deadline_.expired()) {
    deadline_.clear_expired();
    return IoStatus::kTimeout;
  }
  if (ec == boost::asio::error::eof) return IoStatus::kEof;
  return IoStatus::kError;
}

void Stream::cancel() {
  boost::system::error_code ignored;
  socket_.cancel(ignored);
}

void Stream::close() {
  deadline_.cancel();
  if (tls_ && !tls_failed_ && socket_.is_open() && tls_->handshake_done()) {
    // close_notify if the socket takes it now; a peer that misses it sees a truncation.
    tls_->shutdown();
    tls_flush();
  }
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace portico::session
