// Chain: a route's compiled filters, one flat array per phase, in Kong's priority order.
//
// Contract: built on the control thread while compiling a snapshot; immutable afterwards and read
// by every worker. It keeps the filters alive.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "filter/filter.h"

namespace portico::filter {

class Chain {
 public:
  struct Entry {
    std::shared_ptr<const Filter> filter;
    int priority;
    std::string name;  // the plugin's name, for `portico routes` and logs
    int scope = 0;     // Kong's precedence of the instance's scope (see config/snapshot.cc)
  };
  struct Plugin {
    std::string name;
    int priority;
    int scope = 0;
  };
  // `entries` in any order; sorted by descending priority, equal priorities by plugin name.
  explicit Chain(std::vector<Entry> entries);
  Chain() = default;

  // `base` with `candidates` (instances for one consumer) merged in: a candidate replaces the
  // base instance of the same plugin when its scope ranks higher, and joins when the plugin has
  // none. The result keeps the filters alive like any chain.
  static Chain merged(const Chain& base, const std::vector<Entry>& candidates);

  // Where a request that switches to this chain in the middle of on_request resumes: the index
  // after `current` (the filter that just ran), or, if this chain lacks it, of the first filter
  // with a priority below `priority`.
  size_t resume_after(const Filter* current, int priority) const;
  int on_request_priority(size_t index) const { return on_request_priority_[index]; }

  const std::vector<const Filter*>& on_request() const { return on_request_; }
  const std::vector<const Filter*>& on_upstream_request() const { return on_upstream_request_; }
  const std::vector<const Filter*>& on_response() const { return on_response_; }
  const std::vector<const Filter*>& wrap_response_body() const { return wrap_response_body_; }
  const std::vector<const Filter*>& on_log() const { return on_log_; }
  size_t size() const { return owned_.size(); }
  // The plugins in execution order (descending priority).
  const std::vector<Plugin>& plugins() const { return plugins_; }
  // The plugin name of one of this chain's filters ("" if it is not one); a linear search, for
  // the rare paths (a filter that waited, for its trace span).
  std::string_view name_of(const Filter* f) const;

 private:
  std::vector<std::shared_ptr<const Filter>> owned_;
  std::vector<Plugin> plugins_;
  std::vector<int> on_request_priority_;
  std::vector<const Filter*> on_request_, on_upstream_request_, on_response_, wrap_response_body_,
      on_log_;
};

}  // namespace portico::filter
