// ByteBuffer: a contiguous read buffer for one connection.
//
// Contract: single-threaded. Readable bytes are [data(), data()+size()); the free tail is
// [tail(), tail()+tail_room()). `consume()` advances the read position; `compact()` moves unread
// bytes to the front, which invalidates views into the buffer, so callers only compact when no
// parsed head still refers to it. `reserve_tail()` may reallocate (also invalidating views) and
// never grows past `max_capacity`.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace portico::core {

class ByteBuffer {
 public:
  explicit ByteBuffer(size_t capacity = 16 * 1024)
      : data_(new char[capacity]), capacity_(capacity) {}

  const char* data() const { return data_.get() + begin_; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  std::string_view view() const { return {data(), size()}; }
  size_t begin_offset() const { return begin_; }

  char* tail() { return data_.get() + end_; }
  size_t tail_room() const { return capacity_ - end_; }
  size_t capacity() const { return capacity_; }
  void commit(size_t n) { end_ += n; }

  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void clear() { begin_ = end_ = 0; }

  // Drops bytes [from, to) counted from data(), keeping what lies before and after: used to discard
  // forwarded body bytes while a parsed head before them must stay where it is.
  void erase(size_t from, size_t to) {
    size_t after = size() - to;
    if (after) std::memmove(data_.get() + begin_ + from, data_.get() + begin_ + to, after);
    end_ -= (to - from);
  }

  void compact() {
    if (begin_ == 0) return;
    size_t n = size();
    if (n) std::memmove(data_.get(), data_.get() + begin_, n);
    begin_ = 0;
    end_ = n;
  }

  // Ensures at least `want` bytes of tail room (compacting, then growing up to max_capacity).
  // Returns false when the buffer cannot hold that much.
  bool reserve_tail(size_t want, size_t max_capacity) {
    if (tail_room() >= want) return true;
    compact();
    if (tail_room() >= want) return true;
    size_t need = end_ + want;
    if (need > max_capacity) return false;
    size_t cap = capacity_;
    while (cap < need) cap *= 2;
    if (cap > max_capacity) cap = max_capacity;
    std::unique_ptr<char[]> bigger(new char[cap]);
    std::memcpy(bigger.get(), data_.get(), end_);
    data_ = std::move(bigger);
    capacity_ = cap;
    return true;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace portico::core
