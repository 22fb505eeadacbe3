#include "runtime/deadline.h"

namespace portico::runtime {

// The timer's completion handler may run after the Deadline is gone (destruction cancels the
// timer, whose handler is still queued), so it reaches the Deadline only through shared state that
// the destructor detaches.
struct Deadline::State {
  explicit State(const boost::asio::any_io_executor& ex) : timer(ex) {}
  boost::asio::steady_timer timer;
  Deadline* owner = nullptr;
  Clock::time_point when{};
  Clock::time_point timer_at{};
  bool waiting = false;
  std::function<void()> on_expire;
};

Deadline::Deadline(const boost::asio::any_io_executor& ex) : state_(std::make_shared<State>(ex)) {
  state_->owner = this;
}

Deadline::~Deadline() {
  state_->owner = nullptr;
  state_->on_expire = nullptr;
  if (state_->waiting) state_->timer.cancel();
}

void Deadline::arm(std::chrono::milliseconds timeout, std::function<void()> on_expire) {
  state_->on_expire = std::move(on_expire);
  extend(timeout);
}

void Deadline::extend(std::chrono::milliseconds timeout) {
  armed_ = true;
  expired_ = false;
  state_->when = Clock::now() + timeout;
  // An earlier-firing timer re-arms itself for the later time; only a deadline that moved earlier
  // than the pending timer needs the timer reset.
  if (!state_->waiting || state_->when < state_->timer_at) schedule();
}

void Deadline::schedule() {
  auto st = state_;
  st->timer_at = st->when;
  st->timer.expires_at(st->when);
  st->waiting = true;
  st->timer.async_wait([st](const boost::system::error_code& ec) {
    if (ec) {
      // Cancelled by a reschedule to an earlier time (a new wait is pending) or by destruction.
      return;
    }
    st->waiting = false;
    Deadline* self = st->owner;
    if (!self || !self->armed_) return;
    if (Clock::now() < st->when) {
      self->schedule();
      return;
    }
    self->armed_ = false;
    self->expired_ = true;
    if (st->on_expire) st->on_expire();
  });
}

}  // namespace portico::runtime
