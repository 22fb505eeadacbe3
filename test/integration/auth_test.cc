// Authentication and access plugins through the real gateway: key-auth (header, query,
// hide_credentials, missing/invalid keys, anonymous), consumer identity headers upstream (and
// forged ones dropped), consumer-scoped plugins after authentication, basic-auth, acl,
// ip-restriction over IPv4 and IPv6, request-size-limiting (Content-Length and chunked), the
// /status counters, and a reload that removes a credential.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kConsumers = R"(
consumers:
  - username: alice
    id: 11111111-1111-4111-8111-111111111111
    custom_id: A-1
    keyauth_credentials:
      - key: alice-secret-key
        id: 22222222-2222-4222-8222-222222222222
    basicauth_credentials:
      - username: alice
        password: open-sesame
    acls:
      - group: admins
  - username: bob
    keyauth_credentials:
      - key: bob-secret-key
    acls:
      - group: users
    plugins:
      - name: response-transformer
        config: {add: {headers: ["X-Hello-Bob:yes"]}}
  - username: mallory
    keyauth_credentials:
      - key: mallory-key
    plugins:
      - name: request-termination
        config: {status_code: 418, message: "not you"}
  - username: guest
    id: 33333333-3333-4333-8333-333333333333
)";

class AuthTest : public ::testing::Test {
 protected:
  void start(std::string_view routes, std::string_view prelude_extra = {}) {
    yaml_ = config_prelude(prelude_extra) + std::string(kConsumers) +
            render(routes, {{"UP", std::to_string(up_.port())}});
    gw_ = std::make_unique<Gateway>(yaml_);
  }
  Response get(std::string_view target, Headers headers = {}) {
    return fetch(gw_->port(), http_request("GET", target, headers));
  }
  std::optional<std::string> upstream_header(std::string_view name) {
    auto reqs = up_.requests();
    if (reqs.empty()) return std::string("<no request>");
    return reqs.back().header(name);
  }

  Upstream up_;
  std::unique_ptr<Gateway> gw_;
  std::string yaml_;
};

constexpr std::string_view kKeyAuthRoutes = R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: keyed
        paths: ["/keyed"]
        plugins:
          - name: key-auth
      - name: hidden
        paths: ["/hidden"]
        plugins:
          - name: key-auth
            config: {hide_credentials: true, key_names: [apikey, x-api-key]}
      - name: open
        paths: ["/open"]
        plugins:
          - name: key-auth
            config: {anonymous: guest}
      - name: public
        paths: ["/public"]
)";

