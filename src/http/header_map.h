// HeaderMap: an ordered, mutable list of header fields for one message on its way through the proxy.
//
// Contract: single-threaded; owned by one request. Names and values are views. Views that came from
// the codec point into the connection's read buffer, which stays put while the head is in use; any
// new text a filter adds must be made stable with `own()` (copied into the request's arena) unless it
// lives at least as long as the request (config strings of the snapshot do). Lookups are ASCII
// case-insensitive. `clear()` keeps capacity so steady-state requests allocate nothing.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "core/arena.h"

namespace portico::http {

bool iequals(std::string_view a, std::string_view b);

class HeaderMap {
 public:
  struct Field {
    std::string_view name;
    std::string_view value;
  };

  HeaderMap() { fields_.reserve(32); }

  void clear() {
    fields_.clear();
    arena_.reset();
  }

  // Copies text into the map's arena; the view lives until clear().
  std::string_view own(std::string_view s) { return arena_.copy(s); }
  core::Arena& arena() { return arena_; }

  void add(std::string_view name, std::string_view value) { fields_.push_back({name, value}); }
  // Replaces every field called `name` with one field (added at the end when absent).
  void set(std::string_view name, std::string_view value);
  // Appends `value` to the first field called `name` as a comma-separated list, or adds the field.
  void append_value(std::string_view name, std::string_view value);
  size_t remove(std::string_view name);
  // Renames every field called `from`; returns how many were renamed.
  size_t rename(std::string_view from, std::string_view to);

  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  size_t count(std::string_view name) const;

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  const Field& operator[](size_t i) const { return fields_[i]; }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }
  // Removes fields for which pred(field) is true, keeping order.
  template <class Pred>
  size_t remove_if(Pred pred) {
    size_t w = 0;
    for (size_t r = 0; r < fields_.size(); ++r) {
      if (!pred(fields_[r])) fields_[w++] = fields_[r];
    }
    size_t removed = fields_.size() - w;
    fields_.resize(w);
    return removed;
  }

 private:
  std::vector<Field> fields_;
  core::Arena arena_{2048};
};

}  // namespace portico::http
