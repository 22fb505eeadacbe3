// Shared helpers of the HTTP/1 codec fuzz targets: invariant checks that abort (so libFuzzer
// records a crash artifact) and a session-like feeder that hands the codec a freshly allocated
// copy of its unconsumed bytes on every call, so any pointer kept across calls trips ASan.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                          \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                               \
    }                                                                             \
  } while (0)

namespace portico::fuzz {

inline bool within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// The bytes a session has received but not consumed yet, fed `piece` bytes at a time.
class Feeder {
 public:
  Feeder(std::string_view input, size_t piece) : input_(input), piece_(piece == 0 ? 1 : piece) {}

  // Appends the next piece; false once the input is exhausted.
  bool feed() {
    if (fed_ == input_.size()) return false;
    const size_t n = std::min(piece_, input_.size() - fed_);
    pending_.append(input_.substr(fed_, n));
    fed_ += n;
    return true;
  }

  // A fresh heap copy of the pending bytes, valid until the next view() or consume().
  std::string_view view() {
    copy_ = std::make_unique<char[]>(pending_.size() + 1);
    std::memcpy(copy_.get(), pending_.data(), pending_.size());
    return std::string_view(copy_.get(), pending_.size());
  }

  void consume(size_t n) {
    FUZZ_CHECK(n <= pending_.size());
    pending_.erase(0, n);
  }

  size_t input_size() const { return input_.size(); }

 private:
  std::string_view input_;
  size_t piece_;
  size_t fed_ = 0;
  std::string pending_;
  std::unique_ptr<char[]> copy_;
};

}  // namespace portico::fuzz
