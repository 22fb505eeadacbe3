// Routes that can never match are load errors; routes that are only partly shadowed, or that
// differ in any criterion Kong's router looks at, are not.
#include <gtest/gtest.h>

#include "test_util.h"

namespace portico::config::testing {
namespace {

std::string with_routes(std::string_view routes) {
  return "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: http://127.0.0.1:9000\n    routes:\n" +
         std::string(routes);
}

TEST(RouteConflicts, IdenticalCriteriaIsAnError) {
  std::string e = load_errors(with_routes(R"(      - name: first
        paths: ["/api"]
        hosts: [Api.Example.com]
        methods: [GET]
      - name: second
        paths: ["/api"]
        hosts: [api.example.com]
        methods: [GET]
)"));
  EXPECT_NE(e.find("kong.yaml:10:9: services[0].routes[1]: route 'second' can never match: earlier routes with "
                   "the same hosts, methods, headers and snis claim each of its paths and win every tie "
                   "(first: route 'first' at services[0].routes[0])"),
            std::string::npos)
      << e;
}

TEST(RouteConflicts, OrderOfListsAndHeaderValuesDoesNotHideAConflict) {
  std::string e = load_errors(with_routes(R"(      - name: a
        paths: ["/x", "/y"]
        methods: [GET, POST]
        headers: {x-canary: ["true", "yes"]}
      - name: b
        paths: ["/y"]
        methods: [POST, GET]
        headers: {X-Canary: ["YES", "true"]}
)"));
  EXPECT_NE(e.find("route 'b' can never match"), std::string::npos) << e;
}

TEST(RouteConflicts, EveryPathClaimedByDifferentEarlierRoutes) {
  std::string e = load_errors(with_routes(R"(      - {name: a, paths: ["/a"]}
      - {name: b, paths: ["/b"]}
      - {name: both, paths: ["/b", "/a"]}
)"));
  EXPECT_NE(e.find("route 'both' can never match"), std::string::npos) << e;
  EXPECT_NE(e.find("(first: route 'b' at services[0].routes[1])"), std::string::npos) << e;
}

TEST(RouteConflicts, NoPathsOnBothIsAConflict) {
  std::string e = load_errors(with_routes(R"(      - {name: a, hosts: [a.test]}
      - {name: b, hosts: [a.test]}
)"));
  EXPECT_NE(e.find("route 'b' can never match"), std::string::npos) << e;
}

TEST(RouteConflicts, DifferencesThatKeepARouteReachable) {
  // Each second route differs from the first in one thing Kong's router decides on.
  load_ok(with_routes(R"(      - {name: a, paths: ["/a", "/shared"]}
      - {name: partly-shadowed, paths: ["/shared", "/own"]}
      - {name: other-host, paths: ["/a"], hosts: [b.test]}
      - {name: other-method, paths: ["/a"], methods: [POST]}
      - {name: with-header, paths: ["/a"], headers: {x-v: ["2"]}}
      - {name: other-header-value, paths: ["/a"], headers: {x-v: ["3"]}}
      - {name: https-only, paths: ["/a"], protocols: [https]}
      - {name: re1, paths: ["~/r$"]}
      - {name: re-higher-priority, paths: ["~/r$"], regex_priority: 5}
      - {name: trailing-slash, paths: ["/a/"]}
)"));
}

// Blue/green: the disabled service's routes do not exist for routing, so they neither shadow nor
// are shadowed.
TEST(RouteConflicts, RoutesOfADisabledServiceAreLeftOut) {
  load_ok(R"(_format_version: "3.0"
services:
  - name: blue
    enabled: false
    url: http://127.0.0.1:9000
    routes: [{name: blue-r, paths: ["/"]}]
  - name: green
    url: http://127.0.0.1:9001
    routes: [{name: green-r, paths: ["/"]}]
)");
}

TEST(RouteConflicts, RegexPriorityDoesNotSeparatePrefixPaths) {
  std::string e = load_errors(with_routes(R"(      - {name: a, paths: ["/p"]}
      - {name: b, paths: ["/p"], regex_priority: 9}
)"));
  EXPECT_NE(e.find("route 'b' can never match"), std::string::npos) << e;
}

}  // namespace
}  // namespace portico::config::testing
