#include "filters/acl/acl_filter.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "auth_test_support.h"
#include "test_support.h"

namespace portico::filters {
namespace {

using testing::fill_request;
using testing::header;
using testing::load_plugin;
using testing::make_directory;
using testing::run_request;

struct AclTest : ::testing::Test {
  boost::asio::io_context io;
  std::shared_ptr<const filter::ConsumerDirectory> dir = make_directory();
  std::unique_ptr<filter::Exchange> request(const filter::Filter& f, int consumer) {
    auto x = std::make_unique<filter::Exchange>(io.get_executor());
    x->consumers = dir.get();
    fill_request(*x);
    x->request.headers.add("X-Consumer-Groups", "forged");  // the proxy strips it; belt and braces
    if (consumer >= 0) filter::authenticate(*x, *dir, consumer, "", false);
    run_request(f, *x);
    return x;
  }
};

TEST(AclConfig, Errors) {
  EXPECT_EQ(load_plugin("plugins:\n- name: acl\n  config: {hide_groups_header: true}\n").error_text(),
            "kong.yaml:3:11: plugins[0].config: at least one of these fields must be non-empty: "
            "'config.allow', 'config.deny'");
  EXPECT_EQ(load_plugin("plugins:\n- name: acl\n  config:\n    allow: [a]\n    deny: [b]\n").error_text(),
            "kong.yaml:5:11: plugins[0].config.deny: only one of these fields must be non-empty: "
            "'config.allow', 'config.deny'");
  EXPECT_EQ(load_plugin("plugins:\n- name: acl\n  config:\n    allow: [a, \"\"]\n").error_text(),
            "kong.yaml:4:16: plugins[0].config.allow[1]: a group name must not be empty");
  auto ok = load_plugin("plugins:\n- name: acl\n  config: {allow: [admins]}\n");
  ASSERT_TRUE(ok.filter) << ok.error_text();
  EXPECT_EQ(ok.priority, 950);
}

TEST_F(AclTest, AllowList) {
  auto f = load_plugin("plugins:\n- name: acl\n  config: {allow: [ops, users]}\n").filter;
  auto alice = request(*f, 0);
  EXPECT_FALSE(alice->reply.active());
  EXPECT_EQ(header(*alice, "X-Consumer-Groups"), "admins, ops");
  auto anon = request(*f, 2);
  EXPECT_EQ(anon->reply.status, 403);
  EXPECT_EQ(anon->reply.body, R"({"message":"You cannot consume this service"})");
  auto nobody = request(*f, -1);
  EXPECT_EQ(nobody->reply.status, 401);
  EXPECT_EQ(nobody->reply.body, R"({"message":"Unauthorized"})");
}

TEST_F(AclTest, DenyListAndHiddenHeader) {
  auto f = load_plugin(
               "plugins:\n- name: acl\n  config: {deny: [admins], hide_groups_header: true}\n")
               .filter;
  EXPECT_EQ(request(*f, 0)->reply.status, 403);
  auto bob = request(*f, 1);
  EXPECT_FALSE(bob->reply.active());
  EXPECT_EQ(header(*bob, "X-Consumer-Groups"), "<none>");
  EXPECT_FALSE(request(*f, 2)->reply.active());  // no groups: not denied
}

}  // namespace
}  // namespace portico::filters
