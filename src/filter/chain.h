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
  };
  struct Plugin {
    std::string name;
    int priority;
  };
  // `entries` in any order; sorted by descending priority (stable, so equal priorities keep their
  // configuration order).
  explicit Chain(std::vector<Entry> entries);
  Chain() = default;

  const std::vector<const Filter*>& on_request() const { return on_request_; }
  const std::vector<const Filter*>& on_upstream_request() const { return on_upstream_request_; }
  const std::vector<const Filter*>& on_response() const { return on_response_; }
  const std::vector<const Filter*>& wrap_response_body() const { return wrap_response_body_; }
  const std::vector<const Filter*>& on_log() const { return on_log_; }
  size_t size() const { return owned_.size(); }
  // The plugins in execution order (descending priority).
  const std::vector<Plugin>& plugins() const { return plugins_; }

 private:
  std::vector<std::shared_ptr<const Filter>> owned_;
  std::vector<Plugin> plugins_;
  std::vector<const Filter*> on_request_, on_upstream_request_, on_response_, wrap_response_body_,
      on_log_;
};

}  // namespace portico::filter
