#include "auth/cache_control.h"

#include <gtest/gtest.h>

namespace portico::auth {
namespace {

using std::chrono::seconds;

TEST(CacheControl, MaxAge) {
  const CacheControl cc = parse_cache_control("public, max-age=300");
  EXPECT_EQ(cc.max_age, seconds(300));
  EXPECT_FALSE(cc.s_maxage);
  EXPECT_FALSE(cc.no_cache);
  EXPECT_EQ(freshness_lifetime(cc), seconds(300));
}

TEST(CacheControl, CaseQuotesAndWhitespace) {
  EXPECT_EQ(parse_cache_control("MAX-AGE=60").max_age, seconds(60));
  EXPECT_EQ(parse_cache_control("max-age=\"60\"").max_age, seconds(60));
  EXPECT_EQ(parse_cache_control(" ,, max-age=60 ,").max_age, seconds(60));
  EXPECT_EQ(parse_cache_control("private=\"a, max-age=1\", max-age=60").max_age, seconds(60));
}

TEST(CacheControl, SharedMaxAgeWins) {
  const CacheControl cc = parse_cache_control("max-age=60, s-maxage=600");
  EXPECT_EQ(cc.s_maxage, seconds(600));
  EXPECT_EQ(freshness_lifetime(cc), seconds(600));
}

TEST(CacheControl, NoCacheAndNoStoreMeanZero) {
  EXPECT_EQ(freshness_lifetime(parse_cache_control("no-cache, max-age=60")), seconds(0));
  EXPECT_EQ(freshness_lifetime(parse_cache_control("max-age=60, no-store")), seconds(0));
  EXPECT_TRUE(parse_cache_control("no-cache=\"Set-Cookie\"").no_cache);
}

TEST(CacheControl, InvalidOrRepeatedIsStale) {
  EXPECT_EQ(parse_cache_control("max-age=abc").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age=").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age=-1").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age=60, max-age=600").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age=60 junk").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age=\"60").max_age, seconds(0));
}

TEST(CacheControl, HugeValuesSaturate) {
  EXPECT_EQ(parse_cache_control("max-age=99999999999999999999999").max_age, seconds(int64_t{1} << 31));
}

TEST(CacheControl, AbsentMeansCallerDefault) {
  EXPECT_FALSE(freshness_lifetime(parse_cache_control("")));
  EXPECT_FALSE(freshness_lifetime(parse_cache_control("public, must-revalidate")));
  EXPECT_FALSE(parse_cache_control("max-agex=5").max_age);
}

}  // namespace
}  // namespace portico::auth
