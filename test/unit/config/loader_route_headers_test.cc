// Kong's route `headers` field: parsing and every validation error, with positions.
#include <gtest/gtest.h>

#include "config/snapshot.h"
#include "http/header_map.h"
#include "test_util.h"

namespace portico::config::testing {
namespace {

TEST(LoaderRouteHeaders, ParsedInOrderWithLowerCasedNames) {
  Route r = load_route(R"yaml(        paths: [/v1/checkout]
        headers:
          X-Canary: ["true"]
          x-tenant: [Acme, globex]
          User-Agent: ["~*(android|iphone)"]
)yaml");
  ASSERT_EQ(r.headers.size(), 3u);
  EXPECT_EQ(r.headers[0].name, "x-canary");
  EXPECT_EQ(r.headers[0].values, std::vector<std::string>{"true"});
  EXPECT_EQ(r.headers[1].name, "x-tenant");
  EXPECT_EQ(r.headers[1].values, (std::vector<std::string>{"Acme", "globex"}));
  EXPECT_EQ(r.headers[2].name, "user-agent");
  EXPECT_EQ(r.headers[2].values, std::vector<std::string>{"~*(android|iphone)"});
}

TEST(LoaderRouteHeaders, FlowStyleAndNumbersReadAsStrings) {
  Route r = load_route("        paths: [/]\n        headers: {x-version: [2, \"3\"]}\n");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].values, (std::vector<std::string>{"2", "3"}));
}

TEST(LoaderRouteHeaders, HeadersAloneAreEnoughToMatch) {
  Route r = load_route("        headers: {x-canary: [\"true\"]}\n");
  EXPECT_TRUE(r.paths.empty());
  ASSERT_EQ(r.headers.size(), 1u);
}

TEST(LoaderRouteHeaders, NullOrEmptyMapMeansNone) {
  EXPECT_TRUE(load_route("        paths: [/]\n        headers:\n").headers.empty());
  EXPECT_TRUE(load_route("        paths: [/]\n        headers: {}\n").headers.empty());
  // An empty map is no matcher at all.
  EXPECT_EQ(route_errors("        headers: {}\n"),
            "kong.yaml:6:9: services[0].routes[0]: a route needs at least one of 'paths', 'hosts', "
            "'methods' or 'headers' to match requests");
}

TEST(LoaderRouteHeaders, NotAMap) {
  EXPECT_EQ(route_errors("        paths: [/]\n        headers: [x-canary]\n"),
            "kong.yaml:8:18: services[0].routes[0].headers: expected a map, got a list");
}

TEST(LoaderRouteHeaders, EmptyValueList) {
  EXPECT_EQ(route_errors("        paths: [/]\n        headers: {x-canary: []}\n"),
            "kong.yaml:8:29: services[0].routes[0].headers.x-canary: the list of values must not "
            "be empty");
}

TEST(LoaderRouteHeaders, ValueListMustBeAList) {
  EXPECT_EQ(route_errors("        paths: [/]\n        headers: {x-canary: \"true\"}\n"),
            "kong.yaml:8:29: services[0].routes[0].headers.x-canary: expected a list of strings, "
            "got a string (\"true\")");
}

TEST(LoaderRouteHeaders, NonStringValues) {
  EXPECT_EQ(
      route_errors("        paths: [/]\n        headers:\n          x-canary: [true, {a: b}]\n"),
      "kong.yaml:9:22: services[0].routes[0].headers.x-canary[0]: expected a string, got a "
      "boolean (true); quote it to use the text\n"
      "kong.yaml:9:28: services[0].routes[0].headers.x-canary[1]: expected a string, got a map");
}

TEST(LoaderRouteHeaders, HostIsNotAllowed) {
  EXPECT_EQ(route_errors("        paths: [/]\n        headers:\n          Host: [example.com]\n"),
            "kong.yaml:9:11: services[0].routes[0].headers.Host: the 'host' header cannot be "
            "matched in 'headers'; use the route's 'hosts' field");
}

