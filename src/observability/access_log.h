// AccessLog: JSON lines, one per request, written by a dedicated thread.
//
// Contract: `AccessLog` is created by the server (control thread) and shared by the workers. A
// worker formats lines into its own `AccessLogBuffer` (no lock, no syscall) and hands the filled
// buffer over with `submit()` when it grows past a threshold or on the worker's flush timer, so
// the request path never waits for a disk or a pipe. If the writer falls behind by more than
// `kMaxQueuedBytes`, whole buffers are dropped and counted rather than blocking workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "core/counter.h"

namespace portico::observability {

class AccessLog {
 public:
  static constexpr size_t kMaxQueuedBytes = 64u << 20;

  // `destination`: "stdout", "stderr" or a file path (appended to, created 0644).
  // Throws std::runtime_error when the file cannot be opened (start-up only).
  explicit AccessLog(const std::string& destination);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Any thread. Returns false (and drops) when the queue is over its bound.
  bool submit(std::string&& lines);
  // Blocks until everything submitted so far is written (shutdown, tests).
  void flush();

 private:
  void run();

  int fd_ = -1;
  bool owns_fd_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable drained_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool stop_ = false;
  std::thread thread_;
};

// Per-worker line buffer.
class AccessLogBuffer {
 public:
  static constexpr size_t kFlushBytes = 32 * 1024;
  explicit AccessLogBuffer(AccessLog* log) : log_(log) {}
  bool enabled() const { return log_ != nullptr; }
  std::string& text() { return buf_; }
  // After appending a line: hands the buffer over when it is large enough.
  void line_done(core::Counter& dropped) {
    if (buf_.size() >= kFlushBytes) flush(dropped);
  }
  void flush(core::Counter& dropped);

 private:
  AccessLog* log_;
  std::string buf_;
};

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace portico::observability
