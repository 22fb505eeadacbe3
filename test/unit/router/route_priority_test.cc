// Kong's priority order, table-driven, and wildcard / port edge cases of host matching, checked
// through the compiled index and against the linear reference.
//
// Each row of RoutePriority.KongOrderTable cites the rule of Kong's documentation it checks:
// "Traditional router" (developer.konghq.com/gateway/routing/traditional/), sections
//   [criteria]  Routing criteria: a request must include all configured fields, and match one
//               of the values of each;
//   [hosts]     Host header / Using wildcard hostnames;
//   [headers]   Headers: names are a logical AND, values a logical OR;
//   [paths]     Path: prefix match, "the longest paths get evaluated first";
//   [regex]     Using regex in paths: "~" marks a regex, anything else is plain text; Kong anchors
//               regexes at the start of the path;
//   [regex-order] Regex evaluation order: by regex_priority (higher first), with the documented
//               example of four routes;
//   [sni]       SNI: any listed name may match the connection's SNI, which stays the same for all
//               requests of a connection whatever their Host;
//   Route priority, "Determining priority for traditional (compatible) mode":
//   [P1]        priority points / match weight: one per field the route sets among methods, hosts,
//               headers, snis, paths (the compatible mode's wording: "for each of the following
//               fields that a Route specifies"), more first; with the documented example of a
//               hosts route and a hosts + methods route;
//   [P2]        wildcard hosts: among equal points, routes without a wildcard host (or with no host
//               at all) before routes with any wildcard host;
//   [P3]        header count: more header names first;
//   [P4]        regular expressions and prefix paths: regex paths first, by regex_priority; plain
//               paths by length;
//   [P5]        creation date (traditional mode; the compatible mode leaves it open): Portico uses
//               configuration order.
// A route with several paths competes once per path, as Kong 3.x (traditional_compatible) splits
// such a route into one route per path length and one for its regexes.
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
  std::vector<std::string> snis = {};
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
    r->snis = specs[i].snis;
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
  const char* sni = "";              // the connection's TLS SNI; "" = plaintext
};

constexpr size_t kAny = SIZE_MAX;

// Kong's documented example routes, shared by several rows.
const std::vector<Spec> kCriteriaExample = {
    {"r", {"/foo", "/bar"}, {"example.com", "foo-service.com"}, {"GET"}}};
const std::vector<Spec> kWeightExample = {{"hosts", {}, {"example.com"}},
                                          {"hosts+methods", {}, {"example.com"}, {"POST"}}};
const std::vector<Spec> kRegexOrderExample = {
    {"status", {"~/status/\\d+"}, {}, {}, {}, 0},
    {"version-status", {"~/version/\\d+/status/\\d+"}, {}, {}, {}, 6},
    {"version", {"/version"}},
    {"version-any", {"~/version/any/"}}};
const std::vector<Spec> kSniExample = {{"tls", {"/"}, {}, {}, {}, 0, {"foo.test", "example.com"}}};

