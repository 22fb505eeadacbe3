// Verdict and Step: what a filter hook answers.
//
// Verdict: Continue (next filter / next phase), Respond (a local reply is in exchange.reply: stop
// the request phases and send it), or Error (the core answers `status` with Kong's JSON body and
// counts the failure against its source). `message` must outlive the exchange (a literal or text
// owned by the snapshot).
//
// Step: a ready Verdict (the synchronous fast path: no coroutine frame is ever allocated) or a Task
// that the core awaits when the filter genuinely has to wait (timers, I/O).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "runtime/task.h"

namespace portico::filter {

enum class ErrorSource : uint8_t { kNone, kDownstream, kUpstream, kInternal };

struct Verdict {
  enum class Kind : uint8_t { kContinue, kRespond, kError };
  Kind kind = Kind::kContinue;
  ErrorSource source = ErrorSource::kNone;
  uint16_t status = 0;
  std::string_view message;

  static Verdict next() { return {}; }
  static Verdict respond() { return {Kind::kRespond, ErrorSource::kNone, 0, {}}; }
  static Verdict error(ErrorSource source, uint16_t status, std::string_view message) {
    return {Kind::kError, source, status, message};
  }
  bool proceeds() const { return kind == Kind::kContinue; }
};

class Step {
 public:
  Step(Verdict v) : verdict_(v) {}  // NOLINT: implicit so hooks can `return Verdict::next();`
  Step(runtime::Task<Verdict>&& task) : task_(std::move(task)) {}  // NOLINT

  bool ready() const { return !task_.valid(); }
  Verdict verdict() const { return verdict_; }
  runtime::Task<Verdict> take_task() { return std::move(task_); }

 private:
  Verdict verdict_;
  runtime::Task<Verdict> task_;
};

}  // namespace portico::filter
