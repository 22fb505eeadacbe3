// Worker: one thread running one single-threaded io_context.
//
// Contract: created and started by the control thread. `post()` may be called from any thread; the
// function runs on the worker thread. Everything a worker owns (sessions, pools, stats shard) is
// touched only from its own thread. `stop()` asks the loop to return; `join()` waits for the thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <thread>

namespace portico::runtime {

class Worker {
 public:
  // One thread runs this context; sockets and timers are touched only from it, so the reactor
  // needs no per-descriptor locking. Posts from the control thread stay locked.
  explicit Worker(int index) : index_(index), io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() { join(); }

  int index() const { return index_; }
  boost::asio::io_context& io() { return io_; }

  template <class F>
  void post(F&& f) {
    boost::asio::post(io_, std::forward<F>(f));
  }

  // Starts the thread; `on_start` runs first on the new thread (e.g. to begin accepting).
  void start(std::function<void()> on_start);
  void stop() { io_.stop(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  int index_;
  boost::asio::io_context io_;
  std::thread thread_;
};

}  // namespace portico::runtime
