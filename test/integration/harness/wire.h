#pragma once
// HTTP/1.1 wire helpers shared by the test-side Upstream and Client: a buffered blocking socket
// with poll() timeouts, head parsing, body framing (Content-Length, chunked with trailers,
// read-until-close), a deterministic body pattern and a streaming hash.
//
// Contract: test-only code. A Socket belongs to one thread at a time; shutdown() may be called
// from another thread to wake a blocked reader. Nothing here throws on I/O: every call returns
// an IoStatus so a test can fail with a message instead of hanging.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::integration {

using Millis = std::chrono::milliseconds;
using Headers = std::vector<std::pair<std::string, std::string>>;

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
// First value of a header (case-insensitive name), if present.
std::optional<std::string> find_header(const Headers& headers, std::string_view name);
// Every value of a header, in order.
std::vector<std::string> find_headers(const Headers& headers, std::string_view name);
// True when a comma-separated header (e.g. Connection) lists token (case-insensitive).
bool header_has_token(const Headers& headers, std::string_view name, std::string_view token);

std::string_view reason_phrase(int status);

// Deterministic pseudo-random bytes: byte i of an endless stream, independent of chunking.
void fill_pattern(std::uint64_t offset, char* out, std::size_t n);
std::string pattern(std::uint64_t offset, std::size_t n);

// 64-bit FNV-1a, streaming.
class Fnv64 {
 public:
  Fnv64() = default;
  // Continues a hash from a previous value().
  explicit Fnv64(std::uint64_t state) : h_(state) {}
  void update(std::string_view data);
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 14695981039346656037ull;
};
std::uint64_t fnv64(std::string_view data);
// Hash of pattern(0, size), computed piecewise.
std::uint64_t pattern_hash(std::uint64_t size);

enum class IoStatus { kOk, kTimeout, kClosed, kReset, kError, kMalformed, kTooLarge };
std::string_view to_string(IoStatus s);

// Blocking socket with an input buffer. Timeouts are per wait (inactivity), Millis{-1} = forever.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void close();
  // Close with SO_LINGER 0 so the peer receives an RST.
  void reset();
  void shutdown_write();
  void shutdown_both();

  IoStatus write_all(std::string_view data, Millis timeout);
  // Reads whatever is available (at least one byte) into the buffer.
  IoStatus fill(Millis timeout);
  // Ensures the buffer holds a complete "\r\n\r\n"-terminated head (or `delim`) of at most max
  // bytes; on kOk, *end is the offset just past the delimiter.
  IoStatus fill_until(std::string_view delim, std::size_t max, Millis timeout, std::size_t* end);
  // Ensures the buffer holds at least n bytes.
  IoStatus fill_at_least(std::size_t n, Millis timeout);

  std::string& buffer() { return buf_; }
  void consume(std::size_t n) { buf_.erase(0, n); }
  std::uint64_t bytes_read() const { return bytes_read_; }
  // Every byte read is also added to *counter (may be shared between threads).
  void set_counter(std::atomic<std::uint64_t>* counter) { counter_ = counter; }

 private:
  int fd_ = -1;
  std::atomic<std::uint64_t>* counter_ = nullptr;
  std::string buf_;
  std::uint64_t bytes_read_ = 0;
};

// Connects to 127.0.0.1:port (SOCK_CLOEXEC, TCP_NODELAY). Returns an invalid Socket and sets
// *err (errno) on failure.
Socket connect_tcp(std::uint16_t port, Millis timeout, int* err = nullptr);

struct ParsedHead {
  std::string raw;          // the head bytes including the final CRLFCRLF
  std::string first;        // method (request) or version (response)
  std::string second;       // target or status code
  std::string third;        // version (request) or reason (response)
  Headers headers;
};
// Lenient parse of a head (start line + fields). Returns false on garbage.
bool parse_head(std::string_view raw, ParsedHead* out);

enum class Framing { kNone, kContentLength, kChunked, kUntilClose };

struct Body {
  std::string data;                // up to store_limit bytes
  std::uint64_t size = 0;          // every byte received
  std::uint64_t hash = Fnv64{}.value();
  bool chunked = false;
  Headers trailers;
  bool complete = false;           // framing finished cleanly
  std::vector<std::uint64_t> chunk_sizes;
};

// Reads a body with the given framing. For kUntilClose, EOF is success.
IoStatus read_body(Socket& sock, Framing framing, std::uint64_t length, Body* body,
                   std::size_t store_limit, Millis timeout);

}  // namespace portico::integration
