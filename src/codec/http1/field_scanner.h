// Incremental scanner of a field section (the header lines after a start line, or a chunked
// body's trailer section), shared by RequestParser, ResponseParser and BodyDecoder.
//
// Contract: internal to the codec. One scanner per parser; not thread-safe. It keeps offsets,
// never pointers, so the caller may move its buffer between calls as long as the bytes already
// seen stay the same and in place relative to the buffer's start. Each byte is looked at a
// bounded number of times however the input is split, so byte-at-a-time feeding is O(n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "codec/http1/message.h"

namespace portico::codec::http1 {

// One field line as offsets into the scanned buffer (value already OWS-trimmed).
struct FieldSpan {
  uint32_t name_offset;
  uint32_t name_size;
  uint32_t value_offset;
  uint32_t value_size;
};

// Validates one field line `line[begin, end)` (CRLF excluded) of `line` and fills `out` with
// offsets relative to `line`. Returns kNone or the field-level error (obs-fold, bad name,
// whitespace before colon, missing colon, bad value, bare CR).
ParseError parse_field_line(const char* line, size_t begin, size_t end, FieldSpan& out);

class FieldScanner {
 public:
  // Starts a section whose first field line begins at `offset` of the buffer.
  void start(size_t offset);

  // Scans `buf` (whole head so far, from the same start as before) for field lines up to the
  // empty line. Sizes are checked against `limits` with the section counted from offset 0 of
  // `buf`: kHeadTooLarge as soon as max_head_bytes are present without the end being found,
  // kTooManyHeaders on the first line past max_headers.
  // kComplete: end() is the offset just past the final CRLF; fields() lists every line.
  ParseStatus scan(std::string_view buf, const Limits& limits);

  ParseError error() const { return error_; }
  size_t end() const { return line_start_; }
  const std::vector<FieldSpan>& fields() const { return fields_; }

 private:
  ParseStatus fail(ParseError e) {
    error_ = e;
    return ParseStatus::kError;
  }

  size_t line_start_ = 0;  // first byte of the line being looked for
  size_t searched_ = 0;    // bytes before this offset hold no LF of the current line
  ParseError error_ = ParseError::kNone;
  std::vector<FieldSpan> fields_;
};

}  // namespace portico::codec::http1
