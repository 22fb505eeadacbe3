#include "net/resolv_conf.h"

#include <gtest/gtest.h>

namespace portico::net {
namespace {

TEST(ResolvConfTest, ParsesNameserversAndOptions) {
  ResolvConf c = ResolvConf::parse(
      "# generated\n"
      "search example.com\n"
      "nameserver 10.0.0.2\n"
      "nameserver   2001:db8::53 ; comment\n"
      "nameserver bogus\n"
      "options ndots:2 timeout:3 attempts:4 rotate\n");
  ASSERT_EQ(c.nameservers().size(), 2u);
  EXPECT_EQ(c.nameservers()[0].to_string(), "10.0.0.2");
  EXPECT_EQ(c.nameservers()[1].to_string(), "2001:db8::53");
  EXPECT_EQ(c.timeout(), std::chrono::seconds(3));
  EXPECT_EQ(c.attempts(), 4);
}

TEST(ResolvConfTest, DefaultsAndLimitsFollowTheCLibrary) {
  ResolvConf empty = ResolvConf::parse("");
  ASSERT_EQ(empty.nameservers().size(), 1u);
  EXPECT_EQ(empty.nameservers()[0].to_string(), "127.0.0.1");
  EXPECT_EQ(empty.timeout(), std::chrono::seconds(5));
  EXPECT_EQ(empty.attempts(), 2);

  ResolvConf many = ResolvConf::parse(
      "nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n"
      "options timeout:99 attempts:50\noptions timeout:x attempts:\n");
  EXPECT_EQ(many.nameservers().size(), ResolvConf::kMaxNameservers);
  EXPECT_EQ(many.timeout(), std::chrono::seconds(30));
  EXPECT_EQ(many.attempts(), 5);

  ResolvConf zero = ResolvConf::parse("options timeout:0 attempts:0\n");
  EXPECT_EQ(zero.timeout(), std::chrono::seconds(1));
  EXPECT_EQ(zero.attempts(), 1);
}

TEST(ResolvConfTest, MissingFileIsNullopt) {
  EXPECT_FALSE(ResolvConf::load("/nonexistent/resolv.conf").has_value());
}

}  // namespace
}  // namespace portico::net
