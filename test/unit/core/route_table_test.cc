#include "router/route_table.h"

#include <gtest/gtest.h>

#include "http/header_map.h"

namespace portico::router {
namespace {

const http::HeaderMap kNoHeaders;

std::unique_ptr<Route> make(std::string name, std::vector<std::string> paths, std::vector<std::string> hosts = {},
                            std::vector<std::string> methods = {}) {
  auto r = std::make_unique<Route>();
  r->name = std::move(name);
  for (auto& p : paths) {
    if (!p.empty() && p[0] == '~') {
      r->regexes.push_back(std::make_unique<RE2>(p.substr(1)));
    } else {
      r->prefixes.push_back(p);
    }
  }
  r->hosts = std::move(hosts);
  r->methods = std::move(methods);
  return r;
}

TEST(RouteTable, LongestPrefixAndMoreCriteriaWin) {
  std::vector<std::unique_ptr<Route>> routes;
  routes.push_back(make("root", {"/"}));
  routes.push_back(make("api", {"/api"}));
  routes.push_back(make("api-orders", {"/api/orders"}));
  routes.push_back(make("api-host", {"/api"}, {"example.com"}));
  routes.push_back(make("get-only", {"/api"}, {}, {"GET"}));
  RouteTable t(std::move(routes));
  EXPECT_EQ(t.match("POST", "x", "/api/orders/1", kNoHeaders).route->name, "api-orders");
  EXPECT_EQ(t.match("POST", "example.com:8000", "/api/x", kNoHeaders).route->name, "api-host");
  EXPECT_EQ(t.match("GET", "other", "/api/x", kNoHeaders).route->name, "get-only");
  EXPECT_EQ(t.match("POST", "other", "/api/x", kNoHeaders).route->name, "api");
  EXPECT_EQ(t.match("POST", "other", "/zzz", kNoHeaders).route->name, "root");
  EXPECT_EQ(t.match("POST", "other", "/api/orders", kNoHeaders).matched_prefix_len, 11u);
}

TEST(RouteTable, NoMatch) {
  std::vector<std::unique_ptr<Route>> routes;
  routes.push_back(make("api", {"/api"}));
  RouteTable t(std::move(routes));
  EXPECT_EQ(t.match("GET", "h", "/other", kNoHeaders).route, nullptr);
}

TEST(RouteTable, RegexBeforePrefix) {
  std::vector<std::unique_ptr<Route>> routes;
  routes.push_back(make("prefix", {"/users"}));
  routes.push_back(make("regex", {R"(~/users/\d+$)"}));
  RouteTable t(std::move(routes));
  EXPECT_EQ(t.match("GET", "h", "/users/42", kNoHeaders).route->name, "regex");
  EXPECT_EQ(t.match("GET", "h", "/users/abc", kNoHeaders).route->name, "prefix");
}

TEST(HostMatch, ExactWildcardAndPort) {
  EXPECT_TRUE(host_matches("example.com", "Example.COM"));
  EXPECT_TRUE(host_matches("example.com", "example.com:8000"));
  EXPECT_TRUE(host_matches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(host_matches("*.example.com", "example.com"));
  EXPECT_TRUE(host_matches("example.*", "example.org"));
  EXPECT_FALSE(host_matches("example.*", "example"));
  EXPECT_TRUE(host_matches("example.com:8000", "example.com:8000"));
  EXPECT_FALSE(host_matches("example.com:8000", "example.com:9000"));
}

// Kong's documented strip_path / path_handling table.
struct PathCase {
  const char* service_path;
  const char* route_path;
  bool strip;
  PathHandling handling;
  const char* request;
  const char* expected;
};

TEST(UpstreamPath, KongTable) {
  const PathCase cases[] = {
      {"/s", "/fv0", false, PathHandling::kV0, "/fv0req", "/s/fv0req"},
      {"/s", "/fv1", false, PathHandling::kV1, "/fv1req", "/sfv1req"},
      {"/s", "/tv0", true, PathHandling::kV0, "/tv0req", "/s/req"},
      {"/s", "/tv1", true, PathHandling::kV1, "/tv1req", "/sreq"},
      {"/s", "/fv0/", false, PathHandling::kV0, "/fv0/req", "/s/fv0/req"},
      {"/s", "/fv1/", false, PathHandling::kV1, "/fv1/req", "/sfv1/req"},
      {"/s", "/tv0/", true, PathHandling::kV0, "/tv0/req", "/s/req"},
      {"/s", "/tv1/", true, PathHandling::kV1, "/tv1/req", "/sreq"},
      {"", "/api", true, PathHandling::kV0, "/api/x", "/x"},
      {"", "/api", true, PathHandling::kV0, "/api", "/"},
      {"/base", "/api", true, PathHandling::kV0, "/api", "/base"},
      {"/base/", "/api", true, PathHandling::kV0, "/api/x", "/base/x"},
      {"", "/api", false, PathHandling::kV0, "/api/x", "/api/x"},
  };
  for (const auto& c : cases) {
    Route r;
    r.strip_path = c.strip;
    r.path_handling = c.handling;
    core::OutBuffer out;
    upstream_path(r, c.service_path, c.request, std::string_view(c.route_path).size(), out);
    EXPECT_EQ(out.view(), c.expected) << c.service_path << " " << c.route_path << " " << c.request;
  }
}

}  // namespace
}  // namespace portico::router
