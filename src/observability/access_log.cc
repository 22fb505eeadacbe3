#include "observability/access_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/thread.h"
#include "observability/json_escape.h"
#include "observability/log.h"

namespace portico::observability {

AccessLog::AccessLog(const std::string& destination) : destination_(destination) {
  if (destination == "stdout") {
    fd_ = STDOUT_FILENO;
  } else if (destination == "stderr") {
    fd_ = STDERR_FILENO;
  } else {
    fd_ = ::open(destination.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw std::runtime_error("cannot open access log " + destination + ": " + std::strerror(errno));
    }
    owns_fd_ = true;
  }
  opened();
  start_writer();
}

AccessLog::AccessLog(const std::string& path, bool reopen_every_write)
    : destination_(path), reopen_every_write_(reopen_every_write) {
  owns_fd_ = true;
  start_writer();
}

void AccessLog::start_writer() {
  thread_ = std::thread([this] {
    core::become_background_thread("portico-log");
    run();
  });
}

void AccessLog::reopen() {
  if (owns_fd_) reopen_.store(true, std::memory_order_relaxed);
}

bool AccessLog::ensure_open() {
  if (!owns_fd_) return true;
  if (fd_ >= 0 && (reopen_every_write_ || reopen_.exchange(false, std::memory_order_relaxed))) {
    ::close(fd_);
    fd_ = -1;
  }
  if (fd_ >= 0) return true;
  fd_ = ::open(destination_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ >= 0) {
    opened();
    if (failing_) PORTICO_LOG_INFO("log file {} is writable again", destination_);
    failing_ = false;
    return true;
  }
  if (!failing_) PORTICO_LOG_ERROR("cannot open log file {}: {}", destination_, std::strerror(errno));
  failing_ = true;
  return false;
}

namespace {

int64_t page_size() {
  static const int64_t page = std::max<int64_t>(::sysconf(_SC_PAGESIZE), 512);
  return page;
}

int64_t page_start(int64_t offset) { return offset - offset % page_size(); }

}  // namespace

void AccessLog::opened() {
  struct stat st {};
  regular_file_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  if (!regular_file_) return;
  // The same file opened again (`reopen` for every batch) keeps its window; another one (a
  // rotation) starts with what it holds already, which is not the writer's to drop.
  const auto device = static_cast<uint64_t>(st.st_dev);
  const auto inode = static_cast<uint64_t>(st.st_ino);
  if (device == file_device_ && inode == file_inode_) return;
  file_device_ = device;
  file_inode_ = inode;
  start_window(static_cast<int64_t>(st.st_size));
}

void AccessLog::drop_written_pages(size_t batch_size) {
  if (!regular_file_) return;
  const off_t end = ::lseek(fd_, 0, SEEK_CUR);  // O_APPEND: the end of the file, this batch's end
  if (end < 0) return;
  const int64_t batch = static_cast<int64_t>(end) - static_cast<int64_t>(batch_size);
  const int64_t last_end = cached_batches_.empty() ? drop_from_ : cached_batches_.back().end;
  if (batch < last_end) {  // truncated under the writer (`> access.log`, copytruncate): start again
    start_window(std::max<int64_t>(batch, 0));
  }
  const auto now = std::chrono::steady_clock::now();
  cached_batches_.push_back({now, static_cast<int64_t>(end)});
  int64_t settled = drop_from_;
  while (cached_batches_.size() > 1 && now - cached_batches_.front().at >= settle_time_) {
    settled = cached_batches_.front().end;
    cached_batches_.pop_front();
  }
  if (settled <= drop_from_) return;
  // The kernel drops whole pages inside the range only, and none that are dirty or being written
  // back (it starts writing those): the range starts at the page of the previous range's start,
  // so a page shared by two batches and a page skipped last time get another try.
  if (settled > retry_from_) ::posix_fadvise(fd_, retry_from_, settled - retry_from_, POSIX_FADV_DONTNEED);
  retry_from_ = std::max(page_start(drop_from_), own_from_);
  drop_from_ = settled;
}

void AccessLog::start_window(int64_t offset) {
  drop_from_ = offset;
  // The page `offset` falls in (unless it starts there) also holds bytes that are not the writer's.
  own_from_ = page_start(offset + page_size() - 1);
  retry_from_ = own_from_;
  cached_batches_.clear();
}

std::chrono::milliseconds AccessLog::default_settle_time() {
  static const std::chrono::milliseconds settle = [] {  // read once: the sysctls rarely change
    auto centiseconds = [](const char* path, long fallback) {
      std::FILE* f = std::fopen(path, "re");
      long v = -1;
      if (f != nullptr) {
        if (std::fscanf(f, "%ld", &v) != 1) v = -1;
        std::fclose(f);
      }
      return v >= 0 ? v : fallback;
    };
    const long expire = centiseconds("/proc/sys/vm/dirty_expire_centisecs", 3000);
    const long interval = centiseconds("/proc/sys/vm/dirty_writeback_centisecs", 500);
    return std::chrono::milliseconds(10 * (expire + interval) + 5000);
  }();
  return settle;
}

void AccessLog::write_all(const std::string& chunk) {
  if (!ensure_open()) {
    write_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const char* p = chunk.data();
  size_t left = chunk.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      write_errors.fetch_add(1, std::memory_order_relaxed);
      if (!failing_) PORTICO_LOG_ERROR("cannot write log file {}: {}", destination_, std::strerror(errno));
      failing_ = true;
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  drop_written_pages(chunk.size());
}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

bool AccessLog::submit(std::string&& lines, std::string* spare) {
  if (lines.empty()) return true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_bytes_ + lines.size() > kMaxQueuedBytes) return false;
    queued_bytes_ += lines.size();
    queue_.push_back(std::move(lines));
    if (spare && !spares_.empty()) {
      spare->swap(spares_.back());
      spares_.pop_back();
    }
  }
  cv_.notify_one();
  return true;
}

