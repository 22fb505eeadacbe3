// ConfigNode: one node of a parsed configuration document (YAML or JSON), with source marks.
//
// Contract:
// - A tree is built once by a parser (config/yaml_document.h) through the non-const `append_*`
//   members, then published as `std::shared_ptr<const ConfigNode>` and never changed again, so it
//   may be read from any thread. Consumers hold plain pointers/references into the tree for as long
//   as they hold (a copy of) that shared_ptr; `file()` points at a name owned by the document.
// - Scalars keep their source text. `quoted()` tells a quoted/block scalar (always a string) from
//   a plain one, whose type is resolved on demand: `as_bool()` accepts only true/false/True/False/
//   TRUE/FALSE (YAML 1.1 yes/no/on/off are NOT booleans here), `as_int()` accepts decimal integers,
//   `as_double()` decimal numbers. Plain null/Null/NULL/~/empty become Kind::kNull at parse time.
// - Maps keep insertion order and the mark of each key; keys are unique (the parser rejects
//   duplicates), so `find()` returns the only match. Lookups are linear: maps are small.
// - Marks are 1-based line and column as editors show them; line 0 means "no position".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::core {

struct Mark {
  uint32_t line = 0;
  uint32_t column = 0;
};

class ConfigNode {
 public:
  enum class Kind : uint8_t { kNull, kScalar, kSequence, kMap };

  // One map entry as seen through iteration; references point into the tree.
  struct Entry {
    const std::string& key;
    Mark key_mark;
    const ConfigNode& value;
  };

  ConfigNode() = default;
  ConfigNode(Kind kind, Mark mark, const std::string* file)
      : kind_(kind), mark_(mark), file_(file) {}
  static ConfigNode scalar(std::string text, bool quoted, Mark mark, const std::string* file);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_scalar() const { return kind_ == Kind::kScalar; }
  bool is_sequence() const { return kind_ == Kind::kSequence; }
  bool is_map() const { return kind_ == Kind::kMap; }
  Mark mark() const { return mark_; }
  // The source file name ("" when the tree was built without one).
  const std::string& file() const;

  // Scalars. `scalar()` is the text after environment substitution ("" for non-scalars).
  const std::string& scalar() const { return scalar_; }
  bool quoted() const { return quoted_; }
  std::optional<bool> as_bool() const;
  std::optional<int64_t> as_int() const;    // nullopt also when out of int64 range
  std::optional<double> as_double() const;  // integers are numbers too
  // True for a plain scalar that reads as a decimal integer but overflows int64.
  bool is_out_of_range_int() const;

  // Human words for error messages: "null", "a string", "a boolean", "an integer", "a number",
  // "a list", "a map". Plain scalars are described by what they resolve to.
  std::string_view type_name() const;

  // Sequences and maps: number of items / entries (0 otherwise).
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Sequence item or map value by position; `i < size()` is the caller's duty.
  const ConfigNode& operator[](size_t i) const { return items_[i]; }

  // Maps.
  const ConfigNode* find(std::string_view key) const;
  // Position of `key` in the map, or -1.
  std::ptrdiff_t index_of(std::string_view key) const;
  const std::string& key(size_t i) const { return keys_[i].name; }
  Mark key_mark(size_t i) const { return keys_[i].mark; }
  Entry entry(size_t i) const { return Entry{keys_[i].name, keys_[i].mark, items_[i]}; }

  class EntryIterator {
   public:
    EntryIterator(const ConfigNode* node, size_t i) : node_(node), i_(i) {}
    Entry operator*() const { return node_->entry(i_); }
    EntryIterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const EntryIterator& o) const { return i_ == o.i_; }

   private:
    const ConfigNode* node_;
    size_t i_;
  };
  struct EntryRange {
    const ConfigNode* node;
    EntryIterator begin() const { return {node, 0}; }
    EntryIterator end() const { return {node, node->keys_.size()}; }
  };
  // `for (auto [key, key_mark, value] : node.entries())`; empty for non-maps.
  EntryRange entries() const { return EntryRange{this}; }

  // Building (parsers only, before the tree is published as const).
  void append_item(ConfigNode item) { items_.push_back(std::move(item)); }
  void append_entry(std::string key, Mark key_mark, ConfigNode value) {
    keys_.push_back(Key{std::move(key), key_mark});
    items_.push_back(std::move(value));
  }
  void reserve(size_t n) {
    items_.reserve(n);
    if (kind_ == Kind::kMap) keys_.reserve(n);
  }
  void set_mark(Mark mark) { mark_ = mark; }
  // Number of nodes in this subtree, this one included.
  size_t count_nodes() const;

 private:
  struct Key {
    std::string name;
    Mark mark;
  };

  Kind kind_ = Kind::kNull;
  bool quoted_ = false;
  Mark mark_;
  const std::string* file_ = nullptr;
  std::string scalar_;
  std::vector<ConfigNode> items_;  // sequence items, or map values parallel to keys_
  std::vector<Key> keys_;
};

}  // namespace portico::core
