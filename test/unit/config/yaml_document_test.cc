#include "config/yaml_document.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace portico::config::testing {
namespace {

using core::ConfigErrors;
using core::ConfigNode;

std::string parse_error(std::string_view literal, const YamlOptions& options = {}) {
  ConfigErrors errors;
  auto root = parse(literal, errors, options);
  EXPECT_EQ(root, nullptr);
  return errors.to_string();
}

TEST(YamlDocument, MarksAreOneBased) {
  ConfigErrors errors;
  auto root = parse(R"(
services:
  - name: a
    port: 80
)",
                    errors);
  ASSERT_TRUE(root) << errors.to_string();
  const ConfigNode& service = (*root->find("services"))[0];
  EXPECT_EQ(service.mark().line, 2u);
  EXPECT_EQ(service.mark().column, 5u);
  EXPECT_EQ(service.find("port")->mark().line, 3u);
  EXPECT_EQ(service.find("port")->mark().column, 11u);
  EXPECT_EQ(service.key_mark(1).column, 5u);
}

TEST(YamlDocument, EmptyTextIsNull) {
  ConfigErrors errors;
  auto root = parse("", errors);
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->is_null());
  root = parse("# only a comment\n", errors);
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->is_null());
  EXPECT_TRUE(errors.empty());
}

TEST(YamlDocument, DuplicateKeys) {
  EXPECT_EQ(parse_error("name: a\nport: 1\nname: b\n"),
            "t.yaml:3:1: name: duplicate key 'name' (first defined at line 1)");
  EXPECT_EQ(parse_error("services:\n  - {host: a, host: b}\n"),
            "t.yaml:2:15: services[0].host: duplicate key 'host' (first defined at line 2)");
}

TEST(YamlDocument, DuplicateKeysInLargeMaps) {
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += 'k';
    text += std::to_string(i);
    text += ": 1\n";
  }
  text += "k3: again\n";
  ConfigErrors errors;
  auto root = parse_yaml_document(text, "t.yaml", errors);
  EXPECT_EQ(root, nullptr);
  EXPECT_EQ(errors.to_string(), "t.yaml:41:1: k3: duplicate key 'k3' (first defined at line 4)");
}

TEST(YamlDocument, AnchorsAndAliases) {
  ConfigErrors errors;
  auto root = parse(R"(
defaults: &d
  retries: 3
  tags: [x]
a: *d
b: &name hello
c: *name
)",
                    errors);
  ASSERT_TRUE(root) << errors.to_string();
  const ConfigNode& a = *root->find("a");
  ASSERT_TRUE(a.is_map());
  EXPECT_EQ(a.find("retries")->as_int(), 3);
  EXPECT_EQ(a.mark().line, 4u) << "the alias itself is located where it is written";
  EXPECT_EQ(a.mark().column, 4u);
  EXPECT_EQ(a.find("retries")->mark().line, 2u) << "its contents where the anchor is";
  EXPECT_EQ(root->find("c")->scalar(), "hello");
}

TEST(YamlDocument, UnknownAlias) {
  EXPECT_EQ(parse_error("a: *nope\n"),
            "t.yaml:1:4: a: alias '*nope' refers to no anchor defined before it");
}

TEST(YamlDocument, AliasExpansionIsBounded) {
  YamlOptions options;
  options.max_alias_nodes = 100;
  std::string error = parse_error(R"(
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: [*b, *b]
)",
                                  options);
  EXPECT_NE(error.find("anchors and aliases copy more than 100 nodes"), std::string::npos) << error;
}

// Nested anchors around one list: each anchor keeps a copy, so without counting those copies a
// small file would take gigabytes (found by fuzz_config_loader).
TEST(YamlDocument, AnchorCopiesCountAgainstTheBudget) {
  YamlOptions options;
  options.max_alias_nodes = 1000;
  std::string text = "a: &a0 [";
  for (int i = 0; i < 600; ++i) text += "x, ";
  text += "x]\n";
  for (int i = 1; i < 5; ++i) {
    text += "b" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) + "]\n";
  }
  std::string error = parse_error(text, options);
  EXPECT_NE(error.find("anchors and aliases copy more than 1000 nodes"), std::string::npos) << error;
}

