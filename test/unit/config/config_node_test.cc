#include "core/config_node.h"

#include <gtest/gtest.h>

#include "core/config_error.h"
#include "test_util.h"

namespace portico::config::testing {
namespace {

using core::ConfigError;
using core::ConfigErrors;
using core::ConfigNode;
using core::Mark;

TEST(ConfigNode, PlainScalarTyping) {
  ConfigErrors errors;
  auto root = parse(R"(
t1: true
t2: True
t3: TRUE
f1: false
y: yes
i1: 123
i2: -5
i3: +7
zero: 0
octal: 0800
d1: 1.5
d2: 1e3
d3: .5
word: hello
)",
                    errors);
  ASSERT_TRUE(root) << errors.to_string();
  EXPECT_EQ(root->find("t1")->as_bool(), true);
  EXPECT_EQ(root->find("t2")->as_bool(), true);
  EXPECT_EQ(root->find("t3")->as_bool(), true);
  EXPECT_EQ(root->find("f1")->as_bool(), false);
  EXPECT_FALSE(root->find("y")->as_bool());
  EXPECT_EQ(root->find("y")->type_name(), "a string");
  EXPECT_EQ(root->find("i1")->as_int(), 123);
  EXPECT_EQ(root->find("i2")->as_int(), -5);
  EXPECT_EQ(root->find("i3")->as_int(), 7);
  EXPECT_EQ(root->find("zero")->as_int(), 0);
  EXPECT_FALSE(root->find("octal")->as_int()) << "leading zeros are octal in YAML 1.1";
  EXPECT_FALSE(root->find("octal")->as_double());
  EXPECT_EQ(root->find("d1")->as_double(), 1.5);
  EXPECT_EQ(root->find("d2")->as_double(), 1000.0);
  EXPECT_EQ(root->find("d3")->as_double(), 0.5);
  EXPECT_FALSE(root->find("d1")->as_int());
  EXPECT_EQ(root->find("i1")->as_double(), 123.0) << "integers are numbers too";
  EXPECT_FALSE(root->find("word")->as_int());
  EXPECT_EQ(root->find("word")->type_name(), "a string");
  EXPECT_EQ(root->find("i1")->type_name(), "an integer");
  EXPECT_EQ(root->find("d1")->type_name(), "a number");
  EXPECT_EQ(root->find("t1")->type_name(), "a boolean");
}

TEST(ConfigNode, QuotedScalarsAreAlwaysStrings) {
  ConfigErrors errors;
  auto root = parse(R"(
a: "true"
b: '123'
c: "null"
d: ""
e: |
  block
)",
                    errors);
  ASSERT_TRUE(root) << errors.to_string();
  for (const char* key : {"a", "b", "c", "d", "e"}) {
    const ConfigNode* n = root->find(key);
    ASSERT_NE(n, nullptr) << key;
    EXPECT_TRUE(n->is_scalar()) << key;
    EXPECT_TRUE(n->quoted()) << key;
    EXPECT_FALSE(n->as_bool()) << key;
    EXPECT_FALSE(n->as_int()) << key;
    EXPECT_EQ(n->type_name(), "a string") << key;
  }
  EXPECT_EQ(root->find("c")->scalar(), "null");
  EXPECT_EQ(root->find("d")->scalar(), "");
  EXPECT_EQ(root->find("e")->scalar(), "block\n");
}

TEST(ConfigNode, NullForms) {
  ConfigErrors errors;
  auto root = parse("a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: nil\n", errors);
  ASSERT_TRUE(root) << errors.to_string();
  for (const char* key : {"a", "b", "c", "d", "e"}) EXPECT_TRUE(root->find(key)->is_null()) << key;
  EXPECT_TRUE(root->find("f")->is_scalar());
  EXPECT_EQ(root->find("a")->type_name(), "null");
}

TEST(ConfigNode, IntegerOverflowIsDetected) {
  ConfigErrors errors;
  auto root = parse("big: 99999999999999999999\nmax: 9223372036854775807\n", errors);
  ASSERT_TRUE(root);
  EXPECT_FALSE(root->find("big")->as_int());
  EXPECT_TRUE(root->find("big")->is_out_of_range_int());
  EXPECT_EQ(root->find("max")->as_int(), INT64_MAX);
  EXPECT_FALSE(root->find("max")->is_out_of_range_int());
}

TEST(ConfigNode, MapsKeepOrderAndKeyMarks) {
  ConfigErrors errors;
  auto root = parse(R"(
zeta: 1
alpha:
  - x
  - y
mid: {a: 1}
)",
                    errors);
  ASSERT_TRUE(root);
  ASSERT_TRUE(root->is_map());
  std::vector<std::string> keys;
  for (auto [key, key_mark, value] : root->entries()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_EQ(root->key_mark(1).line, 2u);
  EXPECT_EQ(root->key_mark(1).column, 1u);
  const ConfigNode& alpha = *root->find("alpha");
  ASSERT_TRUE(alpha.is_sequence());
  ASSERT_EQ(alpha.size(), 2u);
  EXPECT_EQ(alpha[1].scalar(), "y");
  EXPECT_EQ(alpha[1].mark().line, 4u);
  EXPECT_EQ(alpha[1].mark().column, 5u);
  EXPECT_EQ(root->find("mid")->mark().column, 6u) << "flow map starts at '{'";
  EXPECT_EQ(root->find("nope"), nullptr);
  EXPECT_EQ(root->index_of("mid"), 2);
  EXPECT_EQ(root->file(), "t.yaml");
}

TEST(ConfigError, Format) {
  EXPECT_EQ((ConfigError{"kong.yaml", Mark{12, 9}, "services[0].port", "bad"}).to_string(),
            "kong.yaml:12:9: services[0].port: bad");
  EXPECT_EQ((ConfigError{"kong.yaml", Mark{3, 1}, "", "bad"}).to_string(), "kong.yaml:3:1: bad");
  EXPECT_EQ((ConfigError{"kong.yaml", Mark{}, "", "cannot open"}).to_string(),
            "kong.yaml: cannot open");
  EXPECT_EQ((ConfigError{"", Mark{}, "a.b", "bad"}).to_string(), "a.b: bad");
}

TEST(ConfigErrors, CapsAndCountsTheRest) {
  ConfigErrors errors;
  for (int i = 0; i < 60; ++i) {
    errors.add(ConfigError{"f", Mark{static_cast<uint32_t>(i + 1), 1}, "", "e"});
  }
  EXPECT_EQ(errors.count(), 60u);
  EXPECT_EQ(errors.list().size(), ConfigErrors::kMaxErrors);
  EXPECT_TRUE(errors.full());
  std::string s = errors.to_string();
  EXPECT_EQ(s.substr(0, 9), "f:1:1: e\n");
  EXPECT_EQ(s.substr(s.size() - 23), "\n... and 10 more errors");
}

TEST(ConfigErrors, SortByPosition) {
  ConfigErrors errors;
  errors.add(ConfigError{"f", Mark{5, 2}, "", "c"});
  errors.add(ConfigError{"f", Mark{1, 9}, "", "a"});
  errors.add(ConfigError{"f", Mark{5, 1}, "", "b"});
  errors.sort_by_position();
  EXPECT_EQ(errors.to_string(), "f:1:9: a\nf:5:1: b\nf:5:2: c");
}

}  // namespace
}  // namespace portico::config::testing
