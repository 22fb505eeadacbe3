// HeaderOps: Kong's five header operations of the transformer plugins (request-transformer,
// response-transformer), read from their `config:` and applied to a HeaderMap.
//
// Contract:
// - Filled on the control thread while a snapshot compiles (`read()` once per operation map, e.g.
//   `config.add`), immutable afterwards and applied by any worker through `apply()`.
// - Every name and value is validated when read: names must be RFC 9110 tokens, values valid field
//   values; an entry that Kong would silently skip (empty value) is an error here, never ignored.
// - `apply()` hands the HeaderMap views of the strings owned here. That is safe because the filter
//   owning this object lives in the snapshot, which every request holds until it ends.
// - Order is Kong's: remove, rename, replace, add, append; within one operation, list order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/object_reader.h"
#include "http/header_map.h"

namespace portico::filters {

// Kong's typedefs.header_name: letters, digits, '-' and '_' — stricter than an HTTP token because
// Kong also looks the same name up among query arguments and nginx variables.
bool is_kong_header_name(std::string_view name);


class HeaderOps {
 public:
  enum class Kind : uint8_t { kRemove, kRename, kReplace, kAdd, kAppend };

  struct Options {
    // request-transformer: Kong renders `$(...)` in values as templates; until Portico does too, a
    // value using one is an error rather than a header carrying the literal template text.
    bool reject_templates = false;
    // request-transformer: Kong lets only `replace` touch Host (it skips Host everywhere else),
    // so naming Host elsewhere is an error that says so.
    bool host_only_in_replace = false;
  };

  // remove: `name` only. rename: name = old, value = new name. Others: name and value.
  struct Entry {
    std::string name;
    std::string value;
  };

  // Reads the `headers` list of one operation map through `op` (whose path is e.g.
  // "...config.add"). Errors go to op.errors() at the offending list item.
  void read(core::ObjectReader& op, Kind kind, const Options& options);

  void apply(http::HeaderMap& headers) const;

  bool empty() const {
    return remove_.empty() && rename_.empty() && replace_.empty() && add_.empty() && append_.empty();
  }
  const std::vector<std::string>& removes() const { return remove_; }
  const std::vector<Entry>& renames() const { return rename_; }
  const std::vector<Entry>& replaces() const { return replace_; }
  const std::vector<Entry>& adds() const { return add_; }
  const std::vector<Entry>& appends() const { return append_; }

 private:
  std::vector<std::string> remove_;
  std::vector<Entry> rename_, replace_, add_, append_;
};

// Recognises a Kong field Portico does not implement yet. Its default (absent, null, an empty list
// or empty string: what `deck dump` writes for unused fields) is accepted so exported files load;
// anything else is an error at the value: "<message>".
void reject_unless_default(core::ObjectReader& reader, std::string_view key, std::string_view message);

// Kong's operation keys in Kong's order (remove, rename, replace, add, append), shared by the
// request- and response-transformer config readers.
struct HeaderOpKey {
  std::string_view key;
  HeaderOps::Kind kind;
};
inline constexpr HeaderOpKey kHeaderOpKeys[] = {
    {"remove", HeaderOps::Kind::kRemove},   {"rename", HeaderOps::Kind::kRename},
    {"replace", HeaderOps::Kind::kReplace}, {"add", HeaderOps::Kind::kAdd},
    {"append", HeaderOps::Kind::kAppend},
};

}  // namespace portico::filters