TEST_F(AuthTest, KeyInHeaderSetsConsumerHeadersAndDropsForgedOnes) {
  start(kKeyAuthRoutes);
  Response r = get("/keyed", {{"apikey", "alice-secret-key"},
                              {"X-Consumer-Username", "root"},
                              {"X-Anonymous-Consumer", "false"},
                              {"X-Consumer-Groups", "admins"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200) << r.describe();
  ASSERT_EQ(up_.request_count(), 1u);
  const RecordedRequest req = up_.requests().back();
  EXPECT_EQ(req.header("X-Consumer-ID"), "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(req.header("X-Consumer-Custom-ID"), "A-1");
  EXPECT_EQ(req.header("X-Consumer-Username"), "alice");
  EXPECT_EQ(req.header_count("X-Consumer-Username"), 1u);
  EXPECT_EQ(req.header("X-Credential-Identifier"), "22222222-2222-4222-8222-222222222222");
  EXPECT_FALSE(req.header("X-Anonymous-Consumer").has_value());
  EXPECT_FALSE(req.header("X-Consumer-Groups").has_value());
  EXPECT_EQ(req.header("apikey"), "alice-secret-key");  // hide_credentials off

  // No authentication plugin at all: forged identity headers never reach the upstream.
  Response p = get("/public", {{"X-Consumer-ID", "forged"}, {"X-Credential-Identifier", "forged"}});
  EXPECT_EQ(p.status, 200);
  EXPECT_FALSE(upstream_header("X-Consumer-ID").has_value());
  EXPECT_FALSE(upstream_header("X-Credential-Identifier").has_value());

  // Nor as chunked trailers (a next hop may merge trailers into headers); other trailers pass.
  Response t = fetch(gw_->port(), http_request("POST", "/public", {{"Transfer-Encoding", "chunked"}}) +
                                     chunked("body", 2, {{"X-Consumer-Username", "root"},
                                                         {"X-Checksum", "abc"},
                                                         {"X-Forwarded-Client-Cert", "Hash=forged"}}));
  EXPECT_EQ(t.status, 200) << t.describe();
  const RecordedRequest last = up_.requests().back();  // requests() returns a copy
  const Headers& trailers = last.body.trailers;
  EXPECT_FALSE(find_header(trailers, "X-Consumer-Username").has_value());
  EXPECT_FALSE(find_header(trailers, "X-Forwarded-Client-Cert").has_value());
  EXPECT_EQ(find_header(trailers, "X-Checksum").value_or(""), "abc") << last.raw_head;
}

TEST_F(AuthTest, KeyInQueryAndHiddenCredentials) {
  start(kKeyAuthRoutes);
  Response r = get("/keyed/x?apikey=bob-secret-key&a=1");
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(upstream_header("X-Consumer-Username"), "bob");
  EXPECT_EQ(up_.requests().back().target, "/x?apikey=bob-secret-key&a=1");  // strip_path

  Response h = get("/hidden/y?a=1&apikey=alice-secret-key&b=2");
  EXPECT_EQ(h.status, 200) << h.describe();
  EXPECT_EQ(up_.requests().back().target, "/y?a=1&b=2");
  Response hh = get("/hidden", {{"X-API-Key", "alice-secret-key"}});
  EXPECT_EQ(hh.status, 200) << hh.describe();
  const RecordedRequest req = up_.requests().back();
  EXPECT_FALSE(req.header("x-api-key").has_value());
  EXPECT_EQ(req.raw_head.find("alice-secret-key"), std::string::npos) << req.raw_head;
  EXPECT_EQ(req.header("X-Consumer-Username"), "alice");
  // The key in a header and again in the query: the header authenticates, neither copy goes on.
  Response both = get("/hidden/z?apikey=alice-secret-key&c=3", {{"apikey", "alice-secret-key"}});
  EXPECT_EQ(both.status, 200) << both.describe();
  const RecordedRequest last = up_.requests().back();
  EXPECT_EQ(last.target, "/z?c=3");
  EXPECT_EQ(last.raw_head.find("alice-secret-key"), std::string::npos) << last.raw_head;
}

TEST_F(AuthTest, MissingAndInvalidKeysAreCountedAndTheConnectionGoesOn) {
  start(kKeyAuthRoutes);
  Client c(gw_->port());
  Response missing = c.request(http_request("GET", "/keyed"));
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.text(), R"({"message":"No API key found in request"})");
  EXPECT_EQ(missing.header("WWW-Authenticate"), "Key");
  EXPECT_EQ(missing.header("Content-Type"), "application/json; charset=utf-8");
  Response invalid = c.request(http_request("GET", "/keyed", {{"apikey", "guess"}}));
  EXPECT_EQ(invalid.status, 401);
  EXPECT_EQ(invalid.text(), R"({"message":"Invalid authentication credentials"})");
  EXPECT_EQ(invalid.header("WWW-Authenticate"), "Key");
  Response good = c.request(http_request("GET", "/keyed", {{"apikey", "alice-secret-key"}}));
  EXPECT_EQ(good.status, 200) << good.describe();
  EXPECT_EQ(up_.request_count(), 1u);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.key-auth.missing"), 1u);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.key-auth.invalid"), 1u);
  // The access log never carries a key sent in the query string.
  get("/keyed?apikey=not-a-valid-key-123");
  ASSERT_TRUE(eventually([&] { return gw_->access_log().find("/keyed") != std::string::npos; }));
  EXPECT_EQ(gw_->access_log().find("not-a-valid-key-123"), std::string::npos) << gw_->access_log();
}

TEST_F(AuthTest, AnonymousConsumer) {
  start(kKeyAuthRoutes);
  Response r = get("/open", {{"apikey", "wrong"}});
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(upstream_header("X-Anonymous-Consumer"), "true");
  EXPECT_EQ(upstream_header("X-Consumer-Username"), "guest");
  EXPECT_FALSE(upstream_header("X-Credential-Identifier").has_value());
  Response known = get("/open", {{"apikey", "bob-secret-key"}});
  EXPECT_EQ(known.status, 200);
  EXPECT_FALSE(upstream_header("X-Anonymous-Consumer").has_value());
  EXPECT_EQ(upstream_header("X-Consumer-Username"), "bob");
}

