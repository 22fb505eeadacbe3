#include "core/object_reader.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace portico::config::testing {
namespace {

using core::ConfigErrors;
using core::ConfigNode;
using core::ObjectReader;

class ObjectReaderTest : public ::testing::Test {
 protected:
  const ConfigNode& doc(std::string_view literal) {
    root_ = parse(literal, parse_errors_);
    EXPECT_TRUE(root_) << parse_errors_.to_string();
    static const ConfigNode kEmpty;
    return root_ ? *root_ : kEmpty;
  }

  ConfigErrors parse_errors_;
  ConfigErrors errors_;
  std::shared_ptr<const ConfigNode> root_;
};

TEST_F(ObjectReaderTest, ReadsTypedValues) {
  ObjectReader r(doc(R"(
name: orders
enabled: false
port: 8080
ratio: 0.25
big: 5000000000
tags: [a, "b", 3]
)"),
                 "svc", errors_);
  std::string name;
  bool enabled = true;
  uint16_t port = 0;
  double ratio = 0;
  uint64_t big = 0;
  std::vector<std::string> tags;
  EXPECT_TRUE(r.get("name", name));
  EXPECT_TRUE(r.get("enabled", enabled));
  EXPECT_TRUE(r.get("port", port, 0, 65535));
  EXPECT_TRUE(r.get("ratio", ratio, 0.0, 1.0));
  EXPECT_TRUE(r.get("big", big, 0, UINT64_MAX));
  EXPECT_TRUE(r.get("tags", tags));
  r.finish();
  EXPECT_TRUE(errors_.empty()) << errors_.to_string();
  EXPECT_EQ(name, "orders");
  EXPECT_FALSE(enabled);
  EXPECT_EQ(port, 8080);
  EXPECT_EQ(ratio, 0.25);
  EXPECT_EQ(big, 5000000000u);
  EXPECT_EQ(tags, (std::vector<std::string>{"a", "b", "3"}));
}

TEST_F(ObjectReaderTest, AbsentAndNullLeaveDefaults) {
  ObjectReader r(doc("a: ~\nb:\n"), "x", errors_);
  int a = 7;
  std::string b = "keep";
  int c = 9;
  EXPECT_FALSE(r.get("a", a, 0, 100));
  EXPECT_FALSE(r.get("b", b));
  EXPECT_FALSE(r.get("c", c, 0, 100));
  EXPECT_EQ(r.child("a"), nullptr);
  EXPECT_FALSE(r.has("a"));
  r.finish();
  EXPECT_TRUE(errors_.empty()) << errors_.to_string();
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b, "keep");
  EXPECT_EQ(c, 9);
}

TEST_F(ObjectReaderTest, StringForInteger) {
  ObjectReader r(doc("retries: abc\n"), "services[0]", errors_);
  int retries = 5;
  EXPECT_FALSE(r.get("retries", retries, 0, 32767));
  EXPECT_EQ(retries, 5);
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:10: services[0].retries: expected an integer, got a string (\"abc\")");
}

TEST_F(ObjectReaderTest, QuotedNumberIsNotAnInteger) {
  ObjectReader r(doc("port: \"80\"\n"), "s", errors_);
  int port = 0;
  EXPECT_FALSE(r.get("port", port, 0, 65535));
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:7: s.port: expected an integer, got a string (\"80\"); remove the quotes");
}

TEST_F(ObjectReaderTest, LeadingZeroIntegerIsRejected) {
  ObjectReader r(doc("mode: 0644\n"), "", errors_);
  int mode = 0;
  EXPECT_FALSE(r.get("mode", mode, 0, 10000));
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:7: mode: expected an integer, got a string (\"0644\"); leading zeros are "
            "not allowed (YAML 1.1 reads them as octal)");
}

TEST_F(ObjectReaderTest, YesIsNotABoolean) {
  ObjectReader r(doc("strip_path: yes\n"), "routes[0]", errors_);
  bool strip = true;
  EXPECT_FALSE(r.get("strip_path", strip));
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:13: routes[0].strip_path: expected a boolean (true or false), got a string "
            "(\"yes\"); YAML 1.1 words such as yes/no/on/off are not accepted");
}

