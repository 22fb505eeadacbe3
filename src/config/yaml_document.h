// parse_yaml_document: YAML 1.2 text (JSON included) → an immutable core::ConfigNode tree.
//
// Contract:
// - Runs on the control thread while loading; no I/O beyond the environment lookup.
// - Exactly one document. An empty text (or only comments) gives a null root. A second document,
//   a duplicate key in a map, a merge key (`<<`), an unsupported tag, an unknown alias, nesting
//   deeper than kMaxDepth or a syntax error is recorded in `errors` with file:line:column and the
//   YAML path, and the function returns nullptr (it also returns nullptr after any other error).
// - Anchors and aliases work: an alias is a copy of the anchored node (its root takes the alias's
//   mark). Every copy — the one an anchor keeps and each alias — counts against
//   `max_alias_nodes` in total, so "billion laughs" texts and nested anchors fail fast; an alias
//   whose copy would make the tree deeper than kMaxDepth is an error, so no tree is ever deeper.
// - `${NAME}` in a scalar value (quoted or not, whole or part) is replaced by the environment
//   variable NAME; `$${` is a literal `${`; an unset variable is an error naming it. Keys are not
//   substituted. A plain scalar is typed after substitution (`port: ${PORT}` is an integer), but
//   null-ness is decided by the source text (`${EMPTY}` set to "" is the empty string, not null).
// - The returned tree and every node's file() name are owned by the shared_ptr.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"

namespace portico::config {

// Looks up an environment variable: nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

struct YamlOptions {
  static constexpr size_t kMaxDepth = 256;

  EnvLookup env;  // empty = the process environment (getenv)
  bool substitute_env = true;
  size_t max_alias_nodes = 1'000'000;
};

std::shared_ptr<const core::ConfigNode> parse_yaml_document(std::string_view text,
                                                            std::string file_name,
                                                            core::ConfigErrors& errors,
                                                            const YamlOptions& options = {});

}  // namespace portico::config
