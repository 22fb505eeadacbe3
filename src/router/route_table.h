// RouteTable: the compiled routes of one snapshot and Kong-style matching.
//
// Contract: built on the control thread (compile) and immutable afterwards; `match` is called by
// every worker concurrently and touches no shared mutable state.
//
// Matching follows Kong's traditional router (traditional_compatible flavour) for the fields
// supported so far (hosts, paths, methods, headers, snis): a route matches when every configured
// criterion matches. Among matching routes, in Kong's documented order of significance:
//   1. more criteria (each of hosts, methods, headers, snis, paths a route sets counts one);
//   2. a route whose hosts are all plain (or that has no hosts) before one with a wildcard host;
//   3. more header conditions;
//   4. regex paths before plain prefixes, regexes by higher `regex_priority`, prefixes by length;
//   5. configuration order (Kong: created_at).
// A route with several paths competes with each of them separately (as Kong 3.x splits routes by
// path), so its longest matching prefix or its best regex is what counts.
//
// SNI (Kong's route `snis`): the TLS server name of the connection, compared case-insensitively
// with each listed name ("*.x" / "x.*" wildcards as for hosts; a trailing dot in a listed name is
// ignored). As in Kong (since 2.3, PR #6517), the `snis` test applies to TLS requests only: a
// plaintext request (empty `sni`) matches a route with `snis` as if the field were unset (it still
// counts as a criterion for priority), and a route whose `protocols` leave out http then answers
// it with its https redirect. A TLS request whose client sent no SNI passes kTlsWithoutSni, which
// no listed name matches.
//
// Header conditions (Kong's route `headers`): each names a header and lists values; the condition
// holds when at least one request field of that name has a value equal to one listed value, ASCII
// case-insensitively. A condition whose only value starts with "~*" is a case-insensitive RE2
// searched anywhere in each field value (Kong's rule; "~*" among several values is plain text).
#pragma once

#include <re2/re2.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/out_buffer.h"
#include "filter/chain.h"

namespace portico::http {
class HeaderMap;
}

namespace portico::router {

// The `sni` argument of a TLS request whose client sent no server name: matches no `snis` entry.
inline constexpr std::string_view kTlsWithoutSni = ".";

struct HeaderCondition {
  std::string name;                 // lower-case
  std::vector<std::string> values;  // compared case-insensitively; empty when `regex` is set
  std::unique_ptr<RE2> regex;       // "~*" pattern, compiled case-insensitive; null for plain values
};

// True when some field of `headers` satisfies `condition`. Allocation-free.
bool header_condition_matches(const HeaderCondition& condition, const http::HeaderMap& headers);

enum class PathHandling : uint8_t { kV0, kV1 };

// A route's retry policy (Portico's Envoy-style `retry_policy`), compiled. The proxy reads it for
// each upstream exchange; docs/configuration.md "Retries" states the semantics.
struct RetryPolicy {
  // retry_on conditions, as bits.
  static constexpr uint32_t k5xx = 1u << 0;
  static constexpr uint32_t kGatewayError = 1u << 1;
  static constexpr uint32_t kReset = 1u << 2;
  static constexpr uint32_t kConnectFailure = 1u << 3;
  static constexpr uint32_t kRetriable4xx = 1u << 4;
  static constexpr uint32_t kRefusedStream = 1u << 5;
  static constexpr uint32_t kRetriableStatusCodes = 1u << 6;

  uint32_t retry_on = 0;
  uint32_t num_retries = 1;
  std::chrono::milliseconds per_try_timeout{0};  // 0 = none
  std::chrono::milliseconds base_interval{25};
  std::chrono::milliseconds max_interval{250};
  uint64_t replay_buffer_limit = 65536;  // request bodies up to this size are held for replay
  std::vector<uint16_t> retriable_status_codes;
  // Envoy's retry_budget; when set it replaces the upstream's max_retries for this route.
  struct Budget {
    double budget_percent = 20.0;  // of the upstream's active requests
    uint32_t min_retry_concurrency = 3;
  };
  std::optional<Budget> budget;

  bool on(uint32_t condition) const { return (retry_on & condition) != 0; }
  // True when a response with `status` is retried under this policy.
  bool retries_status(int status) const {
    if (on(k5xx) && status >= 500 && status <= 599) return true;
    if (on(kGatewayError) && status >= 502 && status <= 504) return true;
    if (on(kRetriable4xx) && status == 409) return true;
    if (on(kRetriableStatusCodes)) {
      for (uint16_t code : retriable_status_codes) {
        if (code == status) return true;
      }
    }
    return false;
  }
  // A connection closed or reset before a complete response head (Envoy: a reset).
  bool retries_reset() const { return on(k5xx | kGatewayError | kReset); }
  // A failed connect (Envoy counts it as a reset too).
  bool retries_connect_failure() const { return on(k5xx | kGatewayError | kReset | kConnectFailure); }
  // An attempt that ran out of per_try_timeout before its response head (Envoy: 5xx and
  // gateway-error treat it as a 504).
  bool retries_per_try_timeout() const { return on(k5xx | kGatewayError); }
};

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
  std::vector<std::string> snis;              // lower-case; "*.x" / "x.*" wildcards
  bool strip_path = true;
  bool preserve_host = false;
  int regex_priority = 0;
  PathHandling path_handling = PathHandling::kV0;
  // Kong `protocols` without "http": a plain-HTTP request that matches is answered with
  // `https_redirect_status_code` (426, or a redirect to https://) before any plugin runs.
  bool https_only = false;
  int https_redirect_status_code = 426;
  // Portico's route `timeout`: deadline for the whole upstream exchange (0 = none).
  std::chrono::milliseconds timeout{0};
  // Portico's route `retry_policy`; null = only the service's Kong `retries`.
  std::unique_ptr<const RetryPolicy> retry;
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

  // Finds the route for a request; `host` may carry a port, `headers` are the request's fields,
  // `sni` is the connection's TLS server name: empty for plaintext, kTlsWithoutSni for a TLS
  // connection without one.
  // Returns a null route when none matches. Allocation-free once the calling thread has matched
  // once (per-thread scratch keeps its capacity); the result points into this table.
  Match match(std::string_view method, std::string_view host, std::string_view path,
              const http::HeaderMap& headers, std::string_view sni = {}) const;
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  struct Candidate {
    const Route* route;
    int criteria;
    bool wildcard_host;  // some host pattern is "*.x" or "x.*"
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
                     const http::HeaderMap& headers, std::string_view sni) const;

  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<Candidate> ordered_;  // priority order; a candidate's rank is its position here
  std::unique_ptr<const RouteIndex> index_;
};

// True when the route's methods, snis and header conditions accept the request (hosts and paths
// are checked elsewhere). Allocation-free.
bool conditions_match(const Route& route, std::string_view method, std::string_view sni,
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

// SNI matching helper: exact (case-insensitive) or one-sided wildcard as for hosts, no port; a
// trailing dot in `pattern` is ignored (Kong's rule). An empty `sni` matches nothing.
bool sni_matches(std::string_view pattern, std::string_view sni);

// The host without its port ("[v6]" keeps its brackets); shared by host_matches and the index so
// both read a Host header the same way.
std::string_view strip_port(std::string_view host);

}  // namespace portico::router
