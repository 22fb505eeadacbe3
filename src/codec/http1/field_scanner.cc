#include "codec/http1/field_scanner.h"

#include <algorithm>
#include <cstring>

#include "codec/http1/token.h"

namespace portico::codec::http1 {

ParseError parse_field_line(const char* line, size_t begin, size_t end, FieldSpan& out) {
  // Folding would let two parsers disagree on where a value ends; RFC 9112 §5.2 allows a
  // server to reject it and a proxy must not forward it as is, so it dies here.
  if (is_ows(line[begin])) return ParseError::kObsFold;
  size_t i = begin;
  while (i < end && is_token_char(line[i])) ++i;
  if (i == end) return ParseError::kMissingColon;
  const char stop = line[i];
  if (stop != ':') {
    if (is_ows(stop)) return ParseError::kWhitespaceBeforeColon;
    if (stop == '\r') return ParseError::kBareCr;
    return ParseError::kBadHeaderName;
  }
  if (i == begin) return ParseError::kEmptyHeaderName;
  out.name_offset = static_cast<uint32_t>(begin);
  out.name_size = static_cast<uint32_t>(i - begin);

  size_t j = i + 1;
  while (j < end && is_ows(line[j])) ++j;
  const size_t value_begin = j;
  j = skip_field_chars(line, j, end);
  if (j != end) return line[j] == '\r' ? ParseError::kBareCr : ParseError::kBadHeaderValue;
  size_t value_end = end;
  while (value_end > value_begin && is_ows(line[value_end - 1])) --value_end;
  out.value_offset = static_cast<uint32_t>(value_begin);
  out.value_size = static_cast<uint32_t>(value_end - value_begin);
  return ParseError::kNone;
}

void FieldScanner::start(size_t offset) {
  line_start_ = offset;
  searched_ = offset;
  error_ = ParseError::kNone;
  fields_.clear();
}

ParseStatus FieldScanner::scan(std::string_view buf, const Limits& limits) {
  const char* p = buf.data();
  // Never look past max_head_bytes: a head that has not ended by then is too large whatever
  // follows, and bounding the search keeps one huge buffer from costing a full scan.
  const size_t limit = std::min<size_t>(buf.size(), limits.max_head_bytes);
  for (;;) {
    const void* lf = searched_ < limit ? std::memchr(p + searched_, '\n', limit - searched_) : nullptr;
    if (lf == nullptr) {
      searched_ = std::max(searched_, limit);
      if (buf.size() >= limits.max_head_bytes) return fail(ParseError::kHeadTooLarge);
      return ParseStatus::kNeedMore;
    }
    const size_t lf_at = static_cast<size_t>(static_cast<const char*>(lf) - p);
    if (lf_at == line_start_ || p[lf_at - 1] != '\r') return fail(ParseError::kBareLf);
    const size_t line_end = lf_at - 1;
    if (line_end == line_start_) {
      line_start_ = searched_ = lf_at + 1;
      return ParseStatus::kComplete;
    }
    if (fields_.size() >= limits.max_headers) return fail(ParseError::kTooManyHeaders);
    FieldSpan span;
    const ParseError e = parse_field_line(p, line_start_, line_end, span);
    if (e != ParseError::kNone) return fail(e);
    fields_.push_back(span);
    line_start_ = searched_ = lf_at + 1;
  }
}

}  // namespace portico::codec::http1
