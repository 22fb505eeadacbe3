// Strict, incremental HTTP/1.1 request-head parser (RFC 9112), sans I/O.
//
// Contract:
// - One parser per connection, used from that connection's worker only; no internal locking.
//   Synchronous: never blocks or suspends. Allocates only when `out`'s vectors or the internal
//   field list grow past their previous capacity, i.e. not per message once a connection is warm.
// - parse(buf, out): `buf` holds every unconsumed byte of the connection, starting at the first
//   byte of this head (including any empty lines before the request line). Between calls the
//   caller may move or grow its buffer, but must keep the bytes already passed unchanged and in
//   order; the parser stores offsets, never pointers, and resumes scanning where it stopped, so
//   feeding a head one byte at a time costs O(n) overall.
// - Returns kNeedMore: no verdict yet; call again with more bytes.
//   kComplete: `out` was cleared and filled with views into `buf` (valid while `buf` is), and
//   head_size() is the number of bytes the head used; its body (if any) starts there. Decode
//   it with BodyDecoder::start(out.framing, out.content_length).
//   kError: error() tells why; answer status_for(error()) and close the connection.
// - After kComplete or kError the verdict is sticky (parse() returns it again without touching
//   `out`) until reset(), which prepares the parser for the next message of the connection.
// - Request targets in absolute-form or authority-form are accepted as the RFC says; mapping
//   them to Host is the caller's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/http1/field_scanner.h"
#include "codec/http1/message.h"

namespace portico::codec::http1 {

class RequestParser {
 public:
  // Empty lines (CRLF) tolerated before a request line (RFC 9112 §2.2 says at least one).
  static constexpr uint32_t kMaxLeadingEmptyLines = 4;

  explicit RequestParser(Limits limits = {});

  ParseStatus parse(std::string_view buf, RequestHead& out);

  size_t head_size() const { return head_size_; }
  ParseError error() const { return error_; }
  const Limits& limits() const { return limits_; }

  void reset();

 private:
  enum class State : uint8_t { kLeadingLines, kMethod, kTarget, kVersion, kFields, kComplete, kError };

  ParseStatus fail(ParseError e);
  ParseStatus need_more(size_t buf_size);
  ParseError finish(std::string_view buf, RequestHead& out);

  Limits limits_;
  State state_ = State::kLeadingLines;
  ParseError error_ = ParseError::kNone;
  size_t pos_ = 0;  // next byte to look at in the request line
  uint32_t empty_lines_ = 0;
  size_t method_begin_ = 0;
  size_t method_end_ = 0;
  size_t target_begin_ = 0;
  size_t target_end_ = 0;
  size_t version_begin_ = 0;
  uint8_t version_minor_ = 1;
  size_t head_size_ = 0;
  FieldScanner fields_;
};

}  // namespace portico::codec::http1