TEST_F(AuthTest, ConsumerScopedPluginsApplyAfterAuthentication) {
  start(kKeyAuthRoutes);
  Response bob = get("/keyed", {{"apikey", "bob-secret-key"}});
  EXPECT_EQ(bob.status, 200);
  EXPECT_EQ(bob.header("X-Hello-Bob"), "yes");
  Response alice = get("/keyed", {{"apikey", "alice-secret-key"}});
  EXPECT_FALSE(alice.has_header("X-Hello-Bob"));
  const size_t before = up_.request_count();
  Response mallory = get("/keyed", {{"apikey", "mallory-key"}});
  EXPECT_EQ(mallory.status, 418);
  EXPECT_EQ(json_message(mallory.text()), "not you");
  EXPECT_EQ(up_.request_count(), before);
}

TEST_F(AuthTest, BasicAuth) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: basic
        paths: ["/basic"]
        plugins:
          - name: basic-auth
            config: {hide_credentials: true}
)");
  Client c(gw_->port());
  // alice:open-sesame
  Response ok = c.request(http_request("GET", "/basic", {{"Authorization", "Basic YWxpY2U6b3Blbi1zZXNhbWU="}}));
  EXPECT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(upstream_header("X-Consumer-Username"), "alice");
  EXPECT_EQ(upstream_header("X-Credential-Identifier"), "alice");
  EXPECT_FALSE(upstream_header("Authorization").has_value());
  Response none = c.request(http_request("GET", "/basic"));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.text(), R"({"message":"Unauthorized"})");
  EXPECT_EQ(none.header("WWW-Authenticate"), "Basic realm=\"service\"");
  for (std::string_view bad : {"Basic YWxpY2U6d3Jvbmc=", "Basic %%%", "Basic YWxpY2U=", "Basic", "Digest abc"}) {
    Response r = c.request(http_request("GET", "/basic", {{"Authorization", std::string(bad)}}));
    EXPECT_EQ(r.status, 401) << bad;
    EXPECT_EQ(r.text(), R"({"message":"Invalid authentication credentials"})") << bad;
    EXPECT_EQ(r.header("WWW-Authenticate"), "Basic realm=\"service\"") << bad;
  }
  Response again = c.request(http_request("GET", "/basic", {{"Authorization", "Basic YWxpY2U6b3Blbi1zZXNhbWU="}}));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(up_.request_count(), 2u);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.basic-auth.missing"), 1u);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.basic-auth.invalid"), 5u);
}

TEST_F(AuthTest, AclAllowDenyAndNoConsumer) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: admins
        paths: ["/admins"]
        plugins:
          - name: key-auth
            config: {anonymous: guest}
          - name: acl
            config: {allow: [admins]}
      - name: not-users
        paths: ["/not-users"]
        plugins:
          - name: key-auth
          - name: acl
            config: {deny: [users], hide_groups_header: true}
      - name: acl-only
        paths: ["/acl-only"]
        plugins:
          - name: acl
            config: {allow: [admins]}
)");
  Response alice = get("/admins", {{"apikey", "alice-secret-key"}});
  EXPECT_EQ(alice.status, 200) << alice.describe();
  EXPECT_EQ(upstream_header("X-Consumer-Groups"), "admins");
  Response bob = get("/admins", {{"apikey", "bob-secret-key"}});
  EXPECT_EQ(bob.status, 403);
  EXPECT_EQ(bob.text(), R"({"message":"You cannot consume this service"})");
  Response guest = get("/admins");
  EXPECT_EQ(guest.status, 403);
  Response bob2 = get("/not-users", {{"apikey", "bob-secret-key"}});
  EXPECT_EQ(bob2.status, 403);
  Response alice2 = get("/not-users", {{"apikey", "alice-secret-key"}});
  EXPECT_EQ(alice2.status, 200);
  EXPECT_FALSE(upstream_header("X-Consumer-Groups").has_value());
  Response nobody = get("/acl-only");
  EXPECT_EQ(nobody.status, 401);
  EXPECT_EQ(nobody.text(), R"({"message":"Unauthorized"})");
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.acl.forbidden"), 3u);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.acl.no_consumer"), 1u);
}

