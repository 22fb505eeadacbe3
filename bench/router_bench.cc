// RouteTable::match cost against table size: 10, 1,000 and 100,000 routes with the mix of
// bench/gen_routes.py (70% plain prefixes over ~1000 hosts incl. wildcard hosts and routes
// without hosts, 20% with methods, 5% regex paths, 5% with a header condition). Requests cycle
// through a fixed set: 60% deep prefix hits, 20% regex hits, 20% misses (other mixes below).
//
// Run:    BUILD_DIR=build-router TARGETS=router_bench scripts/build.sh
//         build-router/bench/router_bench --benchmark_repetitions=5
//                                         --benchmark_report_aggregates_only=true
// Target: the median of BM_RouteMatch/100000/0 within 2x the median of BM_RouteMatch/10/0 (route
// lookup cost must not grow with the table). Compare medians of one run; the machine is shared.
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "http/header_map.h"
#include "router/route_table.h"

namespace {

using portico::router::HeaderCondition;
using portico::router::Route;
using portico::router::RouteTable;

constexpr size_t kHosts = 1000;
constexpr size_t kRequests = 4096;
const char* const kMethods[] = {"GET", "POST", "PUT", "DELETE"};

std::string host_pattern(size_t h) {
  if (h % 20 == 0) return "*.wild" + std::to_string(h) + ".example.com";
  if (h % 20 == 1) return "tenant" + std::to_string(h) + ".*";
  return "svc" + std::to_string(h) + ".example.com";
}

// A request host that the pattern accepts.
std::string host_for(const std::string& pattern) {
  if (pattern.starts_with("*.")) return "api" + pattern.substr(1);
  if (pattern.ends_with(".*")) return pattern.substr(0, pattern.size() - 1) + "io:8000";
  return pattern;
}

struct Request {
  std::string method, host, path;
  portico::http::HeaderMap* headers;
};

struct Fixture {
  RouteTable table;
  std::vector<Request> requests;
  portico::http::HeaderMap no_headers;
  std::vector<std::unique_ptr<portico::http::HeaderMap>> header_maps;
};

// mix: 0 = 60% prefix hits, 20% regex hits, 20% misses; 1 = prefix hits; 2 = regex hits;
// 3 = misses; 4 = mix 0 aimed at 8 routes only (hot caches); 5 = regex hits on a table whose
// regex paths each end in a pattern of their own ("/items/\d+/r<i>$"), so no two routes share
// the part after their literal prefix (no warm automaton shared between routes).
std::unique_ptr<Fixture> make_fixture(size_t n, int mix) {
  std::mt19937 rng(42);
  auto f = std::make_unique<Fixture>();
  struct Shape {
    std::string host, stem, method, header, tail;
    bool regex;
  };
  std::vector<Shape> shapes;
  std::vector<std::unique_ptr<Route>> routes;
  for (size_t i = 0; i < n; ++i) {
    auto r = std::make_unique<Route>();
    r->index = i;
    r->name = "r" + std::to_string(i);
    size_t kind = i % 20;
    Shape s;
    if (i % 10 != 9) {
      s.host = host_pattern(rng() % kHosts);
      r->hosts.push_back(s.host);
    }
    s.stem = "/api/v" + std::to_string(i % 3) + "/team" + std::to_string(rng() % 200) + "/res" +
             std::to_string(i);
    s.regex = kind == 0;
    if (s.regex) {
      s.tail = mix == 5 ? "/r" + std::to_string(i) : "";
      r->regexes.push_back(std::make_unique<RE2>(s.stem + R"(/items/\d+)" + s.tail + "$"));
      r->regex_priority = static_cast<int>(rng() % 3);
    } else {
      r->prefixes.push_back(s.stem);
    }
    if (kind >= 1 && kind <= 4) {
      s.method = kMethods[rng() % 4];
      r->methods.push_back(s.method);
    }
    if (kind == 5) {
      HeaderCondition h;
      h.name = "x-tenant";
      s.header = "t" + std::to_string(rng() % 10);
      h.values = {s.header};
      r->headers.push_back(std::move(h));
    }
    shapes.push_back(std::move(s));
    routes.push_back(std::move(r));
  }
  f->table = RouteTable(std::move(routes));
  std::vector<size_t> prefix_routes, regex_routes;
  for (size_t i = 0; i < n; ++i) (shapes[i].regex ? regex_routes : prefix_routes).push_back(i);
  if (mix == 4) {
    // Hot set: the same mix of requests, but to 8 routes only, so the table's memory stays in
    // cache and what remains is the lookup's own work.
    if (prefix_routes.size() > 6) prefix_routes.resize(6);
    if (regex_routes.size() > 2) regex_routes.resize(2);
  }
  for (size_t q = 0; q < kRequests; ++q) {
    Request req{"GET", "", "", &f->no_headers};
    unsigned roll = rng() % 10;
    if (mix == 1) roll = 0;
    if (mix == 2 || mix == 5) roll = 7;
    if (mix == 3) roll = 9;
    if (roll < 8 && !(roll >= 6 && regex_routes.empty())) {
      const auto& pool = roll < 6 ? prefix_routes : regex_routes;
      const Shape& s = shapes[pool[rng() % pool.size()]];
      req.host = s.host.empty() ? host_for(host_pattern(rng() % kHosts)) : host_for(s.host);
      req.path = s.regex ? s.stem + "/items/" + std::to_string(rng() % 100000) + s.tail
                         : s.stem + "/deep/er/path/" + std::to_string(q);
      if (!s.method.empty()) req.method = s.method;
      if (!s.header.empty()) {
        auto h = std::make_unique<portico::http::HeaderMap>();
        h->add("accept", "*/*");
        h->add("x-tenant", h->own(s.header));  // shapes die with this function
        req.headers = h.get();
        f->header_maps.push_back(std::move(h));
      }
    } else {
      req.host = q % 2 ? "unknown.example.net" : host_for(host_pattern(rng() % kHosts));
      req.path = "/nothing/here/" + std::to_string(q);
    }
    f->requests.push_back(std::move(req));
  }
  return f;
}

const Fixture& fixture(size_t n, int mix) {
  static std::map<std::pair<size_t, int>, std::unique_ptr<Fixture>> cache;
  auto& f = cache[{n, mix}];
  if (!f) f = make_fixture(n, mix);
  return *f;
}

void BM_RouteMatch(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)), static_cast<int>(state.range(1)));
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    const Request& r = f.requests[i++ & (kRequests - 1)];
    auto m = f.table.match(r.method, r.host, r.path, *r.headers);
    hits += m.route != nullptr;
    benchmark::DoNotOptimize(m);
  }
  state.counters["hit_ratio"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
}
// Args: routes, request mix (see make_fixture).
BENCHMARK(BM_RouteMatch)->ArgsProduct({{10, 1000, 100000}, {0}});
BENCHMARK(BM_RouteMatch)->ArgsProduct({{10, 100000}, {1, 2, 3, 4, 5}});

}  // namespace

BENCHMARK_MAIN();
