// Randomized differential test: the compiled index must pick exactly the route (and matched
// length) the linear scan in priority order picks, for random tables and random requests.
#include <gtest/gtest.h>

#include <random>

#include "http/header_map.h"
#include "router/route_table.h"
#include "route_table_peer.h"

namespace portico::router {
namespace {

struct Request : http::HeaderMap {};

template <class T>
const T& pick(std::mt19937& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

bool chance(std::mt19937& rng, int percent) {
  return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
}

// Long names (over 63 bytes) exercise the host index's length filter on its last bucket.
const std::string kLongLabel(60, 'l');
const std::vector<std::string> kHostPatterns = {
    "a.com", "b.com", "A.Com", "x.a.com", "*.a.com", "*.com", "*.A.COM", "a.*", "x.*", "X.a.*",
    "a.com:8000", "*.a.com:8000", "a.*:8000", "[::1]", "[::1]:8000", "b.com:9000", ".*", "*.",
    "*", "", "localhost", "a.com.", "*.x.a.com", "*." + kLongLabel + ".com",
    kLongLabel + ".a.*", "x." + kLongLabel + ".a.com"};
const std::vector<std::string> kRequestHosts = {
    "a.com", "A.COM", "a.com:8000", "a.com:9000", "x.a.com", "y.x.a.com", "X.A.com:8000", "b.com",
    "a.org", "a.", "x.y", "[::1]", "[::1]:8000", "com", ".a.com", "", "a.com:", "B.com:9000",
    "localhost", "a.com.", "*", "a.org:8000", ".", "x.a.com.", "*.com",
    "x." + kLongLabel + ".com", kLongLabel + ".a.org", "x." + kLongLabel + ".a.com"};
// Includes prefixes longer than a word (8 bytes) and keys at many lengths.
const std::vector<std::string> kPrefixes = {"/",     "/a",   "/a/",    "/a/b", "/ab", "/a/b/c",
                                            "/b",    "",     "/a/bc",  "/c/d", "/A",  "/a/b/",
                                            "/a/b/c/d", "/1", "/b/1", "/a/b/c/d/a/b/c/d",
                                            "/a/b/c/d/a", "/a/b/c/d/a/b/c/d/1", "/a/b/c/d/a/b/"};
// Includes a broken pattern (never matches), a top-level alternation and quoting, and patterns
// whose text starts with the literal every match starts with, followed by what could interact
// with the cut after it: a quantifier on the literal's last byte, word boundaries, '^', flags,
// a counted repetition.
const std::vector<std::string> kRegexes = {R"(/a/\d+)", R"(/a/.*/c$)", "/b", "/(a|b)/b", "/A",
                                           "(?i)/a/B", R"(/\d+$)", ".*", "/a/b/c/d/?$", "/c",
                                           "/a/b|/c", "(", R"(\Q/a/b\E/?)", "/a/b)|(?:/c",
                                           "/a+/b", "/1|", "/a/b*", "/a/bc?", "/a/b{2}", R"(/a\b)",
                                           R"(/a/b\B)", R"(/a/\bb)", "/a/^b", "/a/(?i)B",
                                           "/a/b/c/d/a/b/c/d/?", "/a/b$", "/a/b/", R"(/a/b/\d$)",
                                           "/a/b(?:/|$)", "/a/bc|", "/a/b|/a/c", "/a/x|/a/b/c",
                                           "/a/b+", "/a/b*?", "/a/b{"};
const std::vector<std::string> kMethods = {"GET", "POST", "PUT"};
const std::vector<std::string> kSegments = {"/a", "/b", "/c", "/d", "/1", "/22", "/bc", "/B", "/",
                                            "c", "/A", "/a/b/c/d", "bb", "/a/b"};
const std::vector<std::string> kSniPatterns = {"a.com", "*.a.com", "b.*", "A.Com", "c.com."};
const std::vector<std::string> kRequestSnis = {"", "a.com", "x.a.com", "b.org", "A.COM", "c.com",
                                               "d.com"};

std::unique_ptr<Route> random_route(std::mt19937& rng, size_t i) {
  auto r = std::make_unique<Route>();
  r->index = i;
  r->name = "r" + std::to_string(i);
  int host_count = chance(rng, 30) ? 0 : std::uniform_int_distribution<int>(1, 3)(rng);
  for (int k = 0; k < host_count; ++k) r->hosts.push_back(pick(rng, kHostPatterns));
  if (chance(rng, 25)) {
    int n = std::uniform_int_distribution<int>(1, 2)(rng);
    for (int k = 0; k < n; ++k) r->methods.push_back(pick(rng, kMethods));
  }
  int paths = chance(rng, 10) ? 0 : std::uniform_int_distribution<int>(1, 3)(rng);
  for (int k = 0; k < paths; ++k) {
    if (chance(rng, 20)) {
      RE2::Options opts;
      opts.set_log_errors(false);
      if (chance(rng, 20)) opts.set_case_sensitive(false);
      if (chance(rng, 5)) opts.set_literal(true);  // "(" etc. are then plain bytes
      r->regexes.push_back(std::make_unique<RE2>(pick(rng, kRegexes), opts));
    } else {
      r->prefixes.push_back(pick(rng, kPrefixes));
    }
  }
  if (chance(rng, 15)) {
    HeaderCondition h;
    h.name = chance(rng, 50) ? "x-v" : "x-w";
    if (chance(rng, 30)) {
      RE2::Options opts;
      opts.set_case_sensitive(false);
      h.regex = std::make_unique<RE2>("^t", opts);
    } else {
      h.values = {chance(rng, 50) ? "1" : "2"};
      if (chance(rng, 30)) h.values.push_back("T");
    }
    r->headers.push_back(std::move(h));
  }
  if (chance(rng, 10)) {
    int n = std::uniform_int_distribution<int>(1, 2)(rng);
    for (int k = 0; k < n; ++k) r->snis.push_back(pick(rng, kSniPatterns));
  }
  r->regex_priority = std::uniform_int_distribution<int>(0, 2)(rng);
  return r;
}

std::string random_path(std::mt19937& rng) {
  std::string p;
  int n = std::uniform_int_distribution<int>(0, 6)(rng);
  for (int k = 0; k < n; ++k) p += pick(rng, kSegments);
  return p;
}

TEST(RouteIndexDifferential, CompiledEqualsLinearScan) {
  std::mt19937 rng(20261126);
  size_t lookups = 0, hits = 0;
  const std::vector<std::string> values = {"1", "2", "t", "T1", "x"};
  while (lookups < 100000) {
    size_t n = std::uniform_int_distribution<size_t>(1, 60)(rng);
    std::vector<std::unique_ptr<Route>> routes;
    for (size_t i = 0; i < n; ++i) routes.push_back(random_route(rng, i));
    RouteTable table(std::move(routes));
    for (int q = 0; q < 500; ++q, ++lookups) {
      std::string method = pick(rng, kMethods);
      std::string host = pick(rng, kRequestHosts);
      std::string path = random_path(rng);
      Request headers;
      if (chance(rng, 40)) headers.add("X-V", pick(rng, values));
      if (chance(rng, 20)) headers.add("x-v", pick(rng, values));
      if (chance(rng, 20)) headers.add("x-w", pick(rng, values));
      std::string sni = pick(rng, kRequestSnis);
      Match a = table.match(method, host, path, headers, sni);
      Match b = RouteTableTestPeer::linear(table, method, host, path, headers, sni);
      hits += b.route != nullptr;
      ASSERT_EQ(a.route, b.route) << method << " " << host << " " << path << " sni=" << sni << " ("
                                  << (a.route ? a.route->name : "none") << " vs "
                                  << (b.route ? b.route->name : "none") << ")";
      ASSERT_EQ(a.matched_prefix_len, b.matched_prefix_len) << host << " " << path;
    }
  }
  // The generator must exercise matches as well as misses.
  EXPECT_GT(hits, lookups / 10);
  EXPECT_LT(hits, lookups - lookups / 20);
}

TEST(RouteIndexDifferential, ManyRoutesSharingStems) {
  // Larger tables: thousands of prefixes under shared stems, many hosts, some regexes.
  std::mt19937 rng(7);
  std::vector<std::unique_ptr<Route>> routes;
  for (size_t i = 0; i < 3000; ++i) {
    auto r = std::make_unique<Route>();
    r->index = i;
    r->name = "r" + std::to_string(i);
    if (i % 7 != 0) r->hosts.push_back((i % 11 == 0 ? "*.h" : "h") + std::to_string(i % 40) + ".io");
    std::string stem = "/s" + std::to_string(i % 13) + "/t" + std::to_string(i % 29);
    if (i % 20 == 0) {
      r->regexes.push_back(std::make_unique<RE2>(stem + R"(/\d+$)"));
    } else {
      r->prefixes.push_back(stem + (i % 3 ? "/u" + std::to_string(i) : ""));
    }
    // Many regexes behind one literal prefix: these go to a per-group RE2::Set.
    if (i % 50 == 0) r->regexes.push_back(std::make_unique<RE2>("/s1/t1/u(?:x|" + std::to_string(i) + ")"));
    if (i % 5 == 0) r->methods.push_back(pick(rng, kMethods));
    routes.push_back(std::move(r));
  }
  RouteTable table(std::move(routes));
  Request none;
  for (int q = 0; q < 20000; ++q) {
    int h = std::uniform_int_distribution<int>(0, 45)(rng);
    std::string host = (chance(rng, 20) ? "x.h" : "h") + std::to_string(h) + ".io";
    std::string path = "/s" + std::to_string(q % 14) + "/t" + std::to_string(q % 31);
    if (q % 10 == 0) {
      path = q % 20 == 0 ? "/s1/t1/ux"
                         : "/s1/t1/u" + std::to_string(50 * std::uniform_int_distribution<int>(0, 60)(rng));
    }
    if (chance(rng, 70)) path += "/u" + std::to_string(std::uniform_int_distribution<int>(0, 3100)(rng));
    if (chance(rng, 30)) path += "/" + std::to_string(q);
    std::string method = pick(rng, kMethods);
    Match a = table.match(method, host, path, none);
    Match b = RouteTableTestPeer::linear(table, method, host, path, none);
    ASSERT_EQ(a.route, b.route) << host << " " << path;
    ASSERT_EQ(a.matched_prefix_len, b.matched_prefix_len);
  }
}

TEST(RouteIndexDifferential, RegexRestsSharedAcrossRoutes) {
  // Many routes whose regexes differ only in their literal start share the compiled rest; the
  // same rest under other options (case-insensitive, longest match) must not be shared. Stems are
  // digits and slashes, so case-insensitive patterns keep their literal start too.
  std::mt19937 rng(11);
  const std::vector<std::string> rests = {R"(/\d+$)", R"(/\d+)", R"(/(?P<id>[a-z]+)/x)", "/b*",
                                          R"(\b/\w+)", "", "/?$", R"(/(\d+|x)$)", "/b*?", "/b",
                                          "/b+?c?"};
  std::vector<std::unique_ptr<Route>> routes;
  for (size_t i = 0; i < 400; ++i) {
    auto r = std::make_unique<Route>();
    r->index = i;
    r->name = "r" + std::to_string(i);
    if (i % 3 != 0) r->hosts.push_back("h" + std::to_string(i % 5) + ".io");
    RE2::Options opts;
    if (i % 7 == 0) opts.set_case_sensitive(false);
    if (i % 11 == 0) opts.set_longest_match(true);
    std::string stem = "/" + std::to_string(i % 17) + "/" + std::to_string(i % 13);
    r->regexes.push_back(std::make_unique<RE2>(stem + rests[i % rests.size()], opts));
    if (i % 4 == 0) r->prefixes.push_back(stem);
    r->regex_priority = static_cast<int>(i % 3);
    routes.push_back(std::move(r));
  }
  RouteTable table(std::move(routes));
  Request none;
  const std::vector<std::string> tails = {"/12", "/12/x", "/abc/x", "/ABC/x", "", "/", "/bbb",
                                          "/x", "x", "/word", "/12x", "/x/12", "/B", "/bbc", "/Bc"};
  size_t hits = 0;
  for (int q = 0; q < 20000; ++q) {
    std::string host = "h" + std::to_string(std::uniform_int_distribution<int>(0, 6)(rng)) + ".io";
    int i = std::uniform_int_distribution<int>(0, 450)(rng);
    std::string path = "/" + std::to_string(i % 17) + "/" + std::to_string(i % 13) +
                       pick(rng, tails);
    if (chance(rng, 20)) {
      for (char& c : path) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    Match a = table.match("GET", host, path, none);
    Match b = RouteTableTestPeer::linear(table, "GET", host, path, none);
    hits += b.route != nullptr;
    ASSERT_EQ(a.route, b.route) << host << " " << path;
    ASSERT_EQ(a.matched_prefix_len, b.matched_prefix_len) << host << " " << path;
  }
  EXPECT_GT(hits, 2000u);
}

}  // namespace
}  // namespace portico::router
