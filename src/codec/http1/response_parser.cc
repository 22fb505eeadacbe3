#include "codec/http1/response_parser.h"

#include <algorithm>
#include <cstring>

#include "codec/http1/field_rules.h"
#include "codec/http1/token.h"

namespace portico::codec::http1 {
namespace {

// "HTTP/1.1 200"
constexpr size_t kStatusPrefixSize = 12;

// Validates `line[0, size)` (CRLF excluded) as a status line; fills status, minor version and
// the reason range.
ParseError parse_status_line(const char* line, size_t size, uint16_t& status, uint8_t& minor,
                             size_t& reason_begin, size_t& reason_end) {
  static constexpr std::string_view kHttp = "HTTP/";
  for (size_t k = 0; k < kHttp.size(); ++k) {
    if (k >= size || line[k] != kHttp[k]) return ParseError::kBadStatusLine;
  }
  if (size < 8 || !is_digit(line[5]) || line[6] != '.' || !is_digit(line[7])) return ParseError::kBadVersion;
  if (size > 8 && line[8] != ' ') return is_digit(line[8]) ? ParseError::kBadVersion : ParseError::kBadStatusLine;
  if (line[5] != '1' || (line[7] != '0' && line[7] != '1')) return ParseError::kUnsupportedVersion;
  if (size < 9) return ParseError::kBadStatusLine;
  if (size < kStatusPrefixSize) return ParseError::kBadStatusCode;
  if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) || line[9] == '0') {
    return ParseError::kBadStatusCode;
  }
  status = static_cast<uint16_t>((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
  minor = static_cast<uint8_t>(line[7] - '0');
  if (size == kStatusPrefixSize) {  // no SP, no reason: tolerated, servers in the wild do it
    reason_begin = reason_end = size;
    return ParseError::kNone;
  }
  if (line[12] != ' ') return is_digit(line[12]) ? ParseError::kBadStatusCode : ParseError::kBadStatusLine;
  // reason-phrase = *( HTAB / SP / VCHAR / obs-text )
  for (size_t i = kStatusPrefixSize + 1; i < size; ++i) {
    if (!is_field_char(line[i])) return line[i] == '\r' ? ParseError::kBareCr : ParseError::kBadStatusLine;
  }
  reason_begin = kStatusPrefixSize + 1;
  reason_end = size;
  return ParseError::kNone;
}

}  // namespace

ResponseParser::ResponseParser(Limits limits) : limits_(limits) {}

void ResponseParser::reset() {
  state_ = State::kStatusLine;
  error_ = ParseError::kNone;
  searched_ = 0;
  reason_begin_ = reason_end_ = 0;
  status_ = 0;
  version_minor_ = 1;
  head_size_ = 0;
}

ParseStatus ResponseParser::fail(ParseError e) {
  state_ = State::kError;
  error_ = e;
  return ParseStatus::kError;
}

ParseStatus ResponseParser::parse(std::string_view buf, ResponseHead& out, bool request_was_head) {
  if (state_ == State::kComplete) return ParseStatus::kComplete;
  if (state_ == State::kError) return ParseStatus::kError;

  if (state_ == State::kStatusLine) {
    const char* p = buf.data();
    const size_t limit = std::min<size_t>(buf.size(), limits_.max_head_bytes);
    const void* lf = searched_ < limit ? std::memchr(p + searched_, '\n', limit - searched_) : nullptr;
    if (lf == nullptr) {
      searched_ = std::max(searched_, limit);
      if (buf.size() >= limits_.max_head_bytes) return fail(ParseError::kHeadTooLarge);
      return ParseStatus::kNeedMore;
    }
    const size_t lf_at = static_cast<size_t>(static_cast<const char*>(lf) - p);
    if (lf_at == 0 || p[lf_at - 1] != '\r') return fail(ParseError::kBareLf);
    const ParseError e = parse_status_line(p, lf_at - 1, status_, version_minor_, reason_begin_, reason_end_);
    if (e != ParseError::kNone) return fail(e);
    fields_.start(lf_at + 1);
    state_ = State::kFields;
  }

  const ParseStatus s = fields_.scan(buf, limits_);
  if (s == ParseStatus::kNeedMore) return s;
  if (s == ParseStatus::kError) return fail(fields_.error());
  head_size_ = fields_.end();
  const ParseError e = finish(buf, out, request_was_head);
  if (e != ParseError::kNone) return fail(e);
  state_ = State::kComplete;
  return ParseStatus::kComplete;
}

ParseError ResponseParser::finish(std::string_view buf, ResponseHead& out, bool request_was_head) {
  const char* p = buf.data();
  out.clear();
  out.status = status_;
  out.reason = std::string_view(p + reason_begin_, reason_end_ - reason_begin_);
  out.version_minor = version_minor_;
  for (const FieldSpan& f : fields_.fields()) {
    out.headers.push_back(Header{std::string_view(p + f.name_offset, f.name_size),
                                 std::string_view(p + f.value_offset, f.value_size)});
  }
  FieldFacts facts;
  const ParseError e = inspect_fields(out.headers, /*is_request=*/false, facts, out.connection_tokens);
  if (e != ParseError::kNone) return e;
  if (facts.transfer_encoding_count > 0) {
    if (facts.content_length_count > 0) return ParseError::kContentLengthAndTransferEncoding;
    if (version_minor_ == 0) return ParseError::kTransferEncodingOnHttp10;
  }
  out.content_length = facts.content_length;
  out.keep_alive = version_minor_ == 1 ? !facts.close : (facts.keep_alive && !facts.close);

  // RFC 9112 §6.3 in order: these never have a body whatever their fields say.
  if (request_was_head || status_ < 200 || status_ == 204 || status_ == 304) {
    out.framing = Framing::kNone;
  } else if (facts.transfer_encoding_count > 0) {
    out.framing = Framing::kChunked;
  } else if (facts.content_length_count > 0) {
    out.framing = Framing::kContentLength;
  } else {
    out.framing = Framing::kUntilClose;
    out.keep_alive = false;
  }
  return ParseError::kNone;
}

}  // namespace portico::codec::http1
