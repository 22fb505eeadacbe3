// docs/configuration.md documents every field that docs/portico.schema.json (itself kept equal to
// the loader's field lists by schema_sync_test.cc) declares: a field added to the loader and the
// schema but not to the reference fails here, naming the section and the field.
//
// A field counts as documented when it appears in backticks in the first cell of a table row of
// its entity's section (`| `field` | ...`, or `| `a`, `b` | ...` for fields sharing a row).
// Objects nested in the `portico` block (limits, timeouts, ...) need a row themselves and a row
// for each of their properties, written `key` or `block.key`, anywhere in that section.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/snapshot.h"
#include "filters/builtin.h"
#include "harness/test_pki.h"

namespace portico::config {
namespace {

std::string read_source_file(const std::string& relative) {
  std::ifstream f(std::string(PORTICO_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(f.good()) << "cannot read " << relative;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

// Heading level (number of leading '#') of a Markdown heading line, else 0.
size_t heading_level(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[n] == '#') ++n;
  return n > 0 && n < line.size() && line[n] == ' ' ? n : 0;
}

// The lines of the section whose heading text is `title` (any level), up to the next heading of
// the same or a higher level. Lines inside ``` fences are not taken for headings. Empty when the
// heading is missing.
std::vector<std::string> section(const std::vector<std::string>& lines, std::string_view title) {
  std::vector<std::string> out;
  size_t level = 0;
  bool fenced = false;
  for (const std::string& line : lines) {
    if (line.starts_with("```")) fenced = !fenced;
    size_t l = fenced ? 0 : heading_level(line);
    if (level == 0) {
      if (l > 0 && std::string_view(line).substr(l + 1) == title) level = l;
      continue;
    }
    if (l > 0 && l <= level) break;
    out.push_back(line);
  }
  return out;
}

// Every `name` in backticks in the first cell of the section's table rows.
std::set<std::string> documented_fields(const std::vector<std::string>& lines) {
  std::set<std::string> out;
  for (const std::string& line : lines) {
    if (!line.starts_with("|")) continue;
    size_t end = line.find('|', 1);
    std::string_view cell = std::string_view(line).substr(1, end == std::string::npos ? std::string::npos : end - 1);
    for (size_t open = cell.find('`'); open != std::string_view::npos; open = cell.find('`', open)) {
      size_t close = cell.find('`', open + 1);
      if (close == std::string_view::npos) break;
      out.emplace(cell.substr(open + 1, close - open - 1));
      open = close + 1;
    }
  }
  return out;
}

struct Entity {
  std::string schema_name;  // for messages: "services", "upstreams[].targets", ...
  std::string doc_section;  // heading text in docs/configuration.md
  const boost::json::object* properties;
};

class ConfigDocsSync : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_ = boost::json::parse(read_source_file("docs/portico.schema.json"));
    doc_ = split_lines(read_source_file("docs/configuration.md"));
  }

  const boost::json::object& def(std::string_view name) const {
    return schema_.as_object().at("$defs").as_object().at(name).as_object();
  }
  const boost::json::object& properties(std::string_view name) const {
    return def(name).at("properties").as_object();
  }

  // Fails once per field of `entity` that has no row in its section.
  void expect_documented(const Entity& entity) const {
    std::vector<std::string> lines = section(doc_, entity.doc_section);
    ASSERT_FALSE(lines.empty()) << "docs/configuration.md has no section \"" << entity.doc_section
                                << "\" (for " << entity.schema_name << ")";
    std::set<std::string> rows = documented_fields(lines);
    for (const auto& [key, value] : *entity.properties) {
      std::string field(key);
      EXPECT_TRUE(rows.count(field) != 0)
          << "docs/configuration.md, section \"" << entity.doc_section << "\": no table row for "
          << entity.schema_name << " field `" << field << "` (add a row starting with \"| `"
          << field << "`\")";
    }
  }

  boost::json::value schema_;
  std::vector<std::string> doc_;
};

TEST_F(ConfigDocsSync, EveryEntityFieldHasARow) {
  const auto& targets = properties("upstream").at("targets").at("items").at("properties").as_object();
  for (const Entity& entity : {
           Entity{"services", "Services", &properties("service")},
           Entity{"routes", "Routes", &properties("route")},
           Entity{"upstreams", "Upstreams", &properties("upstream")},
           Entity{"upstreams[].targets", "Targets", &targets},
           Entity{"consumers", "Consumers", &properties("consumer")},
           Entity{"keyauth_credentials", "API keys (`keyauth_credentials`)", &properties("keyauth_credential")},
           Entity{"basicauth_credentials", "Basic-auth credentials (`basicauth_credentials`)",
                  &properties("basicauth_credential")},
           Entity{"acls", "ACL groups (`acls`)", &properties("acl")},
           Entity{"ca_certificates", "CA certificates", &properties("ca_certificate")},
           Entity{"certificates", "Certificates", &properties("certificate")},
           Entity{"plugins", "Plugins", &properties("plugin")},
       }) {
    expect_documented(entity);
  }
}

TEST_F(ConfigDocsSync, EveryPorticoSettingHasARow) {
  const std::string title = "The `portico` block";
  const auto& portico = properties("portico");
  expect_documented(Entity{"portico", title, &portico});

  // Nested settings objects: each property needs a row, as `key` or `block.key`.
  std::set<std::string> rows = documented_fields(section(doc_, title));
  for (const auto& [block, value] : portico) {
    const boost::json::object* object = value.if_object();
    if (object == nullptr) continue;
    const boost::json::value* nested = object->if_contains("properties");
    if (nested == nullptr || !nested->is_object()) continue;
    for (const auto& [key, unused] : nested->as_object()) {
      std::string plain(key);
      std::string dotted = std::string(block) + "." + plain;
      EXPECT_TRUE(rows.count(plain) != 0 || rows.count(dotted) != 0)
          << "docs/configuration.md, section \"" << title << "\": no table row for portico."
          << dotted << " (add a row starting with \"| `" << plain << "`\" to the " << block
          << " table)";
    }
  }
}

// The helpers themselves: a missing row is reported, shared rows and nested headings count.
TEST(ConfigDocsSyncHelpers, FindsRowsOfOneSectionOnly) {
  std::vector<std::string> doc = split_lines(
      "# T\n"
      "## Routes\n"
      "| Field | Type |\n"
      "|---|---|\n"
      "| `paths` | list |\n"
      "| `created_at`, `updated_at` | integer |\n"
      "Text with | `hosts` | in it\n"
      "```\n"
      "## not a heading\n"
      "```\n"
      "### Sub\n"
      "| `sub_field` | x |\n"
      "## Upstreams\n"
      "| `name` | string |\n");
  std::set<std::string> rows = documented_fields(section(doc, "Routes"));
  EXPECT_EQ(rows, (std::set<std::string>{"paths", "created_at", "updated_at", "sub_field"}));
  EXPECT_EQ(documented_fields(section(doc, "Sub")), std::set<std::string>{"sub_field"});
  EXPECT_TRUE(section(doc, "Consumers").empty());
}

// Every ```yaml example of the reference loads and compiles as shown (with `_format_version`
// added where the example leaves it out), except the side-by-side nested/flat comparison.
TEST(ConfigDocsExamples, EveryYamlBlockLoadsAndCompiles) {
  ::setenv("ORDERS_HOST", "orders.internal", 1);
  ::setenv("ORDERS_PORT", "8080", 1);
  ::setenv("ORDERS_RETRIES", "3", 1);
  // PEMs for the TLS examples, made now (no key lives in the tree).
  const integration::Pem ca = integration::make_ca("Docs CA");
  const integration::Pem client = integration::make_leaf(ca, "docs-client", {}, {}, true);
  ::setenv("BILLING_CA_PEM", ca.cert.c_str(), 1);
  ::setenv("PORTICO_CLIENT_CERT", client.cert.c_str(), 1);
  ::setenv("PORTICO_CLIENT_KEY", client.key.c_str(), 1);
  filter::Registry registry;
  filters::register_builtin_plugins(registry);
  const std::vector<std::string> lines = split_lines(read_source_file("docs/configuration.md"));
  int blocks = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] != "```yaml") continue;
    std::string text;
    size_t first = i + 1;
    for (++i; i < lines.size() && !lines[i].starts_with("```"); ++i) text += lines[i] + "\n";
    if (text.starts_with("# nested")) continue;
    if (!text.starts_with("_format_version")) text = "_format_version: \"3.0\"\n" + text;
    ++blocks;
    CompileResult r = build_from_string(text, "configuration.md@" + std::to_string(first), registry);
    EXPECT_TRUE(r.ok()) << "the example at docs/configuration.md:" << first << " does not load:\n"
                        << r.errors.to_string() << "\n" << text;
  }
  EXPECT_GE(blocks, 7);
}

}  // namespace
}  // namespace portico::config
