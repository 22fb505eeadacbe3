// RESP (the Redis serialization protocol, version 2) sans I/O: encoding commands and parsing
// replies.
//
// Contract
// - Pure functions and a small parser object; no sockets, no allocation on the parse path beyond
//   the caller's reply vector growing past its previous capacity. Callable from any thread; a
//   parser belongs to one connection.
// - Commands are always sent as arrays of bulk strings (`encode_command`), so arguments may hold
//   any bytes, CR and LF included: nothing is ever interpolated into a text line.
// - `RespParser::parse` reads one reply from the front of a buffer. Replies are flattened in
//   pre-order into `RespReply::nodes` (an array node is followed by its elements, recursively),
//   holding views into the buffer: the caller keeps the bytes until it is done with the reply.
//   kNeedMore means "call again with more bytes" (the parser restarts from the reply's first
//   byte; replies a gateway reads are tens of bytes, so re-scanning costs nothing measurable);
//   kComplete sets `consumed`; kError is final for the connection (a peer that breaks framing
//   cannot be resynchronised) and `error()` says why.
// - Limits, all enforced before anything is buffered beyond them: a simple line (status, error,
//   integer, length) of at most `max_line` bytes, bulk strings of at most `max_bulk` bytes,
//   arrays of at most `max_elements` elements in all and `max_depth` nesting. Integers must be
//   canonical decimal within int64; a bulk string must end in CRLF exactly at its length.
// - RESP3-only types (`_`, `#`, `,`, `%`, `~`, …) are rejected: Portico never sends HELLO 3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace portico::redis {

// Appends `*N\r\n$len\r\narg\r\n…` for the command and its arguments to `out`.
void encode_command(std::string& out, std::initializer_list<std::string_view> args);
void encode_command(std::string& out, const std::vector<std::string_view>& args);
void encode_command(std::string& out, const std::vector<std::string>& args);

enum class RespType : uint8_t {
  kSimpleString,  // +OK
  kError,         // -ERR message (text without the '-')
  kInteger,       // :42
  kBulkString,    // $3 abc
  kNull,          // $-1 or *-1
  kArray,         // *N followed by N elements
};

struct RespNode {
  RespType type = RespType::kNull;
  int64_t integer = 0;    // kInteger: the value; kArray: the element count
  std::string_view text;  // kSimpleString, kError, kBulkString
};

struct RespReply {
  std::vector<RespNode> nodes;  // pre-order; nodes[0] is the reply itself
  const RespNode& top() const { return nodes.front(); }
  // The index just past the subtree rooted at `index`.
  size_t skip(size_t index) const;
};

struct RespLimits {
  size_t max_line = 1024;
  size_t max_bulk = 512 * 1024;
  size_t max_elements = 4096;
  size_t max_depth = 8;
};

enum class RespStatus : uint8_t { kNeedMore, kComplete, kError };

class RespParser {
 public:
  explicit RespParser(RespLimits limits = {}) : limits_(limits) {}

  // Parses one reply from the start of `buf` into `out` (cleared first).
  RespStatus parse(std::string_view buf, RespReply& out, size_t& consumed);
  const char* error() const { return error_; }

 private:
  RespStatus fail(const char* why) {
    error_ = why;
    return RespStatus::kError;
  }

  RespLimits limits_;
  const char* error_ = "";
};

}  // namespace portico::redis
