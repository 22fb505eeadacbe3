#include "session/stream.h"

#include <boost/asio/error.hpp>
#include <boost/asio/read.hpp>

namespace portico::session {

const char* to_string(IoStatus s) {
  switch (s) {
    case IoStatus::kOk: return "ok";
    case IoStatus::kEof: return "connection closed";
    case IoStatus::kTimeout: return "timeout";
    case IoStatus::kError: return "i/o error";
    case IoStatus::kBufferFull: return "buffer full";
  }
  return "?";
}

Stream::Stream(boost::asio::ip::tcp::socket socket, size_t initial_buffer, size_t max_buffer)
    : socket_(std::move(socket)),
      in_(initial_buffer),
      max_buffer_(max_buffer),
      deadline_(socket_.get_executor()) {
  deadline_.arm(std::chrono::hours(24), [this] {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  });
  deadline_.cancel();
}

Stream::~Stream() = default;

runtime::Task<IoStatus> Stream::read_more(std::chrono::milliseconds timeout, bool pinned) {
  if (pinned) {
    if (in_.tail_room() == 0) co_return IoStatus::kBufferFull;
  } else {
    size_t want = in_.capacity() / 2;
    if (want < 4096) want = 4096;
    if (!in_.reserve_tail(want, max_buffer_) && !in_.reserve_tail(1, max_buffer_)) {
      co_return IoStatus::kBufferFull;
    }
  }
  deadline_.extend(timeout);
  auto [ec, n] = co_await socket_.async_read_some(boost::asio::buffer(in_.tail(), in_.tail_room()),
                                                  boost::asio::as_tuple(boost::asio::use_awaitable));
  deadline_.cancel();
  if (ec) {
    if (ec == boost::asio::error::eof) co_return IoStatus::kEof;
    co_return classify(ec);
  }
  in_.commit(n);
  co_return IoStatus::kOk;
}

runtime::Task<IoStatus> Stream::connect(const boost::asio::ip::tcp::endpoint& ep,
                                        std::chrono::milliseconds timeout) {
  deadline_.extend(timeout);
  auto [ec] = co_await socket_.async_connect(ep, boost::asio::as_tuple(boost::asio::use_awaitable));
  deadline_.cancel();
  if (ec) co_return classify(ec);
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  co_return IoStatus::kOk;
}

IoStatus Stream::classify(const boost::system::error_code& ec) {
  last_error_ = ec;
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
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace portico::session