TEST_F(ObjectReaderTest, QuotedTrueIsNotABoolean) {
  ObjectReader r(doc("enabled: \"true\"\n"), "p", errors_);
  bool enabled = false;
  EXPECT_FALSE(r.get("enabled", enabled));
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:10: p.enabled: expected a boolean (true or false), got a string (\"true\"); "
            "remove the quotes");
}

TEST_F(ObjectReaderTest, ListWhereMapExpected) {
  ObjectReader r(doc("- a\n- b\n"), "services[2]", errors_);
  EXPECT_FALSE(r.valid());
  std::string s;
  EXPECT_FALSE(r.get("name", s));
  r.finish();
  EXPECT_EQ(errors_.to_string(), "t.yaml:1:1: services[2]: expected a map, got a list");
}

TEST_F(ObjectReaderTest, MapAccessorChecksKind) {
  ObjectReader r(doc("config: [1, 2]\nroutes: {a: 1}\n"), "plugins[0]", errors_);
  EXPECT_EQ(r.map("config"), nullptr);
  EXPECT_EQ(r.sequence("routes"), nullptr);
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:9: plugins[0].config: expected a map, got a list\n"
            "t.yaml:2:9: plugins[0].routes: expected a list, got a map");
}

TEST_F(ObjectReaderTest, OutOfRange) {
  ObjectReader r(doc("port: 70000\nbig: 99999999999999999999\n"), "s", errors_);
  uint16_t port = 1;
  int64_t big = 0;
  EXPECT_FALSE(r.get("port", port, 0, 65535));
  EXPECT_FALSE(r.get("big", big, 0, 100));
  EXPECT_EQ(port, 1);
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:7: s.port: value 70000 is out of range (0..65535)\n"
            "t.yaml:2:6: s.big: value 99999999999999999999 is out of range (0..100)");
}

TEST_F(ObjectReaderTest, DoubleChecks) {
  ObjectReader r(doc("a: 1.5\nb: \"0.5\"\nc: 2\n"), "x", errors_);
  double a = 0, b = 0, c = 0;
  EXPECT_FALSE(r.get("a", a, 0.0, 1.0));
  EXPECT_FALSE(r.get("b", b, 0.0, 1.0));
  EXPECT_TRUE(r.get("c", c, 0.0, 10.0));
  EXPECT_EQ(c, 2.0);
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:4: x.a: value 1.5 is out of range (0..1)\n"
            "t.yaml:2:4: x.b: expected a number, got a string (\"0.5\"); remove the quotes");
}

TEST_F(ObjectReaderTest, StringsAreLenientExceptForBooleans) {
  ObjectReader r(doc("name: 123\nhost: true\nversion: 3.0\n"), "s", errors_);
  std::string name, host, version;
  EXPECT_TRUE(r.get("name", name));
  EXPECT_EQ(name, "123");
  EXPECT_TRUE(r.get("version", version));
  EXPECT_EQ(version, "3.0");
  EXPECT_FALSE(r.get("host", host));
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:2:7: s.host: expected a string, got a boolean (true); quote it to use the "
            "text");
}

TEST_F(ObjectReaderTest, ListsAreStrict) {
  ObjectReader r(doc("methods: GET\npaths: [\"/a\", {x: 1}, ~]\n"), "routes[0]", errors_);
  std::vector<std::string> methods{"keep"}, paths{"keep"};
  EXPECT_FALSE(r.get("methods", methods));
  EXPECT_FALSE(r.get("paths", paths));
  EXPECT_EQ(methods, std::vector<std::string>{"keep"});
  EXPECT_EQ(paths, std::vector<std::string>{"keep"});
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:10: routes[0].methods: expected a list of strings, got a string (\"GET\"); "
            "write it as a list: [GET]\n"
            "t.yaml:2:15: routes[0].paths[1]: expected a string, got a map\n"
            "t.yaml:2:23: routes[0].paths[2]: expected a string, got null");
}

