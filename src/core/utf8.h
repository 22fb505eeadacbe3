// UTF-8 checks for text that must be valid UTF-8 on the wire (OTLP string fields: collectors may
// refuse a whole batch for one bad byte) but comes from clients (paths, User-Agent values).
// Pure, allocation-free but for the string the caller hands in, any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace portico::core {

// True when every byte is below 0x80: eight bytes per step, nothing read outside `s`.
inline bool is_ascii(std::string_view s) {
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const char* p = s.data();
  const size_t n = s.size();
  if (n >= 8) {
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::memcpy(&w, p + i, 8);
      acc |= w;
    }
    std::memcpy(&w, p + n - 8, 8);  // the last eight bytes (overlapping ones already seen)
    return ((acc | w) & kHigh) == 0;
  }
  uint32_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
  return acc < 0x80;
}

// Well-formed UTF-8 (RFC 3629: shortest forms only, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Appends `s` with every byte that is not part of a well-formed sequence replaced by U+FFFD (the
// WHATWG decoder's "maximal subpart" rule: one replacement per maximal ill-formed subsequence).
void append_utf8_sanitized(std::string& out, std::string_view s);

// `s` itself when it is valid UTF-8; otherwise its sanitized copy, written into `scratch`.
inline std::string_view valid_utf8_or_sanitized(std::string_view s, std::string& scratch) {
  if (is_ascii(s) || is_valid_utf8(s)) [[likely]] return s;
  scratch.clear();
  append_utf8_sanitized(scratch, s);
  return scratch;
}

}  // namespace portico::core
