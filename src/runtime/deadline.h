// Deadline: an idle/operation timeout that is cheap to move forward on every read or write.
//
// A timeout is a race against a timer: when the timer wins, `on_expire` runs (typically cancelling
// the socket, which makes the pending operation complete with operation_aborted) and `expired()`
// tells the caller why. Moving the deadline forward only stores a time point; the underlying timer
// is re-armed lazily when it fires early, so a busy connection costs no timer syscall per read.
//
// Contract: worker thread only. The owner must call `cancel()` (or destroy the Deadline) before the
// object `on_expire` refers to dies. The Deadline must outlive no io_context.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace portico::runtime {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(const boost::asio::any_io_executor& ex);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Arms (or moves) the deadline to now + timeout; `on_expire` is kept until the next arm().
  void arm(std::chrono::milliseconds timeout, std::function<void()> on_expire);
  // Moves an armed deadline without changing the callback.
  void extend(std::chrono::milliseconds timeout);
  // Disarms; a later expiry of the underlying timer is ignored.
  void cancel() { armed_ = false; }
  bool expired() const { return expired_; }
  void clear_expired() { expired_ = false; }

 private:
  struct State;
  void schedule();

  std::shared_ptr<State> state_;
  bool armed_ = false;
  bool expired_ = false;
};

}  // namespace portico::runtime
