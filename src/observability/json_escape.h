// JSON string escaping shared by the access log, log plugins and OTLP/JSON: control bytes and DEL
// become \u00XX, '"' and '\' get a backslash; every other byte, UTF-8 included, is copied.
//
// Contract: pure, any thread. put_escaped writes at `p`, which must have escaped_max(n) bytes of
// room, and returns the new end; nothing is read outside the value.
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace portico::observability::json {

// JSON escaping makes a byte at most six; the 16-byte copies may write up to 16 bytes past the end.
constexpr size_t escaped_max(size_t n) { return n * 6 + 16; }

// Bytes that go into a JSON string as they are: printable ASCII but '"' and '\\', and UTF-8.
inline constexpr auto kJsonPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
  return t;
}();

// Escapes `n` bytes from `in` byte by byte (the slow path: the first byte most likely needs it).
[[gnu::noinline]] inline char* escape_bytes(char* p, const char* in, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char* const stop = in + n; in < stop; ++in) {
    const auto u = static_cast<unsigned char>(*in);
    if (kJsonPlain[u]) {
      *p++ = *in;
    } else if (u == '"' || u == '\\') {
      *p++ = '\\';
      *p++ = *in;
    } else {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
      std::memcpy(p, esc, 6);
      p += 6;
    }
  }
  return p;
}

#if defined(__SSE2__)
// One bit per byte of `v` that needs a JSON escape: control bytes, DEL, '"' and '\\'.
inline unsigned needs_escape(__m128i v) {
  const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);  // unsigned v <= 0x1f
  const __m128i special = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)), control));
  return static_cast<unsigned>(_mm_movemask_epi8(special));
}
#endif

// JSON string contents (no quotes). Values are copied 16 bytes at a time and checked as they go;
// the first byte that needs an escape hands the rest to the byte loop. A value shorter than 16
// bytes is first copied into a 16-byte block, so nothing is ever read past a value's end.
inline char* put_escaped(char* p, std::string_view s) {
  const size_t n = s.size();
  const char* in = s.data();
#if defined(__SSE2__)
  if (n < 16) {
    if (n == 0) return p;
    char block[16] = {};
    __builtin_memcpy(block, in, n);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block));
    const unsigned mask = needs_escape(v) & ((1u << n) - 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
    if (mask == 0) [[likely]] return p + n;
    const unsigned at = static_cast<unsigned>(__builtin_ctz(mask));
    return escape_bytes(p + at, in + at, n - at);
  }
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), v);
    if (const unsigned mask = needs_escape(v); mask != 0) {
      const size_t at = i + static_cast<size_t>(__builtin_ctz(mask));
      return escape_bytes(p + at, in + at, n - at);
    }
  }
  if (i < n) {
    // The last 16 bytes of the value, overlapping bytes already checked (and copied the same).
    const size_t skip = 16 - (n - i);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + n - 16));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + n - 16), v);
    if (const unsigned mask = needs_escape(v) >> skip; mask != 0) {
      const size_t at = i + static_cast<size_t>(__builtin_ctz(mask));
      return escape_bytes(p + at, in + at, n - at);
    }
  }
  return p + n;
#else
  return escape_bytes(p, in, n);
#endif
}

}  // namespace portico::observability::json
