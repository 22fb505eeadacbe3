// Kong's credential entities: keyauth_credentials, basicauth_credentials and acls, nested under a
// consumer or top-level, and the lookup tables a snapshot compiles from them.
#include <gtest/gtest.h>

#include "config/snapshot.h"
#include "filter/consumer_directory.h"
#include "filters/builtin.h"
#include "test_util.h"

namespace portico::config {
namespace {

using testing::load_errors;
using testing::load_ok;

TEST(Credentials, NestedAndTopLevel) {
  Config c = load_ok(R"(
_format_version: "3.0"
consumers:
  - username: alice
    id: 11111111-1111-4111-8111-111111111111
    keyauth_credentials:
      - key: alice-key
        id: 22222222-2222-4222-8222-222222222222
        tags: [web]
    basicauth_credentials:
      - username: alice
        password: s3cret
    acls:
      - group: admins
  - username: bob
keyauth_credentials:
  - key: bob-key
    consumer: bob
  - key: bob-key-2
    consumer: {id: 11111111-1111-4111-8111-111111111111}
basicauth_credentials:
  - {username: bob, password: pw, consumer: {username: bob}}
acls:
  - {group: users, consumer: bob}
  - {group: users, consumer: alice}
)");
  ASSERT_EQ(c.keyauth_credentials.size(), 3u);
  EXPECT_EQ(c.keyauth_credentials[0].key, "alice-key");
  EXPECT_EQ(c.keyauth_credentials[0].consumer, 0);
  EXPECT_EQ(c.keyauth_credentials[0].id, "22222222-2222-4222-8222-222222222222");
  EXPECT_EQ(c.keyauth_credentials[0].tags, std::vector<std::string>{"web"});
  EXPECT_EQ(c.keyauth_credentials[0].yaml_path, "consumers[0].keyauth_credentials[0]");
  EXPECT_EQ(c.keyauth_credentials[1].consumer, 1);
  EXPECT_EQ(c.keyauth_credentials[2].consumer, 0);
  ASSERT_EQ(c.basicauth_credentials.size(), 2u);
  EXPECT_EQ(c.basicauth_credentials[0].username, "alice");
  EXPECT_EQ(c.basicauth_credentials[1].consumer, 1);
  // Only a salted digest is kept, never the password.
  const BasicAuthCredential& b = c.basicauth_credentials[0];
  EXPECT_EQ(b.password_hash.size(), 32u);
  EXPECT_EQ(b.password_hash.find("s3cret"), std::string::npos);
  EXPECT_EQ(b.password_hash, filter::password_digest(b.salt, "s3cret"));
  EXPECT_NE(c.basicauth_credentials[0].salt, c.basicauth_credentials[1].salt);
  ASSERT_EQ(c.acls.size(), 3u);
  EXPECT_EQ(c.acls[0].group, "admins");
  EXPECT_EQ(c.acls[2].consumer, 0);
}

TEST(Credentials, KeyAuthErrors) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
consumers:
  - username: alice
    keyauth_credentials:
      - tags: [x]
      - key: ""
      - key: k1
        ttl: 60
      - key: k1
        consumer: alice
  - username: bob
keyauth_credentials:
  - key: k1
    consumer: bob
  - key: k2
  - key: k3
    consumer: carol
  - key: k4
    consumer: {username: caro}
)"),
            "kong.yaml:5:9: consumers[0].keyauth_credentials[0]: missing required field 'key'; "
            "Kong generates a key when none is given, Portico cannot store one: write the key in "
            "the file\n"
            "kong.yaml:6:14: consumers[0].keyauth_credentials[1].key: key must not be empty\n"
            "kong.yaml:8:9: consumers[0].keyauth_credentials[2].ttl: 'ttl' is not supported: "
            "Portico's credentials do not expire; remove it\n"
            "kong.yaml:9:14: consumers[0].keyauth_credentials[3].key: duplicate keyauth_credential "
            "key (first defined at line 7); API keys must be unique across consumers\n"
            "kong.yaml:10:9: consumers[0].keyauth_credentials[3].consumer: a keyauth_credential "
            "nested under a consumer must not have a 'consumer' field; it belongs to that consumer "
            "already\n"
            "kong.yaml:13:10: keyauth_credentials[0].key: duplicate keyauth_credential key (first "
            "defined at line 7); API keys must be unique across consumers\n"
            "kong.yaml:15:5: keyauth_credentials[1]: missing required field 'consumer'\n"
            "kong.yaml:17:15: keyauth_credentials[2].consumer: consumer \"carol\" not found: no "
            "consumer has that username or id\n"
            "kong.yaml:19:26: keyauth_credentials[3].consumer.username: no consumer has username "
            "\"caro\"");
}