TEST_F(ObjectReaderTest, UnknownFieldWithSuggestion) {
  ObjectReader r(doc("name: a\npathz: [/x]\nzzz: 1\n"), "routes[3]", errors_);
  std::string name;
  std::vector<std::string> paths;
  r.get("name", name);
  r.get("paths", paths);
  r.get("hosts", paths);
  r.finish();
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:2:1: routes[3].pathz: unknown field 'pathz' (did you mean 'paths'?); "
            "expected one of: name, paths, hosts\n"
            "t.yaml:3:1: routes[3].zzz: unknown field 'zzz'; expected one of: name, paths, hosts");
}

TEST_F(ObjectReaderTest, FinishTwiceReportsOnce) {
  ObjectReader r(doc("x: 1\n"), "", errors_);
  r.finish();
  r.finish();
  EXPECT_EQ(errors_.to_string(), "t.yaml:1:1: x: unknown field 'x'; no fields are allowed here");
}

TEST_F(ObjectReaderTest, RequireMissingAndNull) {
  ObjectReader r(doc("\nname: ~\nother: 1\n"), "plugins[1]", errors_);
  r.require("name");
  r.require("config");
  int other = 0;
  r.get("other", other, 0, 10);
  r.finish();
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:7: plugins[1].name: required field 'name' must not be null\n"
            "t.yaml:1:1: plugins[1]: missing required field 'config'");
}

TEST_F(ObjectReaderTest, RejectPointsAtTheKey) {
  ObjectReader r(doc("host: a\n  # comment\ntls_verify: true\n"), "services[0]", errors_);
  std::string host;
  r.get("host", host);
  r.reject("tls_verify", "Kong field 'tls_verify' is not supported yet");
  r.reject("absent", "never shown");
  r.finish();
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:3:1: services[0].tls_verify: Kong field 'tls_verify' is not supported yet");
}

TEST_F(ObjectReaderTest, EnumValues) {
  ObjectReader r(doc("path_handling: v2\n"), "routes[0]", errors_);
  std::string handling = "v0";
  EXPECT_FALSE(r.get_enum("path_handling", handling, {"v0", "v1"}));
  EXPECT_EQ(handling, "v0");
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:1:16: routes[0].path_handling: \"v2\" is not one of: v0, v1");
}

TEST_F(ObjectReaderTest, IgnoreAndErrorHelpers) {
  ObjectReader r(doc("created_at: 1\nurl: x\n"), "s", errors_);
  r.ignore("created_at");
  std::string url;
  r.get("url", url);
  r.error("url", "bad url");
  r.error("missing", "no such key, points at the map");
  r.finish();
  EXPECT_EQ(errors_.to_string(),
            "t.yaml:2:6: s.url: bad url\nt.yaml:1:1: s: no such key, points at the map");
}

TEST_F(ObjectReaderTest, MapsWithManyKeys) {
  // More entries than the reader tracks inline (64): the overflow path must behave the same.
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text += "key";
    text += std::to_string(i);
    text += ": 1\n";
  }
  ObjectReader r(doc(text), "m", errors_);
  for (int i = 0; i < 100; ++i) {
    if (i == 7 || i == 90) continue;
    int v = 0;
    EXPECT_TRUE(r.get("key" + std::to_string(i), v, 0, 1));
  }
  r.finish();
  ASSERT_EQ(errors_.list().size(), 2u) << errors_.to_string();
  EXPECT_EQ(errors_.list()[0].path, "m.key7");
  EXPECT_EQ(errors_.list()[1].path, "m.key90");
  EXPECT_EQ(errors_.list()[1].mark.line, 91u);
}

TEST(PathHelpers, KeysAndIndices) {
  EXPECT_EQ(core::path_key("", "services"), "services");
  EXPECT_EQ(core::path_key("services[0]", "routes"), "services[0].routes");
  EXPECT_EQ(core::path_index("services", 3), "services[3]");
  EXPECT_EQ(core::path_key("config.headers", "x.y"), "config.headers[\"x.y\"]");
  EXPECT_EQ(core::path_key("a", "with space"), "a[\"with space\"]");
}

}  // namespace
}  // namespace portico::config::testing
