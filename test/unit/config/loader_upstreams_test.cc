// Kong `upstreams` with nested `targets`: defaults, Kong's hash-policy rules, target syntax and
// every validation error with its position.
#include <gtest/gtest.h>

#include "test_util.h"

namespace portico::config {
namespace {

using testing::load_errors;
using testing::load_ok;

TEST(LoaderUpstreams, DefaultsAndTargets) {
  Config c = load_ok(R"(
_format_version: "3.0"
upstreams:
  - name: orders.upstream
    targets:
      - target: 10.0.0.1:8080
        weight: 50
      - target: backend.internal
      - target: "[::1]:9000"
)");
  ASSERT_EQ(c.upstreams.size(), 1u);
  const Upstream& u = c.upstreams[0];
  EXPECT_EQ(u.algorithm, "round-robin");
  EXPECT_EQ(u.hash_on, "none");
  EXPECT_EQ(u.slots, 10000u);
  ASSERT_EQ(u.targets.size(), 3u);
  EXPECT_EQ(u.targets[0].host, "10.0.0.1");
  EXPECT_EQ(u.targets[0].port, 8080);
  EXPECT_EQ(u.targets[0].weight, 50u);
  EXPECT_EQ(u.targets[1].port, 8000) << "Kong's default target port";
  EXPECT_EQ(u.targets[1].weight, 100u);
  EXPECT_EQ(u.targets[2].host, "::1");
  EXPECT_EQ(u.targets[2].yaml_path, "upstreams[0].targets[2]");
}

TEST(LoaderUpstreams, HashOnImpliesConsistentHashingWhenNoAlgorithmIsGiven) {
  Config c = load_ok(R"(
_format_version: "3.0"
upstreams:
  - name: sticky
    hash_on: header
    hash_on_header: x-user
    hash_fallback: ip
    slots: 1000
)");
  EXPECT_EQ(c.upstreams[0].algorithm, "consistent-hashing");
  EXPECT_EQ(c.upstreams[0].hash_fallback, "ip");
  EXPECT_EQ(c.upstreams[0].slots, 1000u);
}

TEST(LoaderUpstreams, HashPolicyRules) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
upstreams:
  - name: a
    hash_on: header
  - name: b
    algorithm: least-connections
    hash_on: ip
  - name: c
    hash_fallback: ip
  - name: d
    hash_on: ip
    hash_fallback: ip
  - name: e
    algorithm: latency
)"),
            "kong.yaml:4:14: upstreams[0].hash_on: 'hash_on_header' is required when hash_on is 'header'\n"
            "kong.yaml:7:14: upstreams[1].hash_on: hash_on 'ip' needs algorithm: consistent-hashing (got "
            "'least-connections')\n"
            "kong.yaml:9:20: upstreams[2].hash_fallback: hash_fallback must be 'none' when hash_on is 'none'\n"
            "kong.yaml:12:20: upstreams[3].hash_fallback: hash_fallback must differ from hash_on\n"
            "kong.yaml:14:16: upstreams[4].algorithm: algorithm \"latency\" is not supported yet (supported: "
            "round-robin, consistent-hashing, least-connections, least-request)");
}

TEST(LoaderUpstreams, CookieAndConsumerHashing) {
  Config c = load_ok(R"(
_format_version: "3.0"
upstreams:
  - name: by-cookie
    hash_on: cookie
    hash_on_cookie: lb_id
  - name: by-cookie-path
    algorithm: consistent-hashing
    hash_on: cookie
    hash_on_cookie: lb_id
    hash_on_cookie_path: /shop
  - name: by-consumer
    hash_on: consumer
    hash_fallback: ip
  - name: by-header-then-cookie
    hash_on: header
    hash_on_header: x-user
    hash_fallback: cookie
    hash_on_cookie: lb_id
  - name: by-ip-then-consumer
    hash_on: ip
    hash_fallback: consumer
)");
  ASSERT_EQ(c.upstreams.size(), 5u);
  EXPECT_EQ(c.upstreams[0].algorithm, "consistent-hashing");
  EXPECT_EQ(c.upstreams[0].hash_on, "cookie");
  EXPECT_EQ(c.upstreams[0].hash_on_cookie, "lb_id");
  EXPECT_EQ(c.upstreams[0].hash_on_cookie_path, "/") << "Kong's default";
  EXPECT_EQ(c.upstreams[1].hash_on_cookie_path, "/shop");
  EXPECT_EQ(c.upstreams[2].hash_on, "consumer");
  EXPECT_EQ(c.upstreams[2].hash_fallback, "ip");
  EXPECT_EQ(c.upstreams[3].hash_fallback, "cookie");
  EXPECT_EQ(c.upstreams[4].hash_fallback, "consumer");
}

