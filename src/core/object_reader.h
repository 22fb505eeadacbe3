// ObjectReader: reads one configuration map against the set of keys its owner understands.
//
// Contract:
// - Construct it on a node (error "expected a map" if the node is not one; every getter then
//   returns false), ask for each known key with a getter / child() / require() / reject() /
//   ignore(), then call finish(): every key never asked for becomes "unknown field 'x'" at the
//   key's mark, with a did-you-mean hint and the list of known fields. Nothing is silently ignored.
// - Getters leave `out` unchanged and return false when the key is absent or null (explicit null
//   means "use the default", as in Kong). They record an error at the value's mark, with the
//   value's path (e.g. `services[0].port`), and return false on a wrong type or out-of-range value;
//   they return true only when `out` was written.
// - Typing is strict for numbers and booleans (a quoted "123" is not an integer; only true/false in
//   any of three casings is a boolean) and lenient for strings (plain `123` reads as "123"), except
//   that a plain boolean is rejected where a string is expected: it is almost always a mistake.
// - The reader keeps references to the node and to `errors`; both must outlive it. Keys are
//   copied, so they may be temporaries. Single-threaded.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_node.h"

namespace portico::core {

// Path helpers: path_key("services[0]", "port") == "services[0].port"; keys that are not plain
// identifiers are quoted: path_key("headers", "x.y") == "headers[\"x.y\"]".
std::string path_key(std::string_view base, std::string_view key);
std::string path_index(std::string_view base, size_t index);

// Standalone readers for one node (sequence items, references); same typing rules and messages
// as ObjectReader's getters. They record an error and return false on a type or range error.
bool read_string(const ConfigNode& node, const std::string& path, ConfigErrors& errors,
                 std::string& out);
bool read_bool(const ConfigNode& node, const std::string& path, ConfigErrors& errors, bool& out);
bool read_int(const ConfigNode& node, const std::string& path, ConfigErrors& errors, int64_t& out,
              int64_t min, int64_t max);
bool read_double(const ConfigNode& node, const std::string& path, ConfigErrors& errors, double& out,
                 double min, double max);
// Describes a value for messages: `a string ("abc")`, `an integer (12)`, `a map`.
std::string describe(const ConfigNode& node);

// Levenshtein distance (single-byte edits), for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

class ObjectReader {
 public:
  ObjectReader(const ConfigNode& node, std::string path, ConfigErrors& errors);
  ObjectReader(const ObjectReader&) = delete;
  ObjectReader& operator=(const ObjectReader&) = delete;

  bool valid() const { return valid_; }
  const ConfigNode& node() const { return node_; }
  const std::string& path() const { return path_; }
  ConfigErrors& errors() { return errors_; }
  std::string path_of(std::string_view key) const { return path_key(path_, key); }

  // Present and not null. Does not mark the key as used.
  bool has(std::string_view key) const;

  // The value, or nullptr when absent or null. Marks the key as used.
  const ConfigNode* child(std::string_view key);
  // Like child(), but records "expected a map/list" and returns nullptr for another kind.
  const ConfigNode* map(std::string_view key);
  const ConfigNode* sequence(std::string_view key);

  bool get(std::string_view key, std::string& out);
  bool get(std::string_view key, bool& out);
  bool get(std::string_view key, int& out, int min, int max);
  bool get(std::string_view key, int64_t& out, int64_t min, int64_t max);
  bool get(std::string_view key, uint16_t& out, uint16_t min, uint16_t max);
  bool get(std::string_view key, uint32_t& out, uint32_t min, uint32_t max);
  bool get(std::string_view key, uint64_t& out, uint64_t min, uint64_t max);
  bool get(std::string_view key, double& out, double min, double max);
  // A list of scalars read as strings; a lone scalar is an error (Kong requires arrays).
  bool get(std::string_view key, std::vector<std::string>& out);
  // A string that must be one of `allowed` (error lists them).
  bool get_enum(std::string_view key, std::string& out,
                std::initializer_list<std::string_view> allowed);

  // Error "missing required field 'x'" (at the map) when absent, "must not be null" when null.
  void require(std::string_view key);
  // If present, records `message` at the key (e.g. "not supported yet") and marks it used.
  void reject(std::string_view key, std::string_view message);
  // Accepts a key that has no effect (marks it used; it still appears among known fields).
  void ignore(std::string_view key);
  // Records `message` at the key's value (or at the map when the key is absent).
  void error(std::string_view key, std::string message);

  // Reports every key never asked for. Call once, after all getters.
  void finish();

 private:
  // Marks `key` as known and returns its value when present (null included), else nullptr.
  const ConfigNode* lookup(std::string_view key);
  template <typename T>
  bool get_integer(std::string_view key, T& out, T min, T max);

  const ConfigNode& node_;
  std::string path_;
  ConfigErrors& errors_;
  bool valid_ = false;
  // Which entries were asked for: a bit per entry, inline for maps of up to 64 keys (nearly all),
  // since a large file creates a reader per entity.
  bool is_used(size_t i) const { return i < 64 ? (used_small_ >> i) & 1 : used_large_[i - 64]; }
  void set_used(size_t i) {
    if (i < 64) {
      used_small_ |= uint64_t{1} << i;
    } else {
      used_large_[i - 64] = true;
    }
  }

  uint64_t used_small_ = 0;
  std::vector<bool> used_large_;
  // Keys asked for, in order, each followed by '\n' (may repeat): one buffer instead of one string
  // per key, since a large file creates a reader per entity.
  std::string known_;
};

}  // namespace portico::core
