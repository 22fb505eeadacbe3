// OutBuffer: an append-only byte buffer for serialising message heads.
//
// Contract: single-threaded, owned by one session and reused for every message (clear() keeps the
// capacity). Appends are inline memcpy calls with one capacity check, which is what makes head
// serialisation cheap; growth is the rare out-of-line path.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace portico::core {

class OutBuffer {
 public:
  explicit OutBuffer(size_t capacity = 2048) : data_(new char[capacity]), cap_(capacity) {}

  void clear() { size_ = 0; }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_.get(), size_}; }

  void append(const char* p, size_t n) {
    if (n > cap_ - size_) grow(n);
    std::memcpy(data_.get() + size_, p, n);
    size_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  OutBuffer& operator+=(std::string_view s) {
    append(s.data(), s.size());
    return *this;
  }
  OutBuffer& operator+=(char c) {
    if (size_ == cap_) grow(1);
    data_[size_++] = c;
    return *this;
  }

 private:
  void grow(size_t n);

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t cap_;
};

}  // namespace portico::core
