#include "codec/http1/request_parser.h"

#include <algorithm>
#include <cassert>

#include "codec/http1/field_rules.h"
#include "codec/http1/token.h"

namespace portico::codec::http1 {
namespace {

// "HTTP/" DIGIT "." DIGIT CRLF
constexpr size_t kVersionLineSize = 10;

// Checks byte `k` of the version-and-CRLF tail of the request line. Returns kNone when it fits.
ParseError check_version_byte(size_t k, char c) {
  switch (k) {
    case 0: case 1: case 2: case 3: case 4:
      if (c == "HTTP/"[k]) return ParseError::kNone;
      return is_ows(c) ? ParseError::kBadRequestLine : ParseError::kBadVersion;
    case 5:
    case 7:
      return is_digit(c) ? ParseError::kNone : ParseError::kBadVersion;
    case 6:
      return c == '.' ? ParseError::kNone : ParseError::kBadVersion;
    case 8:
      if (c == '\r') return ParseError::kNone;
      if (c == '\n') return ParseError::kBareLf;
      return is_ows(c) ? ParseError::kBadRequestLine : ParseError::kBadVersion;
    default:
      return c == '\n' ? ParseError::kNone : ParseError::kBareCr;
  }
}

bool is_scheme(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// RFC 9112 §3.2: origin-form, absolute-form, authority-form (CONNECT only), asterisk-form
// (OPTIONS only). Checking the form here means the router never sees a target it cannot split.
bool is_valid_target_form(std::string_view method, std::string_view target) {
  if (method == "CONNECT") {
    // authority-form = uri-host ":" port, and the port is mandatory here.
    if (!is_valid_host(target)) return false;
    const size_t colon = target.rfind(':');
    const size_t bracket = target.rfind(']');
    return colon != std::string_view::npos && colon + 1 < target.size() &&
           (bracket == std::string_view::npos || colon > bracket);
  }
  if (target.front() == '/') return true;
  if (target == "*") return method == "OPTIONS";
  const size_t colon = target.find(':');
  return colon != std::string_view::npos && is_scheme(target.substr(0, colon));
}

}  // namespace

RequestParser::RequestParser(Limits limits) : limits_(limits) {}

void RequestParser::reset() {
  state_ = State::kLeadingLines;
  error_ = ParseError::kNone;
  pos_ = 0;
  empty_lines_ = 0;
  method_begin_ = method_end_ = target_begin_ = target_end_ = version_begin_ = 0;
  version_minor_ = 1;
  head_size_ = 0;
}

ParseStatus RequestParser::fail(ParseError e) {
  state_ = State::kError;
  error_ = e;
  return ParseStatus::kError;
}

// Called when every byte up to the scan limit was consumed without a verdict: once the head
// has reached max_head_bytes it can only be too large.
ParseStatus RequestParser::need_more(size_t buf_size) {
  if (buf_size >= limits_.max_head_bytes) return fail(ParseError::kHeadTooLarge);
  return ParseStatus::kNeedMore;
}

ParseStatus RequestParser::parse(std::string_view buf, RequestHead& out) {
  if (state_ == State::kComplete) return ParseStatus::kComplete;
  if (state_ == State::kError) return ParseStatus::kError;
  assert(buf.size() >= pos_ && "caller dropped bytes it had already passed");

  const char* p = buf.data();
  const size_t limit = std::min<size_t>(buf.size(), limits_.max_head_bytes);

  if (state_ == State::kLeadingLines) {
    for (;;) {
      if (pos_ >= limit) return need_more(buf.size());
      const char c = p[pos_];
      if (c == '\n') return fail(ParseError::kBareLf);
      if (c != '\r') break;
      if (pos_ + 1 >= limit) return need_more(buf.size());
      if (p[pos_ + 1] != '\n') return fail(ParseError::kBareCr);
      if (++empty_lines_ > kMaxLeadingEmptyLines) return fail(ParseError::kTooManyEmptyLines);
      pos_ += 2;
    }
    method_begin_ = pos_;
    state_ = State::kMethod;
  }

  if (state_ == State::kMethod) {
    size_t i = pos_;
    while (i < limit && is_token_char(p[i])) ++i;
    pos_ = i;
    if (i >= limit) return need_more(buf.size());
    const char c = p[i];
    if (c != ' ' || i == method_begin_) {
      const bool structural = is_ows(c) || c == '\r' || c == '\n';
      return fail(structural ? ParseError::kBadRequestLine : ParseError::kBadMethod);
    }
    method_end_ = i;
    target_begin_ = pos_ = i + 1;
    state_ = State::kTarget;
  }

  if (state_ == State::kTarget) {
    // Stop one byte past the URI limit so an overlong target is refused before its end
    // arrives, without scanning the rest of it.
    const size_t uri_stop = std::min(limit, target_begin_ + size_t{limits_.max_uri_bytes} + 1);
    const size_t i = skip_visible_ascii(p, pos_, uri_stop);
    pos_ = i;
    if (i - target_begin_ > limits_.max_uri_bytes) return fail(ParseError::kUriTooLong);
    if (i >= limit) return need_more(buf.size());
    const char c = p[i];
    if (c != ' ' || i == target_begin_) {
      const bool structural = is_ows(c) || c == '\r' || c == '\n';
      return fail(structural ? ParseError::kBadRequestLine : ParseError::kBadTarget);
    }
    target_end_ = i;
    version_begin_ = pos_ = i + 1;
    state_ = State::kVersion;
  }

  if (state_ == State::kVersion) {
    const size_t stop = std::min(limit, version_begin_ + kVersionLineSize);
    for (size_t i = pos_; i < stop; ++i) {
      const ParseError e = check_version_byte(i - version_begin_, p[i]);
      if (e != ParseError::kNone) return fail(e);
    }
    pos_ = stop;
    if (stop - version_begin_ < kVersionLineSize) return need_more(buf.size());
    const char major = p[version_begin_ + 5];
    const char minor = p[version_begin_ + 7];
    if (major != '1' || (minor != '0' && minor != '1')) return fail(ParseError::kUnsupportedVersion);
    version_minor_ = static_cast<uint8_t>(minor - '0');
    fields_.start(pos_);
    state_ = State::kFields;
  }

  // state_ == kFields
  const ParseStatus s = fields_.scan(buf, limits_);
  if (s == ParseStatus::kNeedMore) return s;
  if (s == ParseStatus::kError) return fail(fields_.error());
  head_size_ = fields_.end();
  const ParseError e = finish(buf, out);
  if (e != ParseError::kNone) return fail(e);
  state_ = State::kComplete;
  return ParseStatus::kComplete;
}

ParseError RequestParser::finish(std::string_view buf, RequestHead& out) {
  const char* p = buf.data();
  out.clear();
  out.method = std::string_view(p + method_begin_, method_end_ - method_begin_);
  out.target = std::string_view(p + target_begin_, target_end_ - target_begin_);
  out.version_minor = version_minor_;
  for (const FieldSpan& f : fields_.fields()) {
    out.headers.push_back(Header{std::string_view(p + f.name_offset, f.name_size),
                                 std::string_view(p + f.value_offset, f.value_size)});
  }
  if (!is_valid_target_form(out.method, out.target)) return ParseError::kBadTarget;

  FieldFacts facts;
  const ParseError e = inspect_fields(out.headers, /*is_request=*/true, facts, out.connection_tokens);
  if (e != ParseError::kNone) return e;
  if (facts.transfer_encoding_count > 0) {
    if (facts.content_length_count > 0) return ParseError::kContentLengthAndTransferEncoding;
    // HTTP/1.0 has no chunked coding; a 1.0 message with TE is a desync attempt or a bug.
    if (version_minor_ == 0) return ParseError::kTransferEncodingOnHttp10;
    out.framing = Framing::kChunked;
  } else if (facts.content_length_count > 0) {
    out.framing = Framing::kContentLength;
    out.content_length = facts.content_length;
  }
  if (facts.host_count == 0 && version_minor_ == 1) return ParseError::kMissingHost;
  out.host = facts.host;
  out.keep_alive = version_minor_ == 1 ? !facts.close : (facts.keep_alive && !facts.close);
  // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
  out.expect_continue = facts.expect_continue && version_minor_ == 1;
  out.unknown_expect = facts.unknown_expect;
  out.has_upgrade = facts.upgrade;
  return ParseError::kNone;
}

}  // namespace portico::codec::http1
