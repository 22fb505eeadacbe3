#include "core/utf8.h"

namespace portico::core {
namespace {

// Length of the well-formed sequence at s[i], or 0 when the bytes there are ill-formed; `bad`
// is then how many bytes form the maximal ill-formed subpart to replace (at least 1).
size_t sequence_at(std::string_view s, size_t i, size_t& bad) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  bad = 1;
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // no overlong forms
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0, C1 or F5..FF: never a lead byte
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) return 0;
    const unsigned char x = b(i + k);
    const unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (x < min || x > max) return 0;
    bad = k + 1;
  }
  return len;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t bad;
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequence_at(s, i, bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_utf8_sanitized(std::string& out, std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  size_t bad;
  size_t run = 0;  // start of the well-formed run not yet appended
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequence_at(s, i, bad);
    if (n != 0) {
      i += n;
      continue;
    }
    out.append(s.data() + run, i - run);
    out += kReplacement;
    i += bad;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
}

}  // namespace portico::core
