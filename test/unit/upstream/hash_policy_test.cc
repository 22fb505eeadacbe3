#include "upstream/hash_policy.h"

#include <gtest/gtest.h>

#include <vector>

namespace portico::upstream {
namespace {

const std::vector<HeaderField> kHeaders = {
    {"Host", "example.com"},
    {"X-User", " alice "},
    {"x-tenant", "t1"},
    {"X-Tenant", "t2"},
    {"Cookie", "theme=dark; session=abc123; quoted=\"q v\""},
    {"cookie", "second=2"},
    {"X-Empty", ""},
};
const std::vector<HeaderField> kCaptures = {{"version", "v2"}, {"id", "42"}};

RequestFacts facts(std::string_view consumer = "consumer-7") {
  return RequestFacts{.client_ip = "203.0.113.9",
                      .path = "/orders/42",
                      .query = "a=1&user=bob&a=2&flag&empty=",
                      .consumer_id = consumer,
                      .headers = kHeaders,
                      .uri_captures = kCaptures};
}

struct Case {
  const char* name;
  HashPolicy policy;
  std::string expected;
};

HashPolicy on(HashOn primary, HashOn fallback = HashOn::kNone) {
  HashPolicy p;
  p.hash_on = primary;
  p.hash_fallback = fallback;
  return p;
}

HashPolicy with(HashPolicy p, void (*edit)(HashPolicy&)) {
  edit(p);
  return p;
}

class SelectKey : public ::testing::TestWithParam<Case> {};

TEST_P(SelectKey, Table) {
  std::string scratch;
  EXPECT_EQ(select_hash_key(GetParam().policy, facts(), scratch), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    HashPolicy, SelectKey,
    ::testing::Values(
        Case{"None", on(HashOn::kNone, HashOn::kIp), ""},
        Case{"Ip", on(HashOn::kIp), "203.0.113.9"},
        Case{"Consumer", on(HashOn::kConsumer), "consumer-7"},
        Case{"Path", on(HashOn::kPath), "/orders/42"},
        Case{"HeaderCaseInsensitiveTrimmed",
             with(on(HashOn::kHeader), [](HashPolicy& p) { p.hash_on_header = "x-user"; }),
             "alice"},
        Case{"HeaderRepeatedJoined",
             with(on(HashOn::kHeader), [](HashPolicy& p) { p.hash_on_header = "X-TENANT"; }),
             "t1,t2"},
        Case{"HeaderMissingFallsBackToIp",
             with(on(HashOn::kHeader, HashOn::kIp),
                  [](HashPolicy& p) { p.hash_on_header = "x-missing"; }),
             "203.0.113.9"},
        Case{"HeaderEmptyFallsBack",
             with(on(HashOn::kHeader, HashOn::kPath),
                  [](HashPolicy& p) { p.hash_on_header = "x-empty"; }),
             "/orders/42"},
        Case{"FallbackHeaderUsesFallbackName",
             with(on(HashOn::kHeader, HashOn::kHeader),
                  [](HashPolicy& p) {
                    p.hash_on_header = "x-missing";
                    p.hash_fallback_header = "x-user";
                  }),
             "alice"},
        Case{"FallbackNoneGivesNoKey",
             with(on(HashOn::kHeader), [](HashPolicy& p) { p.hash_on_header = "x-missing"; }),
             ""},
        Case{"Cookie", with(on(HashOn::kCookie), [](HashPolicy& p) { p.hash_on_cookie = "session"; }),
             "abc123"},
        Case{"CookieQuoted",
             with(on(HashOn::kCookie), [](HashPolicy& p) { p.hash_on_cookie = "quoted"; }), "q v"},
        Case{"CookieInSecondHeader",
             with(on(HashOn::kCookie), [](HashPolicy& p) { p.hash_on_cookie = "second"; }), "2"},
        Case{"CookieNamesAreCaseSensitive",
             with(on(HashOn::kCookie), [](HashPolicy& p) { p.hash_on_cookie = "Session"; }), ""},
        Case{"QueryArg",
             with(on(HashOn::kQueryArg), [](HashPolicy& p) { p.hash_on_query_arg = "user"; }),
             "bob"},
        Case{"QueryArgRepeatedJoined",
             with(on(HashOn::kQueryArg), [](HashPolicy& p) { p.hash_on_query_arg = "a"; }),
             "1,2"},
        Case{"QueryArgWithoutValueFallsBack",
             with(on(HashOn::kQueryArg, HashOn::kQueryArg),
                  [](HashPolicy& p) {
                    p.hash_on_query_arg = "flag";
                    p.hash_fallback_query_arg = "user";
                  }),
             "bob"},
        Case{"UriCapture",
             with(on(HashOn::kUriCapture), [](HashPolicy& p) { p.hash_on_uri_capture = "id"; }),
             "42"},
        Case{"UriCaptureMissingFallsBack",
             with(on(HashOn::kUriCapture, HashOn::kUriCapture),
                  [](HashPolicy& p) {
                    p.hash_on_uri_capture = "nope";
                    p.hash_fallback_uri_capture = "version";
                  }),
             "v2"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(HashPolicy, ConsumerMissingFallsBack) {
  std::string scratch;
  EXPECT_EQ(select_hash_key(on(HashOn::kConsumer, HashOn::kIp), facts(""), scratch),
            "203.0.113.9");
  EXPECT_EQ(select_hash_key(on(HashOn::kConsumer), facts(""), scratch), "");
}

TEST(HashPolicy, ConsumerPresentWinsOverItsFallback) {
  std::string scratch;
  HashPolicy p = on(HashOn::kConsumer, HashOn::kHeader);
  p.hash_fallback_header = "x-user";
  EXPECT_EQ(select_hash_key(p, facts("c-1"), scratch), "c-1");
  EXPECT_EQ(select_hash_key(p, facts(""), scratch), "alice") << "anonymous: the header decides";
}

TEST(HashPolicy, ConsumerAsFallback) {
  std::string scratch;
  HashPolicy p = on(HashOn::kHeader, HashOn::kConsumer);
  p.hash_on_header = "x-missing";
  EXPECT_EQ(select_hash_key(p, facts("c-2"), scratch), "c-2");
  EXPECT_EQ(select_hash_key(p, facts(""), scratch), "");
}

TEST(HashPolicy, MintsCookieOnlyWhenCookieIsASource) {
  EXPECT_TRUE(mints_cookie(on(HashOn::kCookie)));
  EXPECT_TRUE(mints_cookie(on(HashOn::kConsumer, HashOn::kCookie)));
  EXPECT_FALSE(mints_cookie(on(HashOn::kHeader, HashOn::kIp)));
  EXPECT_FALSE(mints_cookie(on(HashOn::kNone)));
}

TEST(HashPolicy, CookieAbsentGivesNoKeySoTheCallerMints) {
  std::string scratch;
  HashPolicy p = on(HashOn::kCookie);
  p.hash_on_cookie = "lb";
  EXPECT_EQ(select_hash_key(p, facts(), scratch), "");
  EXPECT_TRUE(mints_cookie(p));
  const std::vector<HeaderField> with_cookie = {{"Cookie", "theme=dark; lb=5f0c"}};
  RequestFacts f = facts();
  f.headers = with_cookie;
  EXPECT_EQ(select_hash_key(p, f, scratch), "5f0c");
}

TEST(HashPolicy, CookieAsFallbackReadsHashOnCookie) {
  std::string scratch;
  HashPolicy p = on(HashOn::kConsumer, HashOn::kCookie);
  p.hash_on_cookie = "session";
  EXPECT_EQ(select_hash_key(p, facts("c-3"), scratch), "c-3");
  EXPECT_EQ(select_hash_key(p, facts(""), scratch), "abc123");
  p.hash_on_cookie = "absent";
  EXPECT_EQ(select_hash_key(p, facts(""), scratch), "") << "no consumer, no cookie: mint";
}

TEST(HashPolicy, FormatSetCookie) {
  HashPolicy p = on(HashOn::kCookie);
  p.hash_on_cookie = "lb";
  std::string out = "stale";
  format_set_cookie(p, "0b6e6d5e-1c1a-4c57-9d8e-0f3c7d1a2b4c", out);
  EXPECT_EQ(out, "lb=0b6e6d5e-1c1a-4c57-9d8e-0f3c7d1a2b4c; Path=/; SameSite=Lax; HttpOnly");
  p.hash_on_cookie_path = "/shop";
  format_set_cookie(p, "v", out);
  EXPECT_EQ(out, "lb=v; Path=/shop; SameSite=Lax; HttpOnly");
}

TEST(HashPolicy, SingleValueNeedsNoScratch) {
  std::string scratch;
  HashPolicy p = on(HashOn::kHeader);
  p.hash_on_header = "x-user";
  select_hash_key(p, facts(), scratch);
  EXPECT_TRUE(scratch.empty());
}

TEST(HashPolicy, ParseHashOn) {
  EXPECT_EQ(parse_hash_on("none"), HashOn::kNone);
  EXPECT_EQ(parse_hash_on("consumer"), HashOn::kConsumer);
  EXPECT_EQ(parse_hash_on("ip"), HashOn::kIp);
  EXPECT_EQ(parse_hash_on("header"), HashOn::kHeader);
  EXPECT_EQ(parse_hash_on("cookie"), HashOn::kCookie);
  EXPECT_EQ(parse_hash_on("path"), HashOn::kPath);
  EXPECT_EQ(parse_hash_on("query_arg"), HashOn::kQueryArg);
  EXPECT_EQ(parse_hash_on("uri_capture"), HashOn::kUriCapture);
  EXPECT_EQ(parse_hash_on("Header"), std::nullopt);
  EXPECT_EQ(parse_hash_on("query-arg"), std::nullopt);
}

struct CookieCase {
  const char* header;
  const char* name;
  const char* expected;
};

TEST(HashPolicy, FindCookie) {
  const CookieCase cases[] = {
      {"a=1", "a", "1"},
      {"a=1; b=2", "b", "2"},
      {"a=1;b=2", "b", "2"},
      {"  a = 1 ;  b =  2  ", "b", "2"},
      {"ab=1; b=2", "b", "2"},   // no prefix confusion
      {"b=; c=3", "b", ""},      // present but empty: no key
      {"a=x=y", "a", "x=y"},     // value may contain '='
      {"junk; a=1", "a", "1"},   // a malformed pair is skipped
      {"a=\"\"", "a", ""},
      {"a=\"", "a", "\""},       // a lone quote is kept
      {"", "a", ""},
      {"a=1; a=2", "a", "1"},    // first occurrence wins
  };
  for (const auto& c : cases) {
    EXPECT_EQ(find_cookie(c.header, c.name), c.expected) << c.header << " / " << c.name;
  }
}

}  // namespace
}  // namespace portico::upstream
