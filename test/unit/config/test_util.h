// Helpers for config tests: load YAML text written as a raw string literal whose first line break
// is dropped, so that line numbers in expected messages match the literal's lines.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/loader.h"

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

}  // namespace portico::config::testing
