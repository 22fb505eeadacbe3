// Character classes and comparisons of RFC 9110 §5.6 used by the HTTP/1 codec and by anything
// that validates header names/values taken from configuration.
//
// Contract: pure functions over bytes; no allocation, no state, callable from any thread.
// "Case-insensitive" always means ASCII folding only (A-Z vs a-z), never locale-dependent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
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