TEST(LoaderRouteHeaders, InvalidHeaderName) {
  EXPECT_EQ(route_errors("        paths: [/]\n        headers:\n          \"x canary\": [a]\n"),
            "kong.yaml:9:11: services[0].routes[0].headers[\"x canary\"]: \"x canary\" is not a "
            "valid header name");
}

TEST(LoaderRouteHeaders, InvalidRegex) {
  EXPECT_EQ(route_errors("        paths: [/]\n        headers:\n          x-ua: [\"~*(android\"]\n"),
            "kong.yaml:9:18: services[0].routes[0].headers.x-ua[0]: invalid regex \"(android\": "
            "missing ): (android");
  EXPECT_EQ(route_errors("        paths: [/]\n        headers:\n          x-ua: [\"~*\"]\n"),
            "kong.yaml:9:18: services[0].routes[0].headers.x-ua[0]: regex value \"~*\" must have a "
            "pattern");
}

TEST(LoaderRouteHeaders, TildeStarAmongSeveralValuesIsPlainText) {
  // Kong reads "~*" as a regex only when it is the list's single value.
  Route r = load_route("        paths: [/]\n        headers:\n          x-ua: [\"~*(bad\", plain]\n");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].values.size(), 2u);
}

TEST(LoaderRouteHeaders, EveryBadEntryIsReported) {
  EXPECT_EQ(route_errors("        paths: [/]\n        headers:\n          host: [a]\n"
                         "          x-a: []\n"),
            "kong.yaml:9:11: services[0].routes[0].headers.host: the 'host' header cannot be "
            "matched in 'headers'; use the route's 'hosts' field\n"
            "kong.yaml:10:16: services[0].routes[0].headers.x-a: the list of values must not be "
            "empty");
}

}  // namespace
}  // namespace portico::config::testing

namespace portico::config {
namespace {

// The loaded conditions reach the router: plain values as written, a lone "~*" value compiled
// into a case-insensitive regex, and matching sees them.
TEST(SnapshotRouteHeaders, CompiledIntoTheRouteTable) {
  filter::Registry reg;
  CompileResult r = build_from_string(testing::text(R"yaml(
_format_version: "3.0"
services:
  - name: v1
    url: http://127.0.0.1:9001
    routes:
      - name: stable
        paths: [/v1/checkout]
  - name: v2
    url: http://127.0.0.1:9002
    routes:
      - name: canary
        paths: [/v1/checkout]
        headers:
          X-Canary: ["true"]
          user-agent: ["~*bot"]
)yaml"),
                                      "kong.yaml", reg);
  ASSERT_TRUE(r.ok()) << r.errors.to_string();
  const auto& routes = r.snapshot->routes->routes();
  ASSERT_EQ(routes.size(), 2u);
  const router::Route& canary = *routes[1];
  ASSERT_EQ(canary.headers.size(), 2u);
  EXPECT_EQ(canary.headers[0].name, "x-canary");
  EXPECT_EQ(canary.headers[0].values, std::vector<std::string>{"true"});
  EXPECT_EQ(canary.headers[0].regex, nullptr);
  EXPECT_EQ(canary.headers[1].name, "user-agent");
  ASSERT_NE(canary.headers[1].regex, nullptr);
  EXPECT_TRUE(canary.headers[1].values.empty());

  http::HeaderMap h;
  EXPECT_EQ(r.snapshot->routes->match("GET", "h", "/v1/checkout", h).route->name, "stable");
  h.add("x-canary", "TRUE");
  EXPECT_EQ(r.snapshot->routes->match("GET", "h", "/v1/checkout", h).route->name, "stable");
  h.add("User-Agent", "GoogleBOT/2.1");
  EXPECT_EQ(r.snapshot->routes->match("GET", "h", "/v1/checkout", h).route->name, "canary");
}

}  // namespace
}  // namespace portico::config
