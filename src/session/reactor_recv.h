// ReactorSocket and async_recv_drained: a TCP receive that tells the reactor when it drained the
// socket, so that the next receive waits for an event instead of first trying a read that would
// only find EAGAIN.
//
// Why: Asio's edge-triggered epoll reactor tries every receive at once ("speculatively") unless
// the previous one reported the socket exhausted, and its stock receive reports that only at EOF.
// A proxy's reads almost always come before the peer has answered (the next keep-alive request,
// the upstream's response), so each of them would cost a failed recv. This operation reports a
// short read (fewer bytes than the buffer had room for) as exhausted — the kernel handed over
// everything it had — which is the readiness rule nginx applies. When an event arrives while no
// receive is queued, the reactor marks the descriptor readable again, so no data is ever missed.
//
// Contract: worker thread only; the socket must be open and in non-blocking mode. The completion
// is (error_code, bytes): eof on an orderly close. Cancellation works through socket.cancel() /
// close(), as for any Asio operation.
#pragma once

#include <sys/socket.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/memory.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/query.hpp>
#include <cerrno>

namespace portico::session {

// A tcp::socket that exposes the reactor bookkeeping the drained receive needs.
class ReactorSocket : public boost::asio::ip::tcp::socket {
 public:
  explicit ReactorSocket(boost::asio::ip::tcp::socket&& s) : boost::asio::ip::tcp::socket(std::move(s)) {}
  auto& implementation() { return impl_.get_implementation(); }
};

namespace detail {

template <class Handler, class IoExecutor>
class DrainedRecvOp : public boost::asio::detail::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(DrainedRecvOp);

  DrainedRecvOp(int fd, void* data, size_t size, Handler& handler, const IoExecutor& io_ex)
      : reactor_op(boost::system::error_code(), &DrainedRecvOp::do_perform, &DrainedRecvOp::do_complete),
        fd_(fd),
        data_(data),
        size_(size),
        handler_(std::move(handler)),
        work_(handler_, io_ex) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<DrainedRecvOp*>(base);
    for (;;) {
      ssize_t n = ::recv(o->fd_, o->data_, o->size_, MSG_DONTWAIT);
      if (n > 0) {
        o->bytes_transferred_ = static_cast<size_t>(n);
        return static_cast<size_t>(n) < o->size_ ? done_and_exhausted : done;
      }
      if (n == 0) {
        o->ec_ = boost::asio::error::eof;
        return done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      o->ec_ = boost::system::error_code(errno, boost::asio::error::get_system_category());
      return done;
    }
  }

  static void do_complete(void* owner, boost::asio::detail::operation* base, const boost::system::error_code&,
                          std::size_t) {
    auto* o = static_cast<DrainedRecvOp*>(base);
    ptr p = {boost::asio::detail::addressof(o->handler_), o, o};
    boost::asio::detail::handler_work<Handler, IoExecutor> w(std::move(o->work_));
    // The handler is moved out before the operation's memory is released, then invoked.
    boost::asio::detail::binder2<Handler, boost::system::error_code, std::size_t> handler(o->handler_, o->ec_,
                                                                                          o->bytes_transferred_);
    p.h = boost::asio::detail::addressof(handler.handler_);
    p.reset();
    if (owner) {
      boost::asio::detail::fenced_block b(boost::asio::detail::fenced_block::half);
      w.complete(handler, handler.handler_);
    }
  }

 private:
  int fd_;
  void* data_;
  size_t size_;
  Handler handler_;
  boost::asio::detail::handler_work<Handler, IoExecutor> work_;
};

}  // namespace detail

template <class Token>
auto async_recv_drained(ReactorSocket& socket, boost::asio::detail::reactor& reactor, void* data, size_t size,
                        Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
      [&socket, &reactor, data, size](auto handler) {
        using Handler = std::decay_t<decltype(handler)>;
        using IoExecutor = boost::asio::ip::tcp::socket::executor_type;
        using Op = detail::DrainedRecvOp<Handler, IoExecutor>;
        typename Op::ptr p = {boost::asio::detail::addressof(handler), Op::ptr::allocate(handler), 0};
        auto& impl = socket.implementation();
        p.p = new (p.v) Op(impl.socket_, data, size, handler, socket.get_executor());
        reactor.start_op(boost::asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_, p.p,
                         /*is_continuation=*/false, /*allow_speculative=*/true);
        p.v = p.p = 0;
      },
      token);
}

}  // namespace portico::session