TEST_F(AuthTest, IpRestrictionOverIpv4AndIpv6) {
  // Two listeners: 127.0.0.1 and ::1.
  yaml_ = config_prelude_dual_stack() + std::string(kConsumers) + render(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: v4-only
        paths: ["/v4-only"]
        plugins:
          - name: ip-restriction
            config: {allow: [127.0.0.0/8]}
      - name: no-v6
        paths: ["/no-v6"]
        plugins:
          - name: ip-restriction
            config: {deny: ["::1/128"], status: 401, message: "IPv6 clients not welcome"}
)",
                                                     {{"UP", std::to_string(up_.port())}});
  gw_ = std::make_unique<Gateway>(yaml_);
  ASSERT_EQ(gw_->proxy_ports().size(), 2u) << gw_->ready_line();
  const std::uint16_t v4 = gw_->port(0), v6 = gw_->port(1);
  EXPECT_EQ(fetch(v4, http_request("GET", "/v4-only")).status, 200);
  EXPECT_EQ(status_over_ipv6(v6, "/v4-only"), 403);
  Response denied_text = fetch(v4, http_request("GET", "/no-v6"));
  EXPECT_EQ(denied_text.status, 200);
  EXPECT_EQ(status_over_ipv6(v6, "/no-v6"), 401);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.ip-restriction.forbidden"), 2u);
}

TEST_F(AuthTest, IpRestrictionMessage) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: ip-restriction
            config: {deny: [127.0.0.1]}
)");
  Response r = get("/");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.text(), R"({"message":"Your IP address is not allowed"})");
  EXPECT_EQ(up_.request_count(), 0u);
}

TEST_F(AuthTest, RequestSizeLimiting) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: small
        paths: ["/small"]
        plugins:
          - name: request-size-limiting
            config: {allowed_payload_size: 1, size_unit: kilobytes}
      - name: strict
        paths: ["/strict"]
        plugins:
          - name: request-size-limiting
            config: {allowed_payload_size: 1, size_unit: kilobytes, require_content_length: true}
)");
  const std::string ok_body(1024, 'a'), big_body(1025, 'b');
  Response ok = fetch(gw_->port(), http_request("POST", "/small", {}, ok_body));
  EXPECT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(up_.request_count(), 1u);
  Response big = fetch(gw_->port(), http_request("POST", "/small", {}, big_body));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.text(), R"({"message":"Request size limit exceeded"})");
  EXPECT_EQ(up_.request_count(), 1u) << "a body known to be too big must not reach the upstream";

  Response chunked_ok = fetch(gw_->port(), http_request("POST", "/small", {{"Transfer-Encoding", "chunked"}},
                                                        chunked(ok_body, 100)));
  EXPECT_EQ(chunked_ok.status, 200) << chunked_ok.describe();
  Response chunked_big = fetch(gw_->port(), http_request("POST", "/small", {{"Transfer-Encoding", "chunked"}},
                                                         chunked(std::string(4096, 'c'), 100)));
  EXPECT_EQ(chunked_big.status, 413) << chunked_big.describe();
  EXPECT_EQ(chunked_big.text(), R"({"message":"Request size limit exceeded"})");

  Response no_length = fetch(gw_->port(), http_request("POST", "/strict", {{"Transfer-Encoding", "chunked"}},
                                                       chunked("abc", 10)));
  EXPECT_EQ(no_length.status, 411);
  EXPECT_EQ(no_length.text(), R"({"message":"A valid Content-Length header is required"})");
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.request-size-limiting.too_large"), 1u);
  EXPECT_EQ(status_counter(*gw_, "auth_rejected.request-size-limiting.length_required"), 1u);
  // Still serving.
  EXPECT_EQ(fetch(gw_->port(), http_request("POST", "/strict", {}, "abc")).status, 200);
}

TEST_F(AuthTest, ReloadWithoutACredentialRejectsItAtOnce) {
  start(kKeyAuthRoutes);
  EXPECT_EQ(get("/keyed", {{"apikey", "bob-secret-key"}}).status, 200);
  std::string next = yaml_;
  const std::string bob_key = "    keyauth_credentials:\n      - key: bob-secret-key\n";
  ASSERT_NE(next.find(bob_key), std::string::npos);
  next.erase(next.find(bob_key), bob_key.size());
  Response posted = fetch(gw_->admin_port(),
                          http_request("POST", "/config", {{"Content-Type", "application/x-yaml"}}, next),
                          {.timeout = 15s});
  ASSERT_EQ(posted.status, 201) << posted.describe();
  Response r = get("/keyed", {{"apikey", "bob-secret-key"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.text(), R"({"message":"Invalid authentication credentials"})");
  EXPECT_EQ(get("/keyed", {{"apikey", "alice-secret-key"}}).status, 200);
}

}  // namespace
}  // namespace portico::integration
