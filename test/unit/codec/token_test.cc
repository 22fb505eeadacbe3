#include "codec/http1/token.h"

#include <gtest/gtest.h>

#include "codec/http1/message.h"

namespace portico::codec::http1 {
namespace {

TEST(Token, TokenChars) {
  EXPECT_TRUE(is_token("Content-Type"));
  EXPECT_TRUE(is_token("!#$%&'*+-.^_`|~09azAZ"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_FALSE(is_token("a:b"));
  EXPECT_FALSE(is_token("a\"b"));
  EXPECT_FALSE(is_token("(a)"));
  EXPECT_FALSE(is_token("caf\xc3\xa9"));
}

TEST(Token, FieldValues) {
  EXPECT_TRUE(is_field_value(""));
  EXPECT_TRUE(is_field_value("text/html; charset=utf-8"));
  EXPECT_TRUE(is_field_value("a\tb"));
  EXPECT_TRUE(is_field_value("caf\xc3\xa9"));
  EXPECT_FALSE(is_field_value(" leading"));
  EXPECT_FALSE(is_field_value("trailing\t"));
  EXPECT_FALSE(is_field_value("a\r\nInjected: 1"));
  EXPECT_FALSE(is_field_value(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_field_value("a\x7f"));
}

TEST(Token, CaseInsensitiveEquality) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Content-Length", "content-lengt"));
  EXPECT_FALSE(iequals("a", "\xc1"));  // no folding outside ASCII
  EXPECT_TRUE(iequals_lower_token("TRANSFER-ENCODING", "transfer-encoding"));
  EXPECT_FALSE(iequals_lower_token("transfer~encoding", "transfer-encoding"));
}

TEST(ParseError, EveryErrorHasDescriptionAndStatus) {
  for (int i = 1; i <= static_cast<int>(ParseError::kTrailersTooLarge); ++i) {
    const auto e = static_cast<ParseError>(i);
    EXPECT_NE(describe(e), "unknown error") << i;
    const int s = status_for(e);
    EXPECT_TRUE(s == 400 || s == 414 || s == 431 || s == 505 || s == 502) << i;
  }
  EXPECT_EQ(describe(ParseError::kContentLengthAndTransferEncoding), "both Content-Length and Transfer-Encoding");
}

}  // namespace
}  // namespace portico::codec::http1