// An alias placed deep copies its anchor's depth there: chained anchors could otherwise build a
// tree far deeper than the parser's own limit, and walking it would overflow the stack (found by
// fuzz_config_loader).
TEST(YamlDocument, AliasesCannotDeepenTheTreePastTheLimit) {
  std::string text;
  // &d: 200 levels of nested lists.
  text += "d: &d ";
  for (int i = 0; i < 199; ++i) text += "[";
  text += "x";
  for (int i = 0; i < 199; ++i) text += "]";
  text += "\n";
  // 100 levels deep, then *d: 300 levels in all.
  text += "e: ";
  for (int i = 0; i < 100; ++i) text += "[";
  text += "*d";
  for (int i = 0; i < 100; ++i) text += "]";
  text += "\n";
  std::string error = parse_error(text);
  EXPECT_NE(error.find("alias '*d' would nest the document deeper than 256 levels"), std::string::npos) << error;

  // The same alias where it fits is fine.
  core::ConfigErrors errors;
  auto root = parse("d: &d [[[x]]]\ne: [[*d]]\n", errors);
  ASSERT_TRUE(root) << errors.to_string();
}

TEST(YamlDocument, MergeKeysAreRejected) {
  EXPECT_EQ(parse_error(R"(
base: &b {x: 1}
c:
  <<: *b
  y: 2
)"),
            "t.yaml:3:3: c: YAML merge keys ('<<') are not supported; write the fields out or "
            "alias the whole map");
}

TEST(YamlDocument, QuotedMergeKeyIsAnOrdinaryKey) {
  ConfigErrors errors;
  auto root = parse("\"<<\": 1\n", errors);
  ASSERT_TRUE(root) << errors.to_string();
  EXPECT_EQ(root->find("<<")->as_int(), 1);
}

TEST(YamlDocument, MultipleDocuments) {
  EXPECT_EQ(parse_error("a: 1\n---\nb: 2\n"),
            "t.yaml:2:1: a second YAML document starts here; the file must hold exactly one "
            "document");
}

TEST(YamlDocument, ExplicitSingleDocumentIsFine) {
  ConfigErrors errors;
  auto root = parse("---\na: 1\n...\n", errors);
  ASSERT_TRUE(root) << errors.to_string();
  EXPECT_EQ(root->find("a")->as_int(), 1);
}

TEST(YamlDocument, SyntaxErrorHasPosition) {
  // libyaml scans ahead, so the error comes before the key `a` is delivered: no path yet.
  EXPECT_EQ(parse_error("a: b: c\n"),
            "t.yaml:1:5: invalid YAML: mapping values are not allowed in this context");
}

TEST(YamlDocument, SyntaxErrorWithContext) {
  // An unclosed flow sequence swallows the rest of the file; libyaml reports it at the end.
  std::string error = parse_error("services:\n  - [1, 2\n  - x\n");
  EXPECT_EQ(error.rfind("t.yaml:4:1: services[0][2]: ", 0), 0u) << error;
  EXPECT_NE(error.find("invalid YAML: did not find expected ',' or ']' (while parsing a flow "
                       "sequence started at line 2 column 5)"),
            std::string::npos)
      << error;
}

TEST(YamlDocument, InvalidUtf8HasPosition) {
  std::string error = parse_error("a: ok\nb: \xff\n");
  EXPECT_EQ(error.rfind("t.yaml:2:4: ", 0), 0u) << error;
  EXPECT_NE(error.find("invalid YAML: invalid leading UTF-8 octet"), std::string::npos) << error;
}

TEST(YamlDocument, NonScalarKeys) {
  EXPECT_EQ(parse_error("? [a]\n: 1\n"), "t.yaml:1:3: map keys must be strings, got a list");
}

TEST(YamlDocument, JsonInput) {
  ConfigErrors errors;
  auto root = parse(R"({"a": [1, 2.5, true, null, "x"], "b": {"c": "d"}})", errors);
  ASSERT_TRUE(root) << errors.to_string();
  const ConfigNode& a = *root->find("a");
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0].as_int(), 1);
  EXPECT_EQ(a[1].as_double(), 2.5);
  EXPECT_EQ(a[2].as_bool(), true);
  EXPECT_TRUE(a[3].is_null());
  EXPECT_TRUE(a[4].quoted());
  EXPECT_EQ(root->find("b")->find("c")->scalar(), "d");
}

