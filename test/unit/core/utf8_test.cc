// UTF-8 checks: ASCII fast check at every length, RFC 3629 validity (overlongs, surrogates, above
// U+10FFFF, cut sequences) and replacement with U+FFFD per maximal ill-formed subsequence.
#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::core {
namespace {

std::string sanitized(std::string_view s) {
  std::string out;
  append_utf8_sanitized(out, s);
  return out;
}

TEST(Utf8, AsciiCheckSeesAHighByteAtEveryPositionAndLength) {
  for (size_t n = 0; n <= 40; ++n) {
    std::string s(n, 'a');
    EXPECT_TRUE(is_ascii(s)) << n;
    for (size_t at = 0; at < n; ++at) {
      std::string t = s;
      t[at] = '\x80';
      EXPECT_FALSE(is_ascii(t)) << n << " " << at;
    }
  }
}

TEST(Utf8, ValidText) {
  for (std::string_view s : {"", "plain", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBF\xBF",
                             "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF", "\xEE\x80\x80"}) {
    EXPECT_TRUE(is_valid_utf8(s)) << s;
    EXPECT_EQ(sanitized(s), s);
    std::string scratch;
    EXPECT_EQ(valid_utf8_or_sanitized(s, scratch).data(), s.data()) << "valid text is not copied";
  }
}

TEST(Utf8, IllFormedSequencesAreReplacedOncePerMaximalSubpart) {
  struct Case {
    std::string_view in, out;
  };
  for (const Case& c : {
           Case{"\xE9", "\uFFFD"},                        // Latin-1
           Case{"a\x80z", "a\uFFFDz"},                    // lone continuation
           Case{"\xC0\xAF", "\uFFFD\uFFFD"},              // overlong '/': C0 is never a lead
           Case{"\xE0\x80\x80", "\uFFFD\uFFFD\uFFFD"},    // overlong 3-byte
           Case{"\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"},    // surrogate D800
           Case{"\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},  // above U+10FFFF
           Case{"\xF5\x80", "\uFFFD\uFFFD"},
           Case{"\xE2\x82", "\uFFFD"},                    // cut at the end: one replacement
           Case{"\xE2\x82z", "\uFFFDz"},
           Case{"\xF0\x9F\x98", "\uFFFD"},
           Case{"\xFF\xFE", "\uFFFD\uFFFD"},
       }) {
    EXPECT_FALSE(is_valid_utf8(c.in)) << c.in;
    EXPECT_EQ(sanitized(c.in), c.out) << c.in;
    EXPECT_TRUE(is_valid_utf8(sanitized(c.in)));
    std::string scratch;
    EXPECT_EQ(valid_utf8_or_sanitized(c.in, scratch), c.out);
  }
}

}  // namespace
}  // namespace portico::core