TEST(LoaderUpstreams, CookieAndConsumerRules) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
upstreams:
  - name: a
    hash_on: cookie
  - name: b
    hash_on: cookie
    hash_on_cookie: lb
    hash_fallback: ip
  - name: c
    hash_on: ip
    hash_fallback: cookie
  - name: d
    hash_on: consumer
    hash_fallback: consumer
  - name: e
    hash_on: cookie
    hash_on_cookie: "lb id"
  - name: f
    hash_on: cookie
    hash_on_cookie: lb
    hash_on_cookie_path: shop
  - name: g
    hash_on: cookie
    hash_on_cookie: lb
    hash_on_cookie_path: "/a;Domain=x"
)"),
            "kong.yaml:4:14: upstreams[0].hash_on: 'hash_on_cookie' is required when hash_on is 'cookie'\n"
            "kong.yaml:8:20: upstreams[1].hash_fallback: hash_fallback must be 'none' when hash_on is 'cookie'\n"
            "kong.yaml:11:20: upstreams[2].hash_fallback: 'hash_on_cookie' is required when hash_fallback is "
            "'cookie'\n"
            "kong.yaml:14:20: upstreams[3].hash_fallback: hash_fallback must differ from hash_on\n"
            "kong.yaml:17:21: upstreams[4].hash_on_cookie: hash_on_cookie \"lb id\" is not a valid cookie name (no "
            "spaces, control characters or any of ()<>@,;:\\\"/[]?={})\n"
            "kong.yaml:21:26: upstreams[5].hash_on_cookie_path: hash_on_cookie_path path \"shop\" must start with "
            "\"/\"\n"
            "kong.yaml:25:26: upstreams[6].hash_on_cookie_path: hash_on_cookie_path \"/a;Domain=x\" must not "
            "contain ';'");
}

TEST(LoaderUpstreams, TargetErrors) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
upstreams:
  - name: u
    slots: 5
    targets:
      - target: "a b"
      - target: 10.0.0.1:99999
      - target: 10.0.0.1:8000
      - target: 10.0.0.1
      - weight: 10
      - target: 10.0.0.2
        weight: 70000
)"),
            "kong.yaml:4:12: upstreams[0].slots: value 5 is out of range (10..65536)\n"
            "kong.yaml:6:17: upstreams[0].targets[0].target: target \"a b\": host \"a b\" is not a valid hostname "
            "(letters, digits, '-' and '_' in dot-separated labels of 1 to 63 characters)\n"
            "kong.yaml:7:17: upstreams[0].targets[1].target: target \"10.0.0.1:99999\": port must be a number from 1 "
            "to 65535\n"
            "kong.yaml:9:17: upstreams[0].targets[3].target: duplicate target \"10.0.0.1:8000\" (first defined at "
            "line 8)\n"
            "kong.yaml:10:9: upstreams[0].targets[4]: missing required field 'target'\n"
            "kong.yaml:12:17: upstreams[0].targets[5].weight: value 70000 is out of range (0..65535)");
}

TEST(LoaderUpstreams, DuplicateNamesUnsupportedFieldsAndTopLevelTargets) {
  std::string e = load_errors(R"(
_format_version: "3.0"
upstreams:
  - name: u
    use_srv_name: true
  - name: u
targets:
  - target: 10.0.0.1
)");
  EXPECT_NE(e.find("kong.yaml:4:5: upstreams[0].use_srv_name: Kong field 'use_srv_name' is not supported yet"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("kong.yaml:5:11: upstreams[1].name: duplicate upstream name \"u\" (first defined at line 3)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("kong.yaml:6:1: targets: top-level targets are not supported yet"), std::string::npos) << e;
}

}  // namespace
}  // namespace portico::config
