#include "codec/http1/body_decoder.h"

#include <algorithm>
#include <cstring>

#include "codec/http1/token.h"

namespace portico::codec::http1 {
namespace {

constexpr size_t kMaxChunkSizeDigits = 16;  // 64 bits

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

size_t skip_bws(const char* line, size_t i, size_t size) {
  while (i < size && is_ows(line[i])) ++i;
  return i;
}

ParseError ext_error(char c) { return c == '\r' ? ParseError::kBareCr : ParseError::kBadChunkExtension; }

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// chunk-ext-val = token / quoted-string. Parsed fully, because a lax extension parser is how
// chunk boundaries get disagreed on (quoted ';', bare CR/LF inside quotes).
ParseError parse_chunk_extensions(const char* line, size_t i, size_t size) {
  while (i < size) {
    i = skip_bws(line, i, size);
    if (i == size) return ParseError::kBadChunkExtension;  // trailing whitespace without ';'
    if (line[i] != ';') return ext_error(line[i]);
    i = skip_bws(line, i + 1, size);
    const size_t name_begin = i;
    while (i < size && is_token_char(line[i])) ++i;
    if (i == name_begin) return i < size ? ext_error(line[i]) : ParseError::kBadChunkExtension;
    const size_t after_name = i;
    i = skip_bws(line, i, size);
    if (i == size || line[i] != '=') {
      i = after_name;  // no value: whatever follows must start the next extension
      continue;
    }
    i = skip_bws(line, i + 1, size);
    if (i == size) return ParseError::kBadChunkExtension;
    if (line[i] == '"') {
      ++i;
      for (;;) {
        if (i == size) return ParseError::kBadChunkExtension;
        const char c = line[i];
        if (c == '"') {
          ++i;
          break;
        }
        if (c == '\\') {
          // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
          if (i + 1 == size || !is_field_char(line[i + 1])) {
            return i + 1 < size ? ext_error(line[i + 1]) : ParseError::kBadChunkExtension;
          }
          i += 2;
          continue;
        }
        if (!detail::has_class(c, detail::kQuotedTextChar)) return ext_error(c);
        ++i;
      }
    } else {
      const size_t value_begin = i;
      while (i < size && is_token_char(line[i])) ++i;
      if (i == value_begin) return ext_error(line[i]);
    }
  }
  return ParseError::kNone;
}

// Parses a chunk-size line `line[0, size)` (CRLF excluded).
ParseError parse_chunk_line(const char* line, size_t size, uint64_t& chunk_size) {
  size_t i = 0;
  while (i < size && is_hex_digit(line[i])) ++i;
  if (i == 0) return size > 0 && line[0] == '\r' ? ParseError::kBareCr : ParseError::kBadChunkSize;
  if (i > kMaxChunkSizeDigits) return ParseError::kChunkSizeTooLarge;
  uint64_t n = 0;
  for (size_t k = 0; k < i; ++k) n = (n << 4) | static_cast<uint64_t>(hex_value(line[k]));
  if (i < size && !is_ows(line[i]) && line[i] != ';') {
    return line[i] == '\r' ? ParseError::kBareCr : ParseError::kBadChunkSize;
  }
  const ParseError e = parse_chunk_extensions(line, i, size);
  if (e != ParseError::kNone) return e;
  chunk_size = n;
  return ParseError::kNone;
}

}  // namespace

void BodyDecoder::start(Framing framing, uint64_t content_length, Limits limits) {
  limits_ = limits;
  error_ = ParseError::kNone;
  remaining_ = 0;
  body_bytes_ = 0;
  line_searched_ = 0;
  switch (framing) {
    case Framing::kNone:
      state_ = State::kDone;
      break;
    case Framing::kContentLength:
      remaining_ = content_length;
      state_ = content_length == 0 ? State::kDone : State::kLength;
      break;
    case Framing::kChunked:
      state_ = State::kChunkSize;
      break;
    case Framing::kUntilClose:
      state_ = State::kUntilClose;
      break;
  }
}

bool BodyDecoder::finish_eof() {
  if (state_ == State::kUntilClose) state_ = State::kDone;
  return state_ == State::kDone;
}

BodyDecoder::Step BodyDecoder::decode(std::string_view in) {
  Step step;
  const char* p = in.data();
  size_t pos = 0;
  auto fail = [&](ParseError e) {
    state_ = State::kError;
    error_ = e;
    step.error = e;
    step.consumed = pos;
    return step;
  };
  auto yield = [&]() {
    step.consumed = pos;
    step.done = state_ == State::kDone;
    return step;
  };

  for (;;) {
    const size_t avail = in.size() - pos;
    switch (state_) {
      case State::kDone:
        return yield();
      case State::kError:
        step.error = error_;
        step.consumed = pos;
        return step;
      case State::kLength:
      case State::kUntilClose: {
        const size_t n = state_ == State::kLength ? static_cast<size_t>(std::min<uint64_t>(remaining_, avail)) : avail;
        if (n > 0) {
          step.data = in.substr(pos, n);
          pos += n;
          body_bytes_ += n;
          if (state_ == State::kLength) {
            remaining_ -= n;
            if (remaining_ == 0) state_ = State::kDone;
          }
        }
        return yield();
      }
      case State::kChunkSize: {
        const size_t window = std::min(avail, kMaxChunkLineBytes);
        const char* line = p + pos;
        const void* lf = line_searched_ < window
                             ? std::memchr(line + line_searched_, '\n', window - line_searched_)
                             : nullptr;
        if (lf == nullptr) {
          line_searched_ = std::max(line_searched_, window);
          if (avail >= kMaxChunkLineBytes) return fail(ParseError::kChunkLineTooLong);
          return yield();  // the line starts at the first unconsumed byte next time
        }
        const size_t lf_at = static_cast<size_t>(static_cast<const char*>(lf) - line);
        if (lf_at == 0 || line[lf_at - 1] != '\r') return fail(ParseError::kBareLf);
        uint64_t chunk_size = 0;
        const ParseError e = parse_chunk_line(line, lf_at - 1, chunk_size);
        if (e != ParseError::kNone) return fail(e);
        pos += lf_at + 1;
        line_searched_ = 0;
        if (chunk_size == 0) {
          trailers_.start(0);
          state_ = State::kTrailers;
        } else {
          remaining_ = chunk_size;
          state_ = State::kChunkData;
        }
        break;
      }
      case State::kChunkData: {
        // One data span per step: if this step already carries data, stop before the next.
        if (!step.data.empty() || avail == 0) return yield();
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, avail));
        step.data = in.substr(pos, n);
        pos += n;
        body_bytes_ += n;
        remaining_ -= n;
        if (remaining_ > 0) return yield();
        state_ = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd: {
        if (avail == 0) return yield();
        if (p[pos] != '\r') return fail(ParseError::kMissingChunkCrlf);
        if (avail < 2) return yield();
        if (p[pos + 1] != '\n') return fail(ParseError::kMissingChunkCrlf);
        pos += 2;
        state_ = State::kChunkSize;
        break;
      }
      case State::kTrailers: {
        const std::string_view section = in.substr(pos);
        const ParseStatus s = trailers_.scan(section, limits_);
        if (s == ParseStatus::kNeedMore) return yield();
        if (s == ParseStatus::kError) {
          const ParseError e = trailers_.error();
          const bool too_large = e == ParseError::kHeadTooLarge || e == ParseError::kTooManyHeaders;
          return fail(too_large ? ParseError::kTrailersTooLarge : e);
        }
        const size_t end = trailers_.end();
        step.trailers = section.substr(0, end - 2);  // without the final empty line
        pos += end;
        state_ = State::kDone;
        return yield();
      }
    }
  }
}

}  // namespace portico::codec::http1
