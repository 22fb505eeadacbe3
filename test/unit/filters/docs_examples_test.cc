// Every YAML example in docs/plugins/*.md must load: the docs cannot drift from the code.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/object_reader.h"
#include "test_support.h"

namespace portico::filters {
namespace {

std::vector<std::string> yaml_blocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  const std::string open = "```yaml\n", close = "```";
  size_t at = 0;
  while ((at = markdown.find(open, at)) != std::string::npos) {
    at += open.size();
    size_t end = markdown.find(close, at);
    if (end == std::string::npos) break;
    blocks.push_back(markdown.substr(at, end - at));
    at = end + close.size();
  }
  return blocks;
}

// Creates every plugin found under any `plugins:` list of the document; returns how many.
int create_all(const core::ConfigNode& node, const std::string& path, core::ConfigErrors& errors) {
  int created = 0;
  if (node.is_sequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      created += create_all(node[i], core::path_index(path, i), errors);
    }
    return created;
  }
  for (const auto& [key, mark, value] : node.entries()) {
    std::string child_path = core::path_key(path, key);
    if (key == "plugins" && value.is_sequence()) {
      for (size_t i = 0; i < value.size(); ++i) {
        const core::ConfigNode& entry = value[i];
        const auto* factory = testing::builtin_registry().find(entry.find("name")->scalar());
        EXPECT_NE(factory, nullptr) << entry.find("name")->scalar();
        if (factory == nullptr) continue;
        const core::ConfigNode* config = entry.find("config");
        std::string config_path = core::path_key(core::path_index(child_path, i), "config");
        if (factory->create(config, config_path, errors)) ++created;
      }
    } else {
      created += create_all(value, child_path, errors);
    }
  }
  return created;
}

class DocsExamples : public ::testing::TestWithParam<const char*> {};

TEST_P(DocsExamples, Load) {
  std::string file = std::string(PORTICO_SOURCE_DIR) + "/docs/plugins/" + GetParam() + ".md";
  std::ifstream in(file);
  ASSERT_TRUE(in) << file;
  std::stringstream text;
  text << in.rdbuf();
  auto blocks = yaml_blocks(text.str());
  ASSERT_FALSE(blocks.empty());
  for (const auto& block : blocks) {
    core::ConfigErrors errors;
    auto document = config::parse_yaml_document(block, file, errors);
    ASSERT_TRUE(document) << errors.to_string();
    EXPECT_GT(create_all(*document, "", errors), 0);
    EXPECT_TRUE(errors.empty()) << errors.to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(Plugins, DocsExamples,
                         ::testing::Values("request-termination", "request-transformer",
                                           "response-transformer", "fault-injection", "prometheus",
                                           "opentelemetry", "correlation-id", "key-auth",
                                           "basic-auth", "acl", "ip-restriction",
                                           "request-size-limiting", "oauth2-introspection", "rate-limiting"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace portico::filters