TEST(RoutePriority, KongOrderTable) {
  const std::vector<Case> cases = {
      // [criteria] the documented route {hosts, paths, methods}: three requests that match...
      {"[criteria] all fields match", kCriteriaExample, "GET", "example.com", "/foo", {}, "r", 4},
      {"[criteria] another host and path of the lists", kCriteriaExample, "GET",
       "foo-service.com", "/bar", {}, "r", 4},
      {"[criteria] a longer path under a listed prefix", kCriteriaExample, "GET", "example.com",
       "/foo/hello/world", {}, "r", 4},
      // ...and three that satisfy only two of the three fields.
      {"[criteria] path not listed", kCriteriaExample, "GET", "example.com", "/", {}, "<none>"},
      {"[criteria] method not listed", kCriteriaExample, "POST", "example.com", "/foo", {},
       "<none>"},
      {"[criteria] host not listed", kCriteriaExample, "GET", "foo.com", "/foo", {}, "<none>"},

      // [P1] the documented pair: the hosts + methods route is evaluated first.
      {"[P1] documented example: GET takes the hosts route", kWeightExample, "GET",
       "example.com", "/", {}, "hosts"},
      {"[P1] documented example: POST takes the hosts + methods route", kWeightExample, "POST",
       "example.com", "/", {}, "hosts+methods"},
      {"[P1] a third route with hosts, methods and paths is evaluated first",
       {kWeightExample[0], kWeightExample[1], {"all-three", {"/"}, {"example.com"}, {"POST"}}},
       "POST", "example.com", "/x", {}, "all-three", 1},
      {"[P1] more criteria beat a longer prefix",
       {{"long", {"/a/b/c"}}, {"host", {"/a"}, {"h.io"}}}, "GET", "h.io", "/a/b/c/d", {}, "host",
       2},
      {"[P1] methods count as a criterion",
       {{"long", {"/a/b/c"}}, {"get", {"/a"}, {}, {"GET"}}}, "GET", "h", "/a/b/c", {}, "get"},
      {"[P1] method mismatch falls back to the next route",
       {{"long", {"/a/b/c"}}, {"get", {"/a"}, {}, {"GET"}}}, "POST", "h", "/a/b/c", {}, "long", 6},
      {"[P1] headers count as one criterion",
       {{"long", {"/a/b/c"}}, {"hdr", {"/a"}, {}, {}, {"x-a"}}}, "GET", "h", "/a/b/c", {"x-a"},
       "hdr", 2},
      {"[P1] snis count as one criterion",
       {{"long", {"/a/b/c"}}, {"tls", {"/a"}, {}, {}, {}, 0, {"h.io"}}}, "GET", "h", "/a/b/c", {},
       "tls", 2, "h.io"},
      {"[P1] one point per field, not per value: equal weight falls to configuration order",
       {{"one-host", {"/a"}, {"h.io"}}, {"three-hosts", {"/a"}, {"x.io", "h.io", "y.io"}}}, "GET",
       "h.io", "/a", {}, "one-host"},
      {"[P1] equal weight: a regex path sorts before a host-only route",
       {{"path", {"~/a"}}, {"host", {}, {"h.io"}}}, "GET", "h.io", "/a", {}, "path"},
      {"[P1] more criteria beat a plain host over a wildcard",
       {{"plain", {}, {"h.io"}}, {"wild", {"/"}, {"*.io"}}}, "GET", "h.io", "/x", {}, "wild"},

      // [P2] wildcard hosts.
      {"[P2] plain host before wildcard host, even with a shorter path",
       {{"wild", {"/a/b"}, {"*.example.com"}}, {"plain", {"/a"}, {"api.example.com"}}}, "GET",
       "api.example.com", "/a/b", {}, "plain", 2},
      {"[P2] one wildcard among plain hosts makes the route a wildcard one",
       {{"mixed", {"/a/b"}, {"api.example.com", "*.example.org"}},
        {"plain", {"/a"}, {"api.example.com"}}},
       "GET", "api.example.com", "/a/b", {}, "plain"},
      {"[P2] a route without hosts ranks with plain hosts",
       {{"wild", {"/a/b"}, {"*.example.com"}}, {"no-host", {"/a"}, {}, {"GET"}}}, "GET",
       "api.example.com", "/a/b", {}, "no-host"},
      {"[P2] two wildcard routes: path length decides",
       {{"prefix-wild", {"/a"}, {"api.*"}}, {"suffix-wild", {"/a/b"}, {"*.example.com"}}}, "GET",
       "api.example.com", "/a/b", {}, "suffix-wild"},
      {"[P2] the wildcard rule comes before the header count",
       {{"wild", {}, {"*.io"}, {}, {"x-a", "x-b"}}, {"plain", {}, {"h.io"}, {}, {"x-a"}}}, "GET",
       "h.io", "/", {"x-a", "x-b"}, "plain"},
      {"[P2] a wildcard route still matches when the plain one does not",
       {{"wild", {"/a/b"}, {"*.example.com"}}, {"plain", {"/a"}, {"api.example.com"}}}, "GET",
       "www.example.com", "/a/b", {}, "wild", 4},

      // [P3] header count.
      {"[P3] equal criteria: more header conditions win",
       {{"one", {"/a"}, {}, {}, {"x-a"}}, {"two", {"/a"}, {}, {}, {"x-a", "x-b"}}},
       "GET", "h", "/a", {"x-a", "x-b"}, "two"},
      {"[P3][headers] header conditions must all hold",
       {{"one", {"/a"}, {}, {}, {"x-a"}}, {"two", {"/a"}, {}, {}, {"x-a", "x-b"}}},
       "GET", "h", "/a", {"x-a"}, "one"},
      {"[P3] the header count comes before regex paths",
       {{"regex", {"~/a"}, {}, {}, {"x-a"}}, {"prefix", {"/a"}, {}, {}, {"x-a", "x-b"}}}, "GET",
       "h", "/a", {"x-a", "x-b"}, "prefix"},

      // [P4] regex paths, then prefixes by length.
      {"[P4] regex before prefix, even a longer one",
       {{"prefix", {"/users/42"}}, {"regex", {"~/users/\\d+"}}}, "GET", "h", "/users/42/x", {},
       "regex", 9},
      {"[P4] regex before prefix whatever its regex_priority",
       {{"prefix", {"/a/b/c"}}, {"regex", {"~/a"}, {}, {}, {}, -5}}, "GET", "h", "/a/b/c", {},
       "regex", 2},
      {"[P4] higher regex_priority first",
       {{"low", {"~/u/.*"}, {}, {}, {}, 1}, {"high", {"~/u/\\d"}, {}, {}, {}, 5}}, "GET", "h",
       "/u/7", {}, "high", 4},
      {"[P4][P5] equal regex_priority: configuration order",
       {{"first", {"~/u/\\d"}}, {"second", {"~/u/.*"}}}, "GET", "h", "/u/7", {}, "first"},
      {"[P4] regex_priority does not order plain prefixes",
       {{"short", {"/a"}, {}, {}, {}, 10}, {"long", {"/a/b"}}}, "GET", "h", "/a/b/c", {}, "long",
       4},
      {"[P4][paths] longer prefix among plain prefixes",
       {{"short", {"/a"}}, {"longer", {"/a/b"}}, {"mid", {"/a/"}}}, "GET", "h", "/a/b/c", {},
       "longer", 4},
      {"[paths] documented example: /service/resource is not shadowed by /service",
       {{"service", {"/service"}}, {"resource", {"/service/resource"}}}, "GET", "h",
       "/service/resource/1", {}, "resource", 17},
      {"[paths] documented example: /service still takes its other paths",
       {{"service", {"/service"}}, {"resource", {"/service/resource"}}}, "GET", "h",
       "/service/x", {}, "service", 8},
      {"[P4][P5] equal prefixes: configuration order",
       {{"first", {"/a"}}, {"second", {"/a"}}}, "GET", "h", "/a", {}, "first"},
      {"[P4] each path of a route competes on its own (Kong 3.x splits routes by path)",
       {{"multi", {"/x", "/a/b"}}, {"other", {"/a"}}}, "GET", "h", "/a/b", {}, "multi", 4},
      {"[P4] a route's longest path does not lend its length to a shorter one that matched",
       {{"multi", {"/a", "/a/b/c"}}, {"mid", {"/a/b"}}}, "GET", "h", "/a/b/x", {}, "mid", 4},

      // [regex-order] the documented four routes, evaluated in the order
      // /version/\d+/status/\d+, /status/\d+, /version/any/, /version.
      {"[regex-order] regex_priority 6 first", kRegexOrderExample, "GET", "h",
       "/version/1/status/2", {}, "version-status", 19},
      {"[regex-order] then /status/\\d+", kRegexOrderExample, "GET", "h", "/status/3", {},
       "status", 9},
      {"[regex-order] then the regex /version/any/ before the plain /version",
       kRegexOrderExample, "GET", "h", "/version/any/x", {}, "version-any", 13},
      {"[regex-order] the plain /version last", kRegexOrderExample, "GET", "h", "/version/x", {},
       "version", 8},

      // [regex] exact paths, anchoring, plain text.
      {"[regex] ~/foo/bar$ matches exactly /foo/bar",
       {{"exact", {"~/foo/bar$"}}}, "GET", "h", "/foo/bar", {}, "exact", 8},
      {"[regex] ~/foo/bar$ does not match a longer path",
       {{"exact", {"~/foo/bar$"}}}, "GET", "h", "/foo/bar/baz", {}, "<none>"},
      {"[regex] ~/foo/bar$ is not a prefix match either",
       {{"exact", {"~/foo/bar$"}}}, "GET", "h", "/foo/barx", {}, "<none>"},
      {"[regex][P4] exact regex before the prefix it shadows",
       {{"prefix", {"/foo"}}, {"exact", {"~/foo$"}}}, "GET", "h", "/foo", {}, "exact", 4},
      {"[regex][P4] the prefix takes what the exact regex does not match",
       {{"prefix", {"/foo"}}, {"exact", {"~/foo$"}}}, "GET", "h", "/foo/1", {}, "prefix", 4},
      {"[regex] regexes are anchored at the start of the path",
       {{"r", {"~/bar"}}}, "GET", "h", "/foo/bar", {}, "<none>"},
      {"[regex] a path without '~' is plain text, regex characters included",
       {{"literal", {"/users/\\d+/profile"}}}, "GET", "h", "/users/42/profile", {}, "<none>"},
      {"[regex] the plain text itself matches",
       {{"literal", {"/users/\\d+/profile"}}}, "GET", "h", "/users/\\d+/profile", {}, "literal",
       18},
      {"[regex] the consumed length is the regex match, not the literal prefix",
       {{"r", {"~/items/\\d+"}}}, "GET", "h", "/items/123/x", {}, "r", 10},

      // [hosts]
      {"[hosts] *.example.com matches a.example.com",
       {{"w", {}, {"*.example.com"}}}, "GET", "a.example.com", "/", {}, "w"},
      {"[hosts] *.example.com matches x.y.example.com",
       {{"w", {}, {"*.example.com"}}}, "GET", "x.y.example.com", "/", {}, "w"},
      {"[hosts] example.* matches example.org",
       {{"w", {}, {"example.*"}}}, "GET", "example.org", "/", {}, "w"},
      {"[hosts] any one of the listed hosts",
       {{"r", {}, {"example.com", "service.com"}}}, "GET", "service.com", "/", {}, "r"},

      // [sni]
      {"[sni] the connection's SNI is one of the route's", kSniExample, "GET", "h", "/", {},
       "tls", 1, "example.com"},
      {"[sni] any of them", kSniExample, "GET", "h", "/", {}, "tls", 1, "foo.test"},
      {"[sni] an SNI not listed does not match", kSniExample, "GET", "h", "/", {}, "<none>",
       kAny, "other.test"},
      // Kong 2.3+ (PR #6517): the snis test applies to TLS requests only.
      {"[sni] a plaintext request is not held to the route's snis", kSniExample, "GET", "h", "/",
       {}, "tls", 1, ""},
      {"[sni] a TLS request without SNI matches no route with snis", kSniExample, "GET", "h", "/",
       {}, "<none>", kAny, kTlsWithoutSni.data()},
      {"[sni] names compare case-insensitively", kSniExample, "GET", "h", "/", {}, "tls", 1,
       "Example.COM"},
      {"[sni] the SNI, not the Host, is compared (a keepalive connection keeps its SNI)",
       {{"tls", {}, {"b.test"}, {}, {}, 0, {"a.test"}}}, "GET", "b.test", "/", {}, "tls", 0,
       "a.test"},
      {"[sni] and the Host must still match the route's hosts",
       {{"tls", {}, {"b.test"}, {}, {}, 0, {"a.test"}}}, "GET", "a.test", "/", {}, "<none>",
       kAny, "a.test"},
      {"[sni] wildcard snis as for hosts",
       {{"tls", {}, {}, {}, {}, 0, {"*.example.com"}}}, "GET", "h", "/", {}, "tls", 0,
       "api.example.com"},
      {"[sni] a wildcard needs a label in its place",
       {{"tls", {}, {}, {}, {}, 0, {"*.example.com"}}}, "GET", "h", "/", {}, "<none>", kAny,
       "example.com"},
      {"[sni] a trailing dot in a listed name is ignored",
       {{"tls", {}, {}, {}, {}, 0, {"foo.test."}}}, "GET", "h", "/", {}, "tls", 0, "foo.test"},
      {"[sni][P1] a TLS request without SNI: the route with fewer criteria takes it",
       {{"long", {"/a/b/c"}}, {"tls", {"/a"}, {}, {}, {}, 0, {"h.io"}}}, "GET", "h", "/a/b/c", {},
       "long", 6, kTlsWithoutSni.data()},
      {"[sni][P1] a plaintext request: snis are not tested but still count as a criterion",
       {{"long", {"/a/b/c"}}, {"tls", {"/a"}, {}, {}, {}, 0, {"h.io"}}}, "GET", "h", "/a/b/c", {},
       "tls", 2, ""},

      // Portico details the documentation implies.
      {"prefix is byte-wise, not segment-wise",
       {{"ab", {"/ab"}}, {"a", {"/a"}}}, "GET", "h", "/abc", {}, "ab", 3},
      {"path match is case-sensitive", {{"a", {"/a"}}}, "GET", "h", "/A", {}, "<none>"},
      {"route without paths matches any path, consumes nothing",
       {{"any", {}, {"h.io"}}}, "GET", "h.io", "/anything", {}, "any", 0},
      {"nothing matches", {{"a", {"/a"}, {"h.io"}}}, "GET", "other.io", "/a", {}, "<none>"},
  };
  for (const Case& c : cases) {
    RouteTable t = build(c.routes);
    Request req;
    for (const auto& h : c.headers) req.add(h, "1");
    Match m = t.match(c.method, c.host, c.path, req, c.sni);
    Match lin = RouteTableTestPeer::linear(t, c.method, c.host, c.path, req, c.sni);
    EXPECT_EQ(m.route ? m.route->name : "<none>", c.expected) << c.what;
    EXPECT_EQ(m.route, lin.route) << c.what;
    if (c.matched_len != kAny) {
      EXPECT_EQ(m.matched_prefix_len, c.matched_len) << c.what;
    }
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
  // A request host can hit an exact group and several wildcard groups; the best rank wins. With
  // equal criteria the plain host outranks every wildcard whenever its path matches ([P2]); among
  // the wildcards the longer prefix wins ([P4]).
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
  EXPECT_EQ(name("api.example.com", "/a/b/c/d"), "exact");
  EXPECT_EQ(name("api.example.com", "/a/b"), "exact");
  EXPECT_EQ(name("api.example.com", "/a"), "exact");
  EXPECT_EQ(name("api.example.com", "/b"), "tld");
  EXPECT_EQ(name("www.example.com", "/a/b/x"), "suffix-long");
  EXPECT_EQ(name("www.example.com", "/a"), "tld");
  EXPECT_EQ(name("api.example.org", "/a/b/c"), "prefix");
  EXPECT_EQ(name("other.org", "/a/b/c/d"), "nohost");
  EXPECT_EQ(name("other.org", "/a/b/c"), "<none>");
}

}  // namespace
}  // namespace portico::router
