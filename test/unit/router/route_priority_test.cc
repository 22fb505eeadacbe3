// Kong's priority order, table-driven, and wildcard / port edge cases of host matching, checked
// through the compiled index and against the linear reference.
#include <gtest/gtest.h>

#include "http/header_map.h"
#include "route_table_peer.h"
#include "router/route_table.h"

namespace portico::router {
namespace {

struct Request : http::HeaderMap {};

struct Spec {
  const char* name;
  std::vector<std::string> paths;  // "~" marks a regex
  std::vector<std::string> hosts = {};
  std::vector<std::string> methods = {};
  std::vector<std::string> header_names = {};  // each condition accepts the value "1"
  int regex_priority = 0;
};

RouteTable build(const std::vector<Spec>& specs) {
  std::vector<std::unique_ptr<Route>> routes;
  for (size_t i = 0; i < specs.size(); ++i) {
    auto r = std::make_unique<Route>();
    r->index = i;
    r->name = specs[i].name;
    for (const auto& p : specs[i].paths) {
      if (!p.empty() && p[0] == '~') {
        r->regexes.push_back(std::make_unique<RE2>(p.substr(1)));
      } else {
        r->prefixes.push_back(p);
      }
    }
    r->hosts = specs[i].hosts;
    r->methods = specs[i].methods;
    for (const auto& h : specs[i].header_names) {
      HeaderCondition c;
      c.name = h;
      c.values = {"1"};
      r->headers.push_back(std::move(c));
    }
    r->regex_priority = specs[i].regex_priority;
    routes.push_back(std::move(r));
  }
  return RouteTable(std::move(routes));
}

struct Case {
  const char* what;
  std::vector<Spec> routes;
  const char* method;
  const char* host;
  const char* path;
  std::vector<std::string> headers;  // request fields, each with value "1"
  const char* expected;              // route name or "<none>"
  size_t matched_len = SIZE_MAX;     // SIZE_MAX = not checked
};

TEST(RoutePriority, KongOrderTable) {
  const std::vector<Case> cases = {
      {"more criteria beat a longer prefix",
       {{"long", {"/a/b/c"}}, {"host", {"/a"}, {"h.io"}}}, "GET", "h.io", "/a/b/c/d", {}, "host", 2},
      {"methods count as a criterion",
       {{"long", {"/a/b/c"}}, {"get", {"/a"}, {}, {"GET"}}}, "GET", "h", "/a/b/c", {}, "get"},
      {"method mismatch falls back",
       {{"long", {"/a/b/c"}}, {"get", {"/a"}, {}, {"GET"}}}, "POST", "h", "/a/b/c", {}, "long", 6},
      {"equal criteria: more header conditions win",
       {{"one", {"/a"}, {}, {}, {"x-a"}}, {"two", {"/a"}, {}, {}, {"x-a", "x-b"}}},
       "GET", "h", "/a", {"x-a", "x-b"}, "two"},
      {"header conditions must all hold",
       {{"one", {"/a"}, {}, {}, {"x-a"}}, {"two", {"/a"}, {}, {}, {"x-a", "x-b"}}},
       "GET", "h", "/a", {"x-a"}, "one"},
      {"regex before prefix, even a longer one",
       {{"prefix", {"/users/42"}}, {"regex", {"~/users/\\d+"}}}, "GET", "h", "/users/42/x", {},
       "regex", 9},
      {"higher regex_priority first",
       {{"low", {"~/u/.*"}, {}, {}, {}, 1}, {"high", {"~/u/\\d"}, {}, {}, {}, 5}}, "GET", "h",
       "/u/7", {}, "high", 4},
      {"equal regex_priority: config order",
       {{"first", {"~/u/\\d"}}, {"second", {"~/u/.*"}}}, "GET", "h", "/u/7", {}, "first"},
      {"longer prefix among plain prefixes",
       {{"short", {"/a"}}, {"longer", {"/a/b"}}, {"mid", {"/a/"}}}, "GET", "h", "/a/b/c", {},
       "longer", 4},
      {"equal prefixes: config order",
       {{"first", {"/a"}}, {"second", {"/a"}}}, "GET", "h", "/a", {}, "first"},
      {"second path of one route",
       {{"multi", {"/x", "/a/b"}}, {"other", {"/a"}}}, "GET", "h", "/a/b", {}, "multi", 4},
      {"prefix is byte-wise, not segment-wise",
       {{"ab", {"/ab"}}, {"a", {"/a"}}}, "GET", "h", "/abc", {}, "ab", 3},
      {"path match is case-sensitive", {{"a", {"/a"}}}, "GET", "h", "/A", {}, "<none>"},
      {"route without paths matches any path, consumes nothing",
       {{"any", {}, {"h.io"}}}, "GET", "h.io", "/anything", {}, "any", 0},
      {"equal criteria: a regex path sorts before a host-only route",
       {{"path", {"~/a"}}, {"host", {}, {"h.io"}}}, "GET", "h.io", "/a", {}, "path"},
      {"nothing matches", {{"a", {"/a"}, {"h.io"}}}, "GET", "other.io", "/a", {}, "<none>"},
  };
  for (const Case& c : cases) {
    RouteTable t = build(c.routes);
    Request req;
    for (const auto& h : c.headers) req.add(h, "1");
    Match m = t.match(c.method, c.host, c.path, req);
    Match lin = RouteTableTestPeer::linear(t, c.method, c.host, c.path, req);
    EXPECT_EQ(m.route ? m.route->name : "<none>", c.expected) << c.what;
    EXPECT_EQ(m.route, lin.route) << c.what;
    if (c.matched_len != SIZE_MAX) EXPECT_EQ(m.matched_prefix_len, c.matched_len) << c.what;
  }
}

struct HostCase {
  const char* pattern;
  const char* host;
  bool matches;
};

TEST(RoutePriority, WildcardHostEdgeCases) {
  const HostCase cases[] = {
      {"*.example.com", "a.example.com", true},
      {"*.example.com", "a.b.example.com", true},
      {"*.example.com", "example.com", false},
      {"*.example.com", ".example.com", false},  // nothing before the dot
      {"*.example.com", "A.EXAMPLE.COM", true},
      {"*.example.com", "a.example.com:8443", true},  // port ignored
      {"*.example.com", "a.example.com.", false},
      {"*.example.com", "aexample.com", false},
      {"example.*", "example.org", true},
      {"example.*", "example.co.uk", true},
      {"example.*", "example.", false},  // nothing after the dot
      {"example.*", "example", false},
      {"example.*", "EXAMPLE.org:80", true},
      {"example.*", "sub.example.org", false},
      {"*.example.com:8000", "a.example.com:8000", true},  // a pattern with a port needs it
      {"*.example.com:8000", "a.example.com:9000", false},
      {"*.example.com:8000", "a.example.com", false},
      {"example.com:8000", "EXAMPLE.com:8000", true},
      {"example.com:8000", "example.com", false},
      {"example.com", "example.com:1", true},
      {"[::1]", "[::1]:8000", true},
      {"[::1]", "[::1]", true},
      {"*", "anything", false},  // a lone "*" is not a wildcard
      {"*", "*", true},
      {"*.", "x.", true},  // suffix "." with a byte before it
  };
  for (const HostCase& c : cases) {
    RouteTable t = build({{"r", {"/"}, {c.pattern}}});
    Request req;
    Match m = t.match("GET", c.host, "/x", req);
    Match lin = RouteTableTestPeer::linear(t, "GET", c.host, "/x", req);
    EXPECT_EQ(host_matches(c.pattern, c.host), c.matches) << c.pattern << " " << c.host;
    EXPECT_EQ(lin.route != nullptr, c.matches) << c.pattern << " " << c.host;
    EXPECT_EQ(m.route, lin.route) << c.pattern << " vs " << c.host;
  }
}

TEST(RoutePriority, OverlappingWildcardsAndExactHosts) {
  // A request host can hit an exact group and several wildcard groups; the best rank wins.
  RouteTable t = build({{"suffix-long", {"/a/b"}, {"*.example.com"}},
                        {"exact", {"/a"}, {"api.example.com"}},
                        {"prefix", {"/a/b/c"}, {"api.*"}},
                        {"tld", {"/"}, {"*.com"}},
                        {"nohost", {"/a/b/c/d"}}});
  Request req;
  auto name = [&](const char* host, const char* path) {
    Match m = t.match("GET", host, path, req);
    EXPECT_EQ(m.route, RouteTableTestPeer::linear(t, "GET", host, path, req).route);
    return std::string(m.route ? m.route->name : "<none>");
  };
  EXPECT_EQ(name("api.example.com", "/a/b/c/d"), "prefix");
  EXPECT_EQ(name("api.example.com", "/a/b"), "suffix-long");
  EXPECT_EQ(name("api.example.com", "/a"), "exact");
  EXPECT_EQ(name("www.example.com", "/a"), "tld");
  EXPECT_EQ(name("api.example.org", "/a/b/c"), "prefix");
  EXPECT_EQ(name("other.org", "/a/b/c/d"), "nohost");
  EXPECT_EQ(name("other.org", "/a/b/c"), "<none>");
}

}  // namespace
}  // namespace portico::router