void AccessLog::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  drained_.wait(lock, [this] { return queue_.empty() && !writing_; });
}

void AccessLog::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    std::string chunk = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= chunk.size();
    writing_ = true;
    lock.unlock();
    write_all(chunk);
    chunk.clear();
    lock.lock();
    if (spares_.size() < 4) spares_.push_back(std::move(chunk));
    writing_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
}

namespace {

struct Destinations {
  std::mutex mu;
  std::map<std::pair<std::string, bool>, std::unique_ptr<AccessLog>> by_path;
};

Destinations& destinations() {
  static auto* d = new Destinations();  // never destroyed: workers may log until exit
  return *d;
}

struct ThreadBuffer {
  AccessLog* log;
  std::string text;
};
thread_local std::vector<ThreadBuffer> t_buffers;

// Gives `buf`'s lines to `log` and leaves `buf` empty with room for the next ones (a buffer the
// writer is done with when there is one). False when the queue was full (the lines are lost).
bool hand_over_buffer(AccessLog& log, std::string& buf) {
  std::string lines = std::move(buf);
  buf = std::string();
  const bool queued = log.submit(std::move(lines), &buf);
  if (buf.capacity() < AccessLogBuffer::kCapacity) buf.reserve(AccessLogBuffer::kCapacity);
  return queued;
}

void hand_over(ThreadBuffer& b) {
  if (b.text.empty()) return;
  if (!hand_over_buffer(*b.log, b.text)) b.log->dropped.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

AccessLog& log_destination(const std::string& path, bool reopen_every_write) {
  auto& d = destinations();
  std::lock_guard<std::mutex> lock(d.mu);
  auto& slot = d.by_path[{path, reopen_every_write}];
  if (!slot) slot = std::make_unique<AccessLog>(path, reopen_every_write);
  return *slot;
}

void reopen_log_destinations() {
  auto& d = destinations();
  std::lock_guard<std::mutex> lock(d.mu);
  for (auto& [key, log] : d.by_path) log->reopen();
}

void flush_log_destinations() {
  auto& d = destinations();
  std::vector<AccessLog*> logs;
  {
    std::lock_guard<std::mutex> lock(d.mu);
    for (auto& [key, log] : d.by_path) logs.push_back(log.get());
  }
  for (AccessLog* log : logs) log->flush();
}

LogDestinationTotals log_destination_totals() {
  auto& d = destinations();
  std::lock_guard<std::mutex> lock(d.mu);
  LogDestinationTotals t;
  for (auto& [key, log] : d.by_path) {
    t.dropped += log->dropped.load(std::memory_order_relaxed);
    t.write_errors += log->write_errors.load(std::memory_order_relaxed);
  }
  return t;
}

std::string& thread_log_buffer(AccessLog& log) {
  for (auto& b : t_buffers) {
    if (b.log == &log) return b.text;
  }
  t_buffers.push_back({&log, {}});
  t_buffers.back().text.reserve(AccessLogBuffer::kCapacity);
  return t_buffers.back().text;
}

void thread_log_line_done(AccessLog& log) {
  for (auto& b : t_buffers) {
    if (b.log == &log && b.text.size() >= AccessLogBuffer::kFlushBytes) hand_over(b);
  }
}

void flush_thread_log_buffers() {
  for (auto& b : t_buffers) hand_over(b);
}

void AccessLogBuffer::flush(core::Counter& dropped) {
  if (buf_.empty() || !log_) return;
  if (!hand_over_buffer(*log_, buf_)) dropped.add();
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  append_json_escaped(out, s);
  out += '"';
}

void append_json_escaped(std::string& out, std::string_view s) {
  const size_t at = out.size();
  out.resize(at + json::escaped_max(s.size()));
  char* const end = json::put_escaped(out.data() + at, s);
  out.resize(static_cast<size_t>(end - out.data()));
}

}  // namespace portico::observability
