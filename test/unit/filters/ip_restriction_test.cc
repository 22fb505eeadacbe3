#include "filters/ip_restriction/ip_restriction_filter.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "auth_test_support.h"
#include "test_support.h"

namespace portico::filters {
namespace {

using testing::fill_request;
using testing::load_plugin;
using testing::run_request;

TEST(IpMatcher, V4AndV6Prefixes) {
  IpMatcher m;
  EXPECT_EQ(m.add("10.0.0.0/8"), "");
  EXPECT_EQ(m.add("192.168.1.7"), "");
  EXPECT_EQ(m.add("2001:db8::/32"), "");
  EXPECT_EQ(m.add("::1"), "");
  EXPECT_EQ(m.add("fe80::/10"), "");
  EXPECT_TRUE(m.matches("10.1.2.3"));
  EXPECT_FALSE(m.matches("11.0.0.1"));
  EXPECT_TRUE(m.matches("192.168.1.7"));
  EXPECT_FALSE(m.matches("192.168.1.8"));
  EXPECT_TRUE(m.matches("2001:db8:1::5"));
  EXPECT_FALSE(m.matches("2001:db9::1"));
  EXPECT_TRUE(m.matches("::1"));
  EXPECT_TRUE(m.matches("febf::1"));
  EXPECT_FALSE(m.matches("fec0::1"));
  EXPECT_TRUE(m.matches("::ffff:10.9.9.9"));  // IPv4-mapped
  EXPECT_FALSE(m.matches("not-an-ip"));
  EXPECT_FALSE(m.matches(""));
  IpMatcher all;
  EXPECT_EQ(all.add("0.0.0.0/0"), "");
  EXPECT_TRUE(all.matches("8.8.8.8"));
  EXPECT_FALSE(all.matches("::2"));
}

TEST(IpRestrictionConfig, Errors) {
  auto bad = load_plugin(R"(plugins:
- name: ip-restriction
  config:
    allow: [10.0.0.0/33, 1.2.3, "::1/129", 10.0.0.1/x, example.com]
    status: 99
)");
  EXPECT_FALSE(bad.filter);
  EXPECT_EQ(bad.error_text(),
            "kong.yaml:4:13: plugins[0].config.allow[0]: invalid ip or cidr range: '10.0.0.0/33' "
            "(prefix over 32)\n"
            "kong.yaml:4:26: plugins[0].config.allow[1]: invalid ip or cidr range: '1.2.3'\n"
            "kong.yaml:4:33: plugins[0].config.allow[2]: invalid ip or cidr range: '::1/129' "
            "(prefix over 128)\n"
            "kong.yaml:4:44: plugins[0].config.allow[3]: invalid ip or cidr range: '10.0.0.1/x'\n"
            "kong.yaml:4:56: plugins[0].config.allow[4]: invalid ip or cidr range: 'example.com'\n"
            "kong.yaml:5:13: plugins[0].config.status: value 99 is out of range (100..599)");
  EXPECT_EQ(load_plugin("plugins:\n- name: ip-restriction\n  config: {message: x}\n").error_text(),
            "kong.yaml:3:11: plugins[0].config: at least one of these fields must be non-empty: "
            "'config.allow', 'config.deny'");
}

struct IpRestrictionTest : ::testing::Test {
  boost::asio::io_context io;
  filter::Verdict from(const filter::Filter& f, std::string_view ip, filter::Exchange& x) {
    fill_request(x);
    x.request.client_ip = ip;
    return run_request(f, x);
  }
};

TEST_F(IpRestrictionTest, DenyThenAllow) {
  auto f = load_plugin(R"(plugins:
- name: ip-restriction
  config:
    allow: [127.0.0.0/8, "::1"]
    deny: [127.0.0.2]
)").filter;
  ASSERT_TRUE(f);
  {
    filter::Exchange x{io.get_executor()};
    EXPECT_TRUE(from(*f, "127.0.0.1", x).proceeds());
  }
  {
    filter::Exchange x{io.get_executor()};
    EXPECT_TRUE(from(*f, "::1", x).proceeds());
  }
  {
    filter::Exchange x{io.get_executor()};
    EXPECT_FALSE(from(*f, "127.0.0.2", x).proceeds());
    EXPECT_EQ(x.reply.status, 403);
    EXPECT_EQ(x.reply.body, R"({"message":"Your IP address is not allowed"})");
  }
  {
    filter::Exchange x{io.get_executor()};
    EXPECT_FALSE(from(*f, "10.0.0.1", x).proceeds());
  }
}

TEST_F(IpRestrictionTest, CustomStatusAndMessage) {
  auto f = load_plugin(R"(plugins:
- name: ip-restriction
  config: {deny: ["::/0"], status: 401, message: go away}
)").filter;
  ASSERT_TRUE(f);
  filter::Exchange x{io.get_executor()};
  EXPECT_FALSE(from(*f, "2001:db8::1", x).proceeds());
  EXPECT_EQ(x.reply.status, 401);
  EXPECT_EQ(x.reply.body, R"({"message":"go away"})");
  filter::Exchange y{io.get_executor()};
  EXPECT_TRUE(from(*f, "192.0.2.1", y).proceeds());
}

}  // namespace
}  // namespace portico::filters
