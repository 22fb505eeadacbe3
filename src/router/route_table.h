// RouteTable: the compiled routes of one snapshot and Kong-style matching.
//
// Contract: built on the control thread (compile) and immutable afterwards; `match` is called by
// every worker concurrently and touches no shared mutable state.
//
// Matching follows Kong's traditional router for the fields supported so far (hosts, paths,
// methods, headers): a route matches when every configured criterion matches; among matching
// routes the one with more criteria (categories) wins, then the one with more header conditions,
// then regex paths by `regex_priority` before plain prefixes, then the longer plain path prefix,
// then configuration order.
//
// Header conditions (Kong's route `headers`): each names a header and lists values; the condition
// holds when at least one request field of that name has a value equal to one listed value, ASCII
// case-insensitively. A condition whose only value starts with "~*" is a case-insensitive RE2
// searched anywhere in each field value (Kong's rule; "~*" among several values is plain text).
#pragma once

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/out_buffer.h"
#include "filter/chain.h"

namespace portico::http {
class HeaderMap;
}

namespace portico::router {

struct HeaderCondition {
  std::string name;                 // lower-case
  std::vector<std::string> values;  // compared case-insensitively; empty when `regex` is set
  std::unique_ptr<RE2> regex;       // "~*" pattern, compiled case-insensitive; null for plain values
};

// True when some field of `headers` satisfies `condition`. Allocation-free.
bool header_condition_matches(const HeaderCondition& condition, const http::HeaderMap& headers);

enum class PathHandling : uint8_t { kV0, kV1 };

struct Route {
  size_t index = 0;
  std::string name;
  std::string service_name;
  size_t cluster = SIZE_MAX;  // index into the snapshot's clusters; SIZE_MAX = no service
  std::vector<std::string> hosts;     // lower-case; "*.x" / "x.*" wildcards
  std::vector<std::string> methods;   // upper-case
  std::vector<std::string> prefixes;  // plain path prefixes
  std::vector<std::unique_ptr<RE2>> regexes;  // "~" paths, anchored at the start
  std::vector<HeaderCondition> headers;       // all must hold
  bool strip_path = true;
  bool preserve_host = false;
  int regex_priority = 0;
  PathHandling path_handling = PathHandling::kV0;
  filter::Chain chain;
};

struct Match {
  const Route* route = nullptr;
  size_t matched_prefix_len = 0;  // bytes of the request path the matching path consumed
};

class RouteIndex;

class RouteTable {
 public:
  // Takes the routes in configuration order. Compiles the lookup index (route_index.h), so
  // matching time does not grow with the number of routes.
  explicit RouteTable(std::vector<std::unique_ptr<Route>> routes);
  RouteTable();
  ~RouteTable();
  RouteTable(RouteTable&&) noexcept;
  RouteTable& operator=(RouteTable&&) noexcept;

  // Finds the route for a request; `host` may carry a port, `headers` are the request's fields.
  // Returns a null route when none matches. Allocation-free; the result points into this table.
  Match match(std::string_view method, std::string_view host, std::string_view path,
              const http::HeaderMap& headers) const;
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  struct Candidate {
    const Route* route;
    int criteria;
    size_t header_count;
    int kind;          // 0 = plain prefix or no path, 1 = regex
    size_t prefix_len; // plain prefix length (0 when none)
    int regex_priority;
    size_t order;
    size_t path_index; // which prefix/regex of the route
  };
  friend struct RouteTableTestPeer;  // differential tests compare match() with match_linear()

  // The reference implementation: the first candidate in priority order that matches. O(routes).
  Match match_linear(std::string_view method, std::string_view host, std::string_view path,
                     const http::HeaderMap& headers) const;

  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<Candidate> ordered_;  // priority order; a candidate's rank is its position here
  std::unique_ptr<const RouteIndex> index_;
};

// True when the route's methods and header conditions accept the request (hosts and paths are
// checked elsewhere). Allocation-free.
bool method_and_headers_match(const Route& route, std::string_view method,
                              const http::HeaderMap& headers);

// Named captures of `match`'s regex path for `path` (appends name/value views to `out`; nothing
// for prefix routes or regexes without named groups). Views point into the route and `path`.
void named_captures(const Match& match, std::string_view path,
                    std::vector<std::pair<std::string_view, std::string_view>>& out);

// Builds the path sent upstream (Kong's strip_path / path_handling rules), appending to `out`.
void upstream_path(const Route& route, std::string_view service_path, std::string_view request_path,
                   size_t matched_prefix_len, core::OutBuffer& out);

// Host matching helper: exact (case-insensitive) or one-sided wildcard; `host` may carry a port.
bool host_matches(std::string_view pattern, std::string_view host);

}  // namespace portico::router
