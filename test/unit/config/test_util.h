// Helpers for config tests: load YAML text written as a raw string literal whose first line break
// is dropped, so that line numbers in expected messages match the literal's lines.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "config/yaml_document.h"
#include "core/config_error.h"
#include "core/config_node.h"

namespace portico::config::testing {

inline std::string text(std::string_view literal) {
  if (!literal.empty() && literal.front() == '\n') literal.remove_prefix(1);
  return std::string(literal);
}

inline LoadResult load(std::string_view literal, const LoadOptions& options = {}) {
  return load_string(text(literal), "kong.yaml", options);
}

// Loads and expects success; the returned config is empty (and the test failed) otherwise.
inline Config load_ok(std::string_view literal, const LoadOptions& options = {}) {
  LoadResult result = load(literal, options);
  EXPECT_TRUE(result.ok()) << result.errors.to_string();
  return result.config ? std::move(*result.config) : Config{};
}

// Loads and expects failure; returns all errors, one per line.
inline std::string load_errors(std::string_view literal, const LoadOptions& options = {}) {
  LoadResult result = load(literal, options);
  EXPECT_FALSE(result.ok());
  return result.errors.to_string();
}

// Parses YAML text (first line break dropped) into a tree; nullptr on error.
inline std::shared_ptr<const core::ConfigNode> parse(std::string_view literal,
                                                     core::ConfigErrors& errors,
                                                     const YamlOptions& options = {}) {
  return parse_yaml_document(text(literal), "t.yaml", errors, options);
}

// An environment for ${VAR} tests that does not depend on the process environment.
inline EnvLookup fake_env(std::vector<std::pair<std::string, std::string>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : vars) {
      if (k == name) return v;
    }
    return std::nullopt;
  };
}

// A service `svc` with one nested route whose body is `fields` (eight-space indentation).
// Lines: 1 _format_version, 2 services:, 3 - name: svc, 4 host, 5 routes:, 6 - name: r, 7+ fields.
inline std::string route_yaml(std::string_view fields) {
  return "_format_version: \"3.0\"\nservices:\n  - name: svc\n    host: h\n    routes:\n"
         "      - name: r\n" +
         std::string(fields);
}

inline Route load_route(std::string_view fields) {
  LoadResult result = load_string(route_yaml(fields), "kong.yaml");
  EXPECT_TRUE(result.ok()) << result.errors.to_string();
  if (!result.ok() || result.config->routes.empty()) return {};
  return result.config->routes[0];
}

inline std::string route_errors(std::string_view fields) {
  LoadResult result = load_string(route_yaml(fields), "kong.yaml");
  EXPECT_FALSE(result.ok());
  return result.errors.to_string();
}

}  // namespace portico::config::testing
