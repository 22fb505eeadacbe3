// AccessLog: JSON lines, one per request, written by a dedicated thread.
//
// Contract: `AccessLog` is created by the server (control thread) and shared by the workers. A
// worker formats lines into its own `AccessLogBuffer` (no lock, no syscall) and hands the filled
// buffer over with `submit()` when it grows past a threshold or on the worker's flush timer, so
// the request path never waits for a disk or a pipe. If the writer falls behind by more than
// `kMaxQueuedBytes`, whole buffers are dropped and counted rather than blocking workers.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/counter.h"

namespace portico::observability {

class AccessLog {
 public:
  static constexpr size_t kMaxQueuedBytes = 64u << 20;

  // `destination`: "stdout", "stderr" or a file path (appended to, created 0644).
  // Throws std::runtime_error when the file cannot be opened (start-up only).
  explicit AccessLog(const std::string& destination);
  // A file opened by the writer thread itself (log plugins): a file that cannot be opened costs
  // the lines of that write (counted in `write_errors`, logged once per failure streak), never
  // the caller. With `reopen_every_write` the file is opened anew for every batch of lines
  // (Kong file-log's `reopen`), so a file moved away by a rotation tool is recreated.
  AccessLog(const std::string& path, bool reopen_every_write);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  const std::string& destination() const { return destination_; }
  // Any thread. Returns false (and drops) when the queue is over its bound. `spare` receives an
  // empty buffer with capacity that the writer is done with (or stays as it is): buffers go
  // round instead of being allocated for every batch.
  bool submit(std::string&& lines, std::string* spare = nullptr);
  // Blocks until everything submitted so far is written (shutdown, tests).
  void flush();
  // Any thread (SIGUSR1): a file destination is closed and opened again before the next write,
  // so a rotated log moves on to a new file. No effect on stdout/stderr.
  void reopen();

  std::atomic<uint64_t> dropped{0};       // lines lost to a full queue (whole batches)
  std::atomic<uint64_t> write_errors{0};  // batches lost to open or write failures

  // How long a written batch keeps its pages in the page cache (drop_written_pages). Only while
  // no batch is being written: before a submit, or after flush() (tests).
  void set_settle_time(std::chrono::milliseconds t) { settle_time_ = t; }
  // The kernel's writeback delay (vm.dirty_expire_centisecs + vm.dirty_writeback_centisecs) and a
  // margin of 5 s: after that long, written lines are normally on disk.
  static std::chrono::milliseconds default_settle_time();

 private:
  // Constructors, last: the writer thread (named, SCHED_BATCH) running run().
  void start_writer();
  void run();
  // Writer thread: makes sure `fd_` is open for a file destination; false when it cannot be.
  bool ensure_open();
  // Writer thread, after `fd_` was opened: notes what kind of file it is (drop_written_pages).
  void opened();
  void write_all(const std::string& chunk);
  // Writer thread, after a batch of `batch_size` bytes reached a regular file.
  // A log file is written once and read rarely, so its lines do not stay in the page cache: once
  // the kernel has written a batch to disk on its own schedule (vm.dirty_expire_centisecs plus
  // vm.dirty_writeback_centisecs, 35 s by default; `settle_time_` adds 5 s to that), the writer
  // tells it (posix_fadvise DONTNEED) that those pages will not be read again, the kernel frees
  // them and the next batches reuse them. Left cached, the log would grow the page cache by every
  // byte logged, each new page a fresh allocation that pushes out pages that are read; dropped
  // pages are reused by the next batches (1 GB written in 512 KiB batches took 1.2 s of kernel
  // time with the pages kept, 0.5 s with earlier batches' pages dropped). A page not yet written
  // back by then (a slow disk, periodic writeback turned off) is written back and gets one more
  // try at the next drop; after that it stays until the kernel reclaims it. The last batch always
  // stays, and so do the pages of a file's earlier content and, after a rotation, the last
  // batches of the old file.
  void drop_written_pages(size_t batch_size);
  // Writer thread: the lines written from `offset` on are the writer's to drop.
  void start_window(int64_t offset);

  std::string destination_;
  bool reopen_every_write_ = false;
  std::atomic<bool> reopen_{false};
  bool failing_ = false;  // writer thread: the last open or write failed (log once per streak)
  int fd_ = -1;
  bool owns_fd_ = false;
  // Writer thread: fd_ is a regular file (its pages can be dropped); which file; how far its
  // lines have been dropped, where the next drop starts (earlier: pages get a second try) and
  // where the writer's own pages start; and the batches written since (when, and the file's end
  // after each).
  bool regular_file_ = false;
  uint64_t file_device_ = 0;
  uint64_t file_inode_ = 0;
  int64_t drop_from_ = 0;
  int64_t retry_from_ = 0;
  int64_t own_from_ = 0;  // the first page that holds only the writer's lines
  struct WrittenBatch {
    std::chrono::steady_clock::time_point at;
    int64_t end;
  };
  std::deque<WrittenBatch> cached_batches_;
  std::chrono::milliseconds settle_time_ = default_settle_time();
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable drained_;
  std::deque<std::string> queue_;
  std::vector<std::string> spares_;  // written buffers, emptied, capacity kept (a few)
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool stop_ = false;
  std::thread thread_;
};

// Per-worker line buffer.
class AccessLogBuffer {
 public:
  // Lines go to the writer in batches of this many bytes (or every 200 ms, whichever is first).
  // Each write() to a file costs a fixed amount in the kernel (inode and journal work besides the
  // copy): measured side by side with plain Portico (proxy_bench.sh CONCURRENT=1), the access log
  // cost 8% of throughput with 8 KiB batches, 5% with 32 KiB, 2.4% with 128 KiB and 1.7% with
  // 512 KiB.
  static constexpr size_t kFlushBytes = 512 * 1024;
  // A buffer's capacity: a batch and room for the line that crosses kFlushBytes (a longer line
  // grows it once).
  static constexpr size_t kCapacity = kFlushBytes + 64 * 1024;
  // The buffer gets its full size at once: grown line by line it would leave a trail of freed
  // 1-32 KiB blocks in the worker's heap, which makes every later small allocation there dearer.
  explicit AccessLogBuffer(AccessLog* log) : log_(log) {
    if (log_ != nullptr) buf_.reserve(kCapacity);
  }
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

// Log plugins' lines: each worker thread keeps one buffer per destination (no lock, no syscall
// on the request path) and hands it to the destination's writer when it passes kFlushBytes or
// when the worker's flush timer calls `flush_thread_log_buffers()`.
// The destinations (file path → AccessLog) live as long as the process, so a config reload that
// drops a plugin leaves no dangling buffer. Any thread.
AccessLog& log_destination(const std::string& path, bool reopen_every_write);
// Every destination made by log_destination(): reopen (SIGUSR1), flush (shutdown, tests).
void reopen_log_destinations();
void flush_log_destinations();
// Sums over those destinations (admin /status): batches dropped on a full queue, batches lost to
// open or write errors.
struct LogDestinationTotals {
  uint64_t dropped = 0;
  uint64_t write_errors = 0;
};
LogDestinationTotals log_destination_totals();
// The calling thread's buffer for `log`; append one line, then call thread_log_line_done().
std::string& thread_log_buffer(AccessLog& log);
void thread_log_line_done(AccessLog& log);
void flush_thread_log_buffers();

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);
// Appends the JSON escaping of `s` without quotes (to build one literal from several pieces).
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace portico::observability
