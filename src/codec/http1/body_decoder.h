// Incremental decoder of an HTTP/1.1 message body (Content-Length, chunked, until-close), sans
// I/O. It never copies or buffers body bytes: data comes back as views into the caller's input.
//
// Contract:
// - One decoder per message direction of a connection; start() before each body. Not
//   thread-safe. Synchronous; allocates only when a trailer section has more fields than any
//   before it on this decoder. A default-constructed decoder is done().
// - decode(in): `in` is every unconsumed byte after the head / after previous steps. The step
//   returns the bytes it consumed (framing included; drop them before the next call), at most
//   one contiguous span of body data (a view into `in`), and done once the body has ended.
//   Bytes after the body end are never consumed: they are the next message.
//   consumed == 0 && data.empty() && !done: need more bytes; call again with the same unconsumed
//   bytes plus more (the decoder remembers how far it looked, so trickled input stays O(n)).
//   consumed > 0 or data non-empty: call again (with the rest) until that no longer holds.
//   error != kNone: the body is malformed; the message and the connection are dead. `data` in
//   that step, if any, is body that preceded the error. Later calls repeat the error.
// - Chunked: chunk-size is 1-16 hex digits; extensions `;name[=token|quoted-string]` are
//   validated and dropped; the size line is bounded to kMaxChunkLineBytes; CRLF is required
//   everywhere. The trailer section is validated like header fields (bounded by max_head_bytes
//   and max_headers) and returned once, as the raw block of trailer lines each ending in CRLF
//   (without the final empty line), in `trailers` of the step that reports done. That view is
//   into `in` too.
// - kUntilClose: every byte is body; finish_eof() at EOF marks the body done. finish_eof()
//   returns false for any other unfinished framing: the body was truncated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/http1/field_scanner.h"
#include "codec/http1/message.h"

namespace portico::codec::http1 {

class BodyDecoder {
 public:
  static constexpr size_t kMaxChunkLineBytes = 4096;  // chunk-size line incl. extensions and CRLF

  struct Step {
    size_t consumed = 0;
    std::string_view data;
    std::string_view trailers;
    bool done = false;
    ParseError error = ParseError::kNone;
  };

  // kNone, or kContentLength with 0, is done() immediately.
  void start(Framing framing, uint64_t content_length, Limits limits = {});

  Step decode(std::string_view in);

  bool finish_eof();

  bool done() const { return state_ == State::kDone; }
  uint64_t body_bytes() const { return body_bytes_; }
  ParseError error() const { return error_; }

 private:
  enum class State : uint8_t { kDone, kError, kLength, kUntilClose, kChunkSize, kChunkData, kChunkDataEnd, kTrailers };

  Limits limits_;
  State state_ = State::kDone;
  ParseError error_ = ParseError::kNone;
  uint64_t remaining_ = 0;  // of the Content-Length body or of the current chunk
  uint64_t body_bytes_ = 0;
  size_t line_searched_ = 0;  // chunk-size line: bytes after its start already known to hold no LF
  FieldScanner trailers_;
};

}  // namespace portico::codec::http1