TEST(Credentials, BasicAuthAndAclErrors) {
  EXPECT_EQ(load_errors(R"(
_format_version: "3.0"
consumers:
  - username: alice
    basicauth_credentials:
      - username: alice
      - password: x
      - username: alice
        password: y
    acls:
      - group: g
      - group: g
      - {}
basicauth_credentials:
  - {username: alice, password: z, consumer: alice, passwd: 1}
)"),
            "kong.yaml:5:9: consumers[0].basicauth_credentials[0]: missing required field "
            "'password'\n"
            "kong.yaml:6:9: consumers[0].basicauth_credentials[1]: missing required field "
            "'username'\n"
            "kong.yaml:7:19: consumers[0].basicauth_credentials[2].username: duplicate "
            "basicauth_credential username \"alice\" (first defined at line 5)\n"
            "kong.yaml:11:16: consumers[0].acls[1].group: consumer \"alice\" is already in group "
            "\"g\" (first at line 10)\n"
            "kong.yaml:12:9: consumers[0].acls[2]: missing required field 'group'\n"
            "kong.yaml:14:16: basicauth_credentials[0].username: duplicate basicauth_credential "
            "username \"alice\" (first defined at line 5)\n"
            "kong.yaml:14:53: basicauth_credentials[0].passwd: unknown field 'passwd' (did you mean "
            "'password'?); expected one of: consumer, id, tags, created_at, updated_at, username, "
            "password");
}

TEST(Credentials, SnapshotLookupTables) {
  filter::Registry reg;
  filters::register_builtin_plugins(reg);
  auto r = build_from_string(testing::text(R"(
_format_version: "3.0"
consumers:
  - username: alice
    custom_id: A1
    keyauth_credentials: [{key: ka, id: 22222222-2222-4222-8222-222222222222}]
    basicauth_credentials: [{username: al, password: pw}]
    acls: [{group: admins}, {group: ops}]
  - username: bob
    id: 33333333-3333-4333-8333-333333333333
plugins:
  - name: key-auth
    config: {anonymous: bob}
)"),
                             "kong.yaml", reg);
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  const filter::ConsumerDirectory& d = *r.snapshot->consumers;
  const filter::KeyCredentialEntry* k = d.find_key("ka");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->consumer, 0);
  EXPECT_EQ(k->id, "22222222-2222-4222-8222-222222222222");
  EXPECT_EQ(d.find_key("kb"), nullptr);
  const filter::BasicCredentialEntry* b = d.find_basic("al");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(filter::digest_equals(filter::password_digest(b->salt, "pw"), b->hash));
  EXPECT_FALSE(filter::digest_equals(filter::password_digest(b->salt, "pX"), b->hash));
  EXPECT_EQ(d.consumers[0].groups, (std::vector<std::string>{"admins", "ops"}));
  EXPECT_EQ(d.consumers[0].groups_header, "admins, ops");
  EXPECT_EQ(d.find_consumer("bob"), 1);
  EXPECT_EQ(d.find_consumer("33333333-3333-4333-8333-333333333333"), 1);
  EXPECT_EQ(d.find_consumer("carol"), -1);
}

TEST(Credentials, AnonymousMustNameAConsumer) {
  filter::Registry reg;
  filters::register_builtin_plugins(reg);
  auto r = build_from_string(testing::text(R"(
_format_version: "3.0"
consumers:
  - username: alice
plugins:
  - name: key-auth
    config:
      anonymous: nobody
)"),
                             "kong.yaml", reg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.to_string(),
            "kong.yaml:7:18: plugins[0].config.anonymous: anonymous consumer \"nobody\" not found: "
            "no consumer has that id or username");
}

}  // namespace
}  // namespace portico::config
