// Arena: bump allocator for strings that live as long as one request.
//
// Contract: single-threaded (owned by one request on one worker). `copy()` returns a view that stays
// valid until `reset()` or destruction. `reset()` keeps the first block so a steady stream of
// requests allocates nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace portico::core {

class Arena {
 public:
  explicit Arena(size_t block_size = 4096) : block_size_(block_size) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  char* allocate(size_t n) {
    if (n > left_) grow(n);
    char* p = cursor_;
    cursor_ += n;
    left_ -= n;
    return p;
  }

  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = allocate(s.size());
    __builtin_memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  // Concatenation without a temporary std::string.
  std::string_view concat(std::string_view a, std::string_view b, std::string_view c = {}) {
    size_t n = a.size() + b.size() + c.size();
    if (n == 0) return {};
    char* p = allocate(n);
    if (!a.empty()) __builtin_memcpy(p, a.data(), a.size());
    if (!b.empty()) __builtin_memcpy(p + a.size(), b.data(), b.size());
    if (!c.empty()) __builtin_memcpy(p + a.size() + b.size(), c.data(), c.size());
    return {p, n};
  }

  void reset() {
    if (blocks_.size() > 1) blocks_.resize(1);
    if (!blocks_.empty()) {
      cursor_ = blocks_[0].data.get();
      left_ = blocks_[0].size;
    }
  }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  void grow(size_t n) {
    size_t size = n > block_size_ ? n : block_size_;
    blocks_.push_back(Block{std::unique_ptr<char[]>(new char[size]), size});
    cursor_ = blocks_.back().data.get();
    left_ = size;
  }

  size_t block_size_;
  std::vector<Block> blocks_;
  char* cursor_ = nullptr;
  size_t left_ = 0;
};

}  // namespace portico::core
