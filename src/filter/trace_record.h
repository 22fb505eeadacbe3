// TraceRecord: the per-request tracing state a tracing filter (opentelemetry) starts in on_request
// and turns into spans in on_log, plus what the core records for it along the way: one entry per
// upstream attempt (so retries show as separate child spans) and one per filter that waited.
//
// Contract: lives in the Exchange, on one worker; clear() keeps capacity so steady-state requests
// allocate nothing. The core records only while recording() (a tracing filter took the request
// and sampled it), so untraced requests pay one branch. Ids are raw bytes (W3C sizes); this header
// depends on nothing but the clock so every layer may include it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace portico::filter {

struct TraceAttempt {
  core::MonoTime start{};  // the attempt began (target picked, before connect)
  core::MonoTime end{};    // its response head arrived, or it failed
  uint16_t status = 0;     // the upstream's status; 0 when no response came
  // Why it failed, as a static string (e.g. "connect-failure", "timeout", "reset"); empty when a
  // response came. Must outlive the request: string literals only.
  std::string_view error;
  char endpoint_text[64] = {};  // "ip:port" of the target, truncated to 63 bytes
  uint8_t endpoint_size = 0;

  std::string_view endpoint() const { return std::string_view(endpoint_text, endpoint_size); }
};

struct TraceWait {
  std::string_view filter;  // the plugin's name (a view into the snapshot or a literal)
  core::MonoTime start{};
  core::MonoTime end{};
};

struct TraceRecord {
  bool active = false;   // a tracing filter took this request
  bool sampled = false;  // and its spans will be exported
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};         // the gateway's server span
  std::array<uint8_t, 8> parent_span_id{};  // the incoming parent; all-zero for a new trace
  std::string_view tracestate;              // valid incoming tracestate (a view into the request)
  std::vector<TraceAttempt> attempts;
  std::vector<TraceWait> waits;

  bool recording() const { return active && sampled; }

  // Called by the core once per upstream attempt, when it ends (response head or failure).
  void add_attempt(core::MonoTime start, core::MonoTime end, std::string_view endpoint,
                   uint16_t status, std::string_view error) {
    if (!recording()) return;
    TraceAttempt& a = attempts.emplace_back();
    a.start = start;
    a.end = end;
    a.status = status;
    a.error = error;
    a.endpoint_size = static_cast<uint8_t>(std::min<size_t>(endpoint.size(), sizeof a.endpoint_text - 1));
    std::memcpy(a.endpoint_text, endpoint.data(), a.endpoint_size);
  }

  // Called by the core when a filter's hook returned a task (it really waited), whatever the
  // tracing state: authentication and rate limiting run before the tracing filter (higher Kong
  // priorities), so their waits are kept for the span builder in case this request is sampled;
  // clear() drops them otherwise. Only filters that wait (a rare, already slow path) pay for it.
  void add_wait(std::string_view filter, core::MonoTime start, core::MonoTime end) {
    waits.push_back({filter, start, end});
  }

  // A tracing filter taking the request: a fresh identity, no attempts, and the waits of the
  // plugins that ran before it kept.
  void begin() {
    std::vector<TraceWait> earlier;
    earlier.swap(waits);
    clear();
    waits.swap(earlier);
    active = true;
  }

  void clear() {
    active = sampled = false;
    trace_id = {};
    span_id = {};
    parent_span_id = {};
    tracestate = {};
    attempts.clear();
    waits.clear();
  }
};

// Records one upstream attempt in `record` when it goes out of scope, or at finish(): the core
// declares one per attempt, right after picking the target, so every exit of the attempt (retry,
// failure, response) is recorded once. Costs one branch when the request is not being traced.
//
//   filter::TraceAttemptScope trace_attempt(x.trace, endpoint.key);   // attempt starts
//   ... trace_attempt.error = "connect-failure";                       // optional, on a failure
//   ... trace_attempt.finish(head.status);                             // response head arrived
class TraceAttemptScope {
 public:
  TraceAttemptScope(TraceRecord& record, std::string_view endpoint)
      : record_(record.recording() ? &record : nullptr), endpoint_(endpoint) {
    if (record_) start_ = core::MonoClock::now();
  }
  ~TraceAttemptScope() { finish(0); }
  TraceAttemptScope(const TraceAttemptScope&) = delete;
  TraceAttemptScope& operator=(const TraceAttemptScope&) = delete;

  // Ends the attempt now with `status` (0: no response; then `error`, or "no-response").
  void finish(uint16_t status) {
    if (!record_) return;
    std::string_view why = status != 0 ? std::string_view() : error.empty() ? "no-response" : error;
    record_->add_attempt(start_, core::MonoClock::now(), endpoint_, status, why);
    record_ = nullptr;
  }

  // Why the attempt failed, when it did (a string literal: it is stored as a view).
  std::string_view error;

 private:
  TraceRecord* record_;
  std::string_view endpoint_;  // must outlive the scope (the snapshot's endpoint key)
  core::MonoTime start_{};
};

}  // namespace portico::filter