TEST(YamlDocument, Tags) {
  ConfigErrors errors;
  auto root = parse("a: !!str 123\nb: !!int 5\nc: ! 7\n", errors);
  ASSERT_TRUE(root) << errors.to_string();
  EXPECT_FALSE(root->find("a")->as_int());
  EXPECT_EQ(root->find("a")->scalar(), "123");
  EXPECT_EQ(root->find("b")->as_int(), 5);
  EXPECT_FALSE(root->find("c")->as_int());
  EXPECT_EQ(parse_error("a: 1\nc: !custom x\n"), "t.yaml:2:4: c: unsupported YAML tag '!custom'");
  EXPECT_EQ(parse_error("s: !!set {a: ~}\n"),
            "t.yaml:1:4: s: unsupported YAML tag 'tag:yaml.org,2002:set'");
}

TEST(YamlDocument, NestingIsBounded) {
  std::string deep(300, '[');
  deep += std::string(300, ']');
  ConfigErrors errors;
  auto root = parse_yaml_document(deep, "t.yaml", errors);
  EXPECT_EQ(root, nullptr);
  EXPECT_NE(errors.to_string().find("t.yaml:1:257: "), std::string::npos) << errors.to_string();
  EXPECT_NE(errors.to_string().find("nesting is deeper than 256 levels"), std::string::npos);
}

TEST(YamlDocument, EnvironmentSubstitution) {
  YamlOptions options;
  options.env = fake_env({{"PORT", "8080"}, {"HOST", "orders"}, {"EMPTY", ""}});
  ConfigErrors errors;
  auto root = parse(R"(
port: ${PORT}
host: "${HOST}.svc"
url: http://${HOST}:${PORT}/x
empty: ${EMPTY}
escaped: $${NOT_A_VAR}
dollars: cost $5 and $ {x}
${PORT}: keys are not substituted
anchored:
  &k ${HOST}: nor are anchored ones
)",
                    errors, options);
  ASSERT_TRUE(root) << errors.to_string();
  EXPECT_EQ(root->find("port")->as_int(), 8080) << "plain values are typed after substitution";
  EXPECT_EQ(root->find("host")->scalar(), "orders.svc");
  EXPECT_TRUE(root->find("host")->quoted());
  EXPECT_EQ(root->find("url")->scalar(), "http://orders:8080/x");
  EXPECT_TRUE(root->find("empty")->is_scalar()) << "an empty variable is \"\", not null";
  EXPECT_EQ(root->find("empty")->scalar(), "");
  EXPECT_EQ(root->find("escaped")->scalar(), "${NOT_A_VAR}");
  EXPECT_EQ(root->find("dollars")->scalar(), "cost $5 and $ {x}");
  EXPECT_NE(root->find("${PORT}"), nullptr);
  EXPECT_NE(root->find("anchored")->find("${HOST}"), nullptr);
}

TEST(YamlDocument, EnvironmentErrors) {
  YamlOptions options;
  options.env = fake_env({});
  EXPECT_EQ(parse_error("services:\n  - host: ${MISSING_VAR}\n", options),
            "t.yaml:2:11: services[0].host: environment variable MISSING_VAR is not set");
  EXPECT_EQ(parse_error("a: ${OOPS\n", options),
            "t.yaml:1:4: a: unterminated '${' in value; write '$${' for a literal '${'");
  EXPECT_EQ(parse_error("a: x${1X}\n", options),
            "t.yaml:1:4: a: invalid environment variable name '1X' in '${...}' (expected letters, "
            "digits and '_'); write '$${' for a literal '${'");
}

TEST(YamlDocument, EnvironmentSubstitutionCanBeDisabled) {
  YamlOptions options;
  options.substitute_env = false;
  ConfigErrors errors;
  auto root = parse("a: ${NOPE}\n", errors, options);
  ASSERT_TRUE(root) << errors.to_string();
  EXPECT_EQ(root->find("a")->scalar(), "${NOPE}");
}

TEST(YamlDocument, TreeOutlivesNothingButItsOwner) {
  ConfigErrors errors;
  auto root = parse("a: {b: [1]}\n", errors);
  ASSERT_TRUE(root);
  const ConfigNode* inner = &(*root->find("a")->find("b"))[0];
  std::shared_ptr<const ConfigNode> copy = root;
  root.reset();
  EXPECT_EQ(inner->as_int(), 1);
  EXPECT_EQ(inner->file(), "t.yaml");
}

}  // namespace
}  // namespace portico::config::testing
