#include "auth/base64url.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::auth {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    const std::string enc = base64url_encode(bytes);
    EXPECT_EQ(enc.find('='), std::string::npos);
    const auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec.has_value()) << i;
    EXPECT_EQ(*dec, bytes);
    bytes.push_back(static_cast<char>(i * 37 + 11));
  }
}

TEST(Base64Url, KnownVectors) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(*base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64url_encode("{\"alg\":\"HS256\"}"), "eyJhbGciOiJIUzI1NiJ9");
  EXPECT_EQ(*base64url_decode(""), "");
}

TEST(Base64Url, RejectsPadding) {
  EXPECT_FALSE(base64url_decode("QQ=="));
  EXPECT_FALSE(base64url_decode("QUI="));
  EXPECT_FALSE(base64url_decode("QQ="));
  EXPECT_FALSE(base64url_decode("===="));
}

TEST(Base64Url, RejectsStandardAlphabetAndJunk) {
  EXPECT_FALSE(base64url_decode("+_8"));
  EXPECT_FALSE(base64url_decode("-/8"));
  EXPECT_FALSE(base64url_decode("QU I"));
  EXPECT_FALSE(base64url_decode("QUI\n"));
  EXPECT_FALSE(base64url_decode(std::string("QU\0I", 4)));
  EXPECT_FALSE(base64url_decode("QUI."));
  EXPECT_FALSE(base64url_decode("\xc3\xa9QQ"));
}

TEST(Base64Url, RejectsImpossibleLength) {
  EXPECT_FALSE(base64url_decode("Q"));
  EXPECT_FALSE(base64url_decode("QUJDR"));
}

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
  EXPECT_TRUE(base64url_decode("QQ"));   // "A"
  EXPECT_FALSE(base64url_decode("QR"));  // same byte, stray low bits
  EXPECT_FALSE(base64url_decode("QX"));
  EXPECT_TRUE(base64url_decode("QUI"));  // "AB"
  EXPECT_FALSE(base64url_decode("QUJ"));
  EXPECT_FALSE(base64url_decode("QUL"));
}

TEST(Base64Standard, AcceptsPaddedAndUnpadded) {
  EXPECT_EQ(*base64_decode("c2VjcmV0"), "secret");
  EXPECT_EQ(*base64_decode("c2VjcmV0cw=="), "secrets");
  EXPECT_EQ(*base64_decode("c2VjcmV0cw"), "secrets");
  EXPECT_EQ(*base64_decode("+/8="), "\xfb\xff");
  EXPECT_FALSE(base64_decode("c2VjcmV0cw="));   // padding that does not complete the quantum
  EXPECT_FALSE(base64_decode("c2VjcmV0cx=="));  // stray bits
  EXPECT_FALSE(base64_decode("-_8="));          // url alphabet
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("c2Vj cmV0"));
}

}  // namespace
}  // namespace portico::auth
