// Character classes and comparisons of RFC 9110 §5.6 used by the HTTP/1 codec and by anything
// that validates header names/values taken from configuration.
//
// Contract: pure functions over bytes; no allocation, no state, callable from any thread.
// "Case-insensitive" always means ASCII folding only (A-Z vs a-z), never locale-dependent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace portico::codec::http1 {

namespace detail {

// One byte of flags per input byte, so every hot-path scan is a single table load per byte.
enum CharClass : uint8_t {
  kTokenChar = 1 << 0,       // tchar
  kFieldChar = 1 << 1,       // field-vchar, obs-text, SP, HTAB: what may appear inside a value
  kVisibleAscii = 1 << 2,    // %x21-7E: what a request-target may contain
  kHexDigit = 1 << 3,        // chunk-size digits
  kRegNameChar = 1 << 4,     // unreserved / sub-delims / '%' (pct-encoded checked separately)
  kQuotedTextChar = 1 << 5,  // qdtext: HTAB, SP, %x21, %x23-5B, %x5D-7E, obs-text
};

constexpr bool in_set(unsigned char c, std::string_view set) {
  for (char s : set) {
    if (static_cast<unsigned char>(s) == c) return true;
  }
  return false;
}

constexpr std::array<uint8_t, 256> make_char_classes() {
  std::array<uint8_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    const auto c = static_cast<unsigned char>(i);
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    uint8_t flags = 0;
    if (alpha || digit || in_set(c, "!#$%&'*+-.^_`|~")) flags |= kTokenChar;
    if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' || c == '\t') flags |= kFieldChar;
    if (c >= 0x21 && c <= 0x7e) flags |= kVisibleAscii;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) flags |= kHexDigit;
    if (alpha || digit || in_set(c, "-._~!$&'()*+,;=%")) flags |= kRegNameChar;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) ||
        c >= 0x80) {
      flags |= kQuotedTextChar;
    }
    table[i] = flags;
  }
  return table;
}

inline constexpr std::array<uint8_t, 256> kCharClasses = make_char_classes();

inline bool has_class(char c, uint8_t mask) {
  return (kCharClasses[static_cast<unsigned char>(c)] & mask) != 0;
}

}  // namespace detail

inline bool is_token_char(char c) { return detail::has_class(c, detail::kTokenChar); }
inline bool is_field_char(char c) { return detail::has_class(c, detail::kFieldChar); }
inline bool is_visible_ascii(char c) { return detail::has_class(c, detail::kVisibleAscii); }
inline bool is_hex_digit(char c) { return detail::has_class(c, detail::kHexDigit); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

namespace detail {

// Word-at-a-time helpers (exact for "does any byte qualify"; the caller then finds which byte
// with the table). Bytes only ever come from memcpy, so alignment and endianness don't matter.
inline constexpr uint64_t kOnes = 0x0101010101010101ull;
inline constexpr uint64_t kHighBits = 0x8080808080808080ull;
inline uint64_t any_byte_below(uint64_t w, uint8_t n) { return (w - kOnes * n) & ~w & kHighBits; }
inline uint64_t any_byte_equal(uint64_t w, uint8_t n) {
  const uint64_t x = w ^ (kOnes * n);
  return (x - kOnes) & ~x & kHighBits;
}
inline uint64_t any_byte_above_7e(uint64_t w) { return ((w + kOnes) | w) & kHighBits; }
inline uint64_t load_word(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

}  // namespace detail

// Index of the first byte in p[i, end) that is not a field char (end when there is none).
// Values are most of a head's bytes, so this checks eight at a time: a word without bytes
// below 0x20 or equal to DEL is all field chars (HTAB, the one allowed CTL, takes the slow path).
inline size_t skip_field_chars(const char* p, size_t i, size_t end) {
  while (end - i >= 8) {
    const uint64_t w = detail::load_word(p + i);
    if ((detail::any_byte_below(w, 0x20) | detail::any_byte_equal(w, 0x7f)) == 0) {
      i += 8;
      continue;
    }
    for (const size_t stop = i + 8; i < stop; ++i) {
      if (!is_field_char(p[i])) return i;
    }
  }
  while (i < end && is_field_char(p[i])) ++i;
  return i;
}

// Index of the first byte in p[i, end) outside %x21-7E (request-target bytes).
inline size_t skip_visible_ascii(const char* p, size_t i, size_t end) {
  while (end - i >= 8) {
    const uint64_t w = detail::load_word(p + i);
    if ((detail::any_byte_below(w, 0x21) | detail::any_byte_above_7e(w)) == 0) {
      i += 8;
      continue;
    }
    for (const size_t stop = i + 8; i < stop; ++i) {
      if (!is_visible_ascii(p[i])) return i;
    }
  }
  while (i < end && is_visible_ascii(p[i])) ++i;
  return i;
}

// token = 1*tchar.
bool is_token(std::string_view s);

// field-value = *field-content: no CTL except HTAB, and no leading or trailing SP/HTAB (a parsed
// value never has them, so a configured one must not either). The empty value is valid.
bool is_field_value(std::string_view s);

inline char to_lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

// Faster variant for the few header names the codec must recognise: `lower` must be an all
// lower-case literal made of letters and '-', `s` a token. OR-ing 0x20 folds letters and leaves
// '-' alone; no other tchar folds onto a letter or '-', so the shortcut is exact for tokens.
inline bool iequals_lower_token(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) | 0x20) != static_cast<unsigned char>(lower[i])) return false;
  }
  return true;
}

}  // namespace portico::codec::http1
