// Strict, incremental HTTP/1.1 response-head parser (RFC 9112), sans I/O. Used on upstream
// connections; the same field rules as requests apply, so an upstream cannot desync us either.
//
// Contract:
// - One parser per upstream connection, used from that connection's worker only. Synchronous;
//   allocates only when vectors grow past their previous capacity.
// - parse(buf, out, request_was_head): same buffer rules as RequestParser::parse: `buf` holds
//   every unconsumed byte from the first byte of this head; already-passed bytes must stay the
//   same and in order; the buffer may move between calls; resumption is O(n) overall.
// - Returns kNeedMore: call again with more bytes.
//   kComplete: `out` was cleared and filled with views into `buf`; head_size() is where the
//   body starts. out.framing: kNone for a HEAD request, 1xx, 204 and 304; kChunked for
//   "Transfer-Encoding: chunked"; kContentLength when Content-Length is present; otherwise
//   kUntilClose (and keep_alive false). A 1xx head (100 Continue, 103 Early Hints) completes on
//   its own: reset() and parse again for the final response. 101 is reported as is; the
//   caller switches protocols.
//   kError: error() tells why; a proxy answers kResponseErrorStatus (502) and drops the
//   upstream connection, whatever the enumerator.
// - Leniency, only where the wild needs it: a status line without reason ("HTTP/1.1 200\r\n").
//   Strictness beyond the RFC's minimum: both Content-Length and Transfer-Encoding is an error,
//   and Transfer-Encoding must be exactly "chunked" (a gateway forwards, it does not decode
//   other codings).
// - Verdicts are sticky until reset().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/http1/field_scanner.h"
#include "codec/http1/message.h"

namespace portico::codec::http1 {

class ResponseParser {
 public:
  explicit ResponseParser(Limits limits = {});

  ParseStatus parse(std::string_view buf, ResponseHead& out, bool request_was_head);

  size_t head_size() const { return head_size_; }
  ParseError error() const { return error_; }

  void reset();

 private:
  enum class State : uint8_t { kStatusLine, kFields, kComplete, kError };

  ParseStatus fail(ParseError e);
  ParseError finish(std::string_view buf, ResponseHead& out, bool request_was_head);

  Limits limits_;
  State state_ = State::kStatusLine;
  ParseError error_ = ParseError::kNone;
  size_t searched_ = 0;  // status line: bytes before this offset hold no LF
  size_t reason_begin_ = 0;
  size_t reason_end_ = 0;
  uint16_t status_ = 0;
  uint8_t version_minor_ = 1;
  size_t head_size_ = 0;
  FieldScanner fields_;
};

}  // namespace portico::codec::http1
