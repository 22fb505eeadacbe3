#include <gtest/gtest.h>

#include "http/header_map.h"
#include "router/route_table.h"

namespace portico::router {
namespace {

using Headers = std::vector<std::pair<std::string, std::vector<std::string>>>;

std::unique_ptr<Route> make(std::string name, std::vector<std::string> prefixes, Headers headers,
                            std::vector<std::string> methods = {}) {
  auto r = std::make_unique<Route>();
  r->name = std::move(name);
  r->prefixes = std::move(prefixes);
  r->methods = std::move(methods);
  for (auto& [n, values] : headers) {
    HeaderCondition h;
    h.name = n;
    if (values.size() == 1 && values[0].starts_with("~*")) {
      RE2::Options opts;
      opts.set_case_sensitive(false);
      h.regex = std::make_unique<RE2>(values[0].substr(2), opts);
    } else {
      h.values = values;
    }
    r->headers.push_back(std::move(h));
  }
  return r;
}

// Request header fields; a HeaderMap is neither copyable nor movable, so tests build it in place.
struct Request : http::HeaderMap {
  Request() = default;
  Request(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    for (auto [n, v] : fields) add(n, v);
  }
};

std::string matched(const RouteTable& t, const http::HeaderMap& h, std::string_view path = "/v1/checkout") {
  const Route* r = t.match("GET", "example.com", path, h).route;
  return r ? r->name : "<none>";
}

RouteTable canary_table() {
  std::vector<std::unique_ptr<Route>> routes;
  routes.push_back(make("v1", {"/v1/checkout"}, {}));
  routes.push_back(make("v2", {"/v1/checkout"}, {{"x-canary", {"true"}}}));
  return RouteTable(std::move(routes));
}

TEST(RouteTableHeaders, CanaryValueIsCaseInsensitive) {
  RouteTable t = canary_table();
  EXPECT_EQ(matched(t, Request{{"x-canary", "true"}}), "v2");
  EXPECT_EQ(matched(t, Request{{"X-Canary", "TRUE"}}), "v2");
  EXPECT_EQ(matched(t, Request{{"x-canary", "false"}}), "v1");
  EXPECT_EQ(matched(t, Request()), "v1");
  EXPECT_EQ(matched(t, Request{{"x-canary", "true "}}), "v1");  // equality, not prefix
  EXPECT_EQ(matched(t, Request{{"x-canary", "true"}}, "/other"), "<none>");
}

TEST(RouteTableHeaders, AnyFieldLineAndAnyListedValue) {
  std::vector<std::unique_ptr<Route>> routes;
  routes.push_back(make("plain", {"/"}, {}));
  routes.push_back(make("tenant", {"/"}, {{"x-tenant", {"acme", "globex"}}}));
  RouteTable t(std::move(routes));
  EXPECT_EQ(matched(t, Request{{"x-tenant", "Globex"}}), "tenant");
  EXPECT_EQ(matched(t, Request{{"x-tenant", "other"}, {"X-TENANT", "acme"}}), "tenant");
  // A comma-separated value is one value, as in Kong.
  EXPECT_EQ(matched(t, Request{{"x-tenant", "other, acme"}}), "plain");
}

TEST(RouteTableHeaders, EveryConditionMustHold) {
  std::vector<std::unique_ptr<Route>> routes;
  routes.push_back(make("both", {"/"}, {{"x-a", {"1"}}, {"x-b", {"2"}}}));
  RouteTable t(std::move(routes));
  EXPECT_EQ(matched(t, Request{{"x-a", "1"}, {"x-b", "2"}}), "both");
  EXPECT_EQ(matched(t, Request{{"x-a", "1"}}), "<none>");
  EXPECT_EQ(matched(t, Request{{"x-b", "2"}}), "<none>");
}

TEST(RouteTableHeaders, RegexIsCaseInsensitiveAndUnanchored) {
  std::vector<std::unique_ptr<Route>> routes;
  routes.push_back(make("plain", {"/"}, {}));
  routes.push_back(make("mobile", {"/"}, {{"user-agent", {"~*(android|iphone)"}}}));
  RouteTable t(std::move(routes));
  EXPECT_EQ(matched(t, Request{{"User-Agent", "Mozilla/5.0 (iPhone; CPU)"}}), "mobile");
  EXPECT_EQ(matched(t, Request{{"user-agent", "ANDROID"}}), "mobile");
  EXPECT_EQ(matched(t, Request{{"user-agent", "curl/8.0"}}), "plain");
}

TEST(RouteTableHeaders, MoreHeadersWinAmongEqualCriteria) {
  std::vector<std::unique_ptr<Route>> routes;
  routes.push_back(make("one", {"/"}, {{"x-a", {"1"}}}));
  routes.push_back(make("two", {"/"}, {{"x-a", {"1"}}, {"x-b", {"2"}}}));
  RouteTable t(std::move(routes));
  EXPECT_EQ(matched(t, Request{{"x-a", "1"}, {"x-b", "2"}}), "two");
  EXPECT_EQ(matched(t, Request{{"x-a", "1"}}), "one");
}

TEST(RouteTableHeaders, HeadersCountAsACriterion) {
  std::vector<std::unique_ptr<Route>> routes;
  // A longer prefix alone loses to a shorter prefix plus a header: criteria count comes first.
  routes.push_back(make("long", {"/v1/checkout/pay"}, {}));
  routes.push_back(make("short-header", {"/v1"}, {{"x-canary", {"true"}}}));
  // More criteria still beat more headers.
  routes.push_back(make("method-header", {"/v1"}, {{"x-canary", {"true"}}}, {"GET"}));
  RouteTable t(std::move(routes));
  const Request canary{{"x-canary", "true"}};
  EXPECT_EQ(t.match("POST", "h", "/v1/checkout/pay", canary).route->name, "short-header");
  EXPECT_EQ(t.match("GET", "h", "/v1/checkout/pay", canary).route->name, "method-header");
  EXPECT_EQ(t.match("POST", "h", "/v1/checkout/pay", Request()).route->name, "long");
}

TEST(RouteTableHeaders, HeadersOnlyRoute) {
  std::vector<std::unique_ptr<Route>> routes;
  routes.push_back(make("only-headers", {}, {{"x-version", {"2"}}}));
  RouteTable t(std::move(routes));
  const Request h{{"x-version", "2"}};
  Match m = t.match("DELETE", "any", "/anything", h);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.matched_prefix_len, 0u);
  EXPECT_EQ(matched(t, Request{{"x-version", "3"}}), "<none>");
}

TEST(RouteTableHeaders, ConditionHelper) {
  HeaderCondition c;
  c.name = "x-env";
  c.values = {"prod"};
  EXPECT_TRUE(header_condition_matches(c, Request{{"X-ENV", "PROD"}}));
  EXPECT_FALSE(header_condition_matches(c, Request{{"x-envx", "prod"}}));
  EXPECT_FALSE(header_condition_matches(c, Request()));
}

}  // namespace
}  // namespace portico::router
