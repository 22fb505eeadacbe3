// Serialisation of HTTP/1.1 heads and chunk framing into a caller-owned output buffer.
//
// Contract: free functions, no state. `Out` is any container with
// `append(const char*, size_t)` (std::string, or the session's write buffer); nothing here
// allocates except through `out.append`. Inputs are trusted: names/values must already be
// valid (see token.h: is_token, is_field_value) — configured values are validated once at
// config load, not per write. Status codes must be 100-999.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portico::codec::http1 {

inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Standard reason phrase for `status` (RFC 9110 §15 and common registered codes); empty for
// codes without one (an empty reason is valid on the wire).
std::string_view reason_phrase(int status);

template <typename Out>
void write_request_line(Out& out, std::string_view method, std::string_view target,
                        uint8_t version_minor = 1) {
  out.append(method.data(), method.size());
  out.append(" ", 1);
  out.append(target.data(), target.size());
  const std::string_view tail = version_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
  out.append(tail.data(), tail.size());
}

// `reason` empty => the standard phrase for `status`.
template <typename Out>
void write_status_line(Out& out, int status, std::string_view reason = {}, uint8_t version_minor = 1) {
  char line[13] = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '0', '0', '0', ' '};
  if (version_minor == 0) line[7] = '0';
  const unsigned s = static_cast<unsigned>(status) % 1000;
  line[9] = static_cast<char>('0' + s / 100);
  line[10] = static_cast<char>('0' + s / 10 % 10);
  line[11] = static_cast<char>('0' + s % 10);
  out.append(line, sizeof(line));
  if (reason.empty()) reason = reason_phrase(status);
  out.append(reason.data(), reason.size());
  out.append("\r\n", 2);
}

template <typename Out>
void write_header(Out& out, std::string_view name, std::string_view value) {
  out.append(name.data(), name.size());
  out.append(": ", 2);
  out.append(value.data(), value.size());
  out.append("\r\n", 2);
}

template <typename Out>
void end_head(Out& out) {
  out.append("\r\n", 2);
}

// Formats "<n in lower-case hex>\r\n" into `buf` (at least kChunkHeaderMax bytes) and returns
// its length. Exposed for writers that fill an iovec instead of appending.
inline constexpr size_t kChunkHeaderMax = 18;  // 16 hex digits + CRLF
inline size_t format_chunk_header(char* buf, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  size_t count = 0;
  do {
    digits[count++] = kHex[n & 0xf];
    n >>= 4;
  } while (n != 0);
  for (size_t i = 0; i < count; ++i) buf[i] = digits[count - 1 - i];
  buf[count] = '\r';
  buf[count + 1] = '\n';
  return count + 2;
}

template <typename Out>
void append_chunk_header(Out& out, size_t n) {
  char buf[kChunkHeaderMax];
  out.append(buf, format_chunk_header(buf, n));
}

}  // namespace portico::codec::http1
