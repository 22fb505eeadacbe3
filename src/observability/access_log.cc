#include "observability/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace portico::observability {

AccessLog::AccessLog(const std::string& destination) {
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
  thread_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (owns_fd_) ::close(fd_);
}

bool AccessLog::submit(std::string&& lines) {
  if (lines.empty()) return true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_bytes_ + lines.size() > kMaxQueuedBytes) return false;
    queued_bytes_ += lines.size();
    queue_.push_back(std::move(lines));
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
    const char* p = chunk.data();
    size_t left = chunk.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
    lock.lock();
    writing_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
}

void AccessLogBuffer::flush(core::Counter& dropped) {
  if (buf_.empty() || !log_) return;
  std::string out;
  out.reserve(kFlushBytes * 2);
  out.swap(buf_);
  if (!log_->submit(std::move(out))) dropped.add();
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace portico::observability
