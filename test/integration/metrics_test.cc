// The `prometheus` plugin and the admin API's `GET /metrics`: real traffic through the gateway,
// then the scrape parsed by the Prometheus Python client's own parsers (text format 0.0.4 and
// OpenMetrics 1.0), run as a subprocess: exact counts per route and status, histogram
// consistency, bandwidth, per_consumer off, upstream target health from active checks, counts
// surviving a POST /config reload, and a bad plugin config reported with file:line:column.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cctype>
#include <chrono>
#include <set>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/process.h"
#include "harness/temp_dir.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

// Debian's python3 (python3-prometheus-client), not whatever `python3` PATH finds first.
constexpr const char* kPython = "/usr/bin/python3";

// Parses the file argv[1] with prometheus_client (argv[2]: "text" or "openmetrics") and prints
// the families and samples as JSON.
constexpr const char* kParser = R"PY(
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
if sys.argv[2] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
else:
    from prometheus_client.parser import text_string_to_metric_families as parse
out = []
for f in parse(text):
    out.append({"name": f.name, "type": f.type,
                "samples": [{"name": s.name, "labels": dict(s.labels), "value": s.value} for s in f.samples]})
print(json.dumps(out))
)PY";

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Scrape {
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> family_types;  // parser's family name → type
  std::vector<Sample> samples;

  bool has_family(const std::string& name) const { return family_types.count(name) != 0; }
  // Samples named `name` whose labels include every pair of `want`.
  std::vector<Sample> find(const std::string& name, const std::map<std::string, std::string>& want = {}) const {
    std::vector<Sample> out;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (const auto& [k, v] : want) {
        auto it = s.labels.find(k);
        ok = ok && it != s.labels.end() && it->second == v;
      }
      if (ok) out.push_back(s);
    }
    return out;
  }
  // The value of the single sample matching, or nullopt (none, or several).
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& want = {}) const {
    auto found = find(name, want);
    if (found.size() != 1) return std::nullopt;
    return found[0].value;
  }
};

Scrape scrape(const Gateway& gw, bool openmetrics = false) {
  Scrape out;
  Headers h;
  if (openmetrics) h.push_back({"Accept", "application/openmetrics-text; version=1.0.0"});
  Response r = fetch(gw.admin_port(), http_request("GET", "/metrics", h), {.timeout = 10s});
  EXPECT_EQ(r.status, 200) << r.describe();
  out.body = r.text();
  out.content_type = r.header("Content-Type").value_or("");
  TempDir dir;
  std::string path = dir.write_file("scrape.txt", out.body);
  RunResult run = run_command(kPython, {"-c", kParser, path, openmetrics ? "openmetrics" : "text"}, 20s);
  EXPECT_EQ(run.exit_code(), 0) << "the prometheus_client parser rejected the scrape:\n"
                                << run.err << "\n--- scrape ---\n"
                                << out.body;
  if (run.exit_code() != 0) return out;
  std::string error;
  auto parsed = parse_json(run.out, &error);
  EXPECT_TRUE(parsed) << error;
  if (!parsed) return out;
  for (const auto& f : parsed->as_array()) {
    const auto& fo = f.as_object();
    out.family_types[std::string(fo.at("name").as_string())] = std::string(fo.at("type").as_string());
    for (const auto& s : fo.at("samples").as_array()) {
      const auto& so = s.as_object();
      Sample sample;
      sample.name = std::string(so.at("name").as_string());
      for (const auto& [k, v] : so.at("labels").as_object()) sample.labels[std::string(k)] = std::string(v.as_string());
      sample.value = so.at("value").is_double() ? so.at("value").as_double() : static_cast<double>(so.at("value").to_number<int64_t>());
      out.samples.push_back(std::move(sample));
    }
  }
  return out;
}

Response get(std::uint16_t port, const std::string& path, const Headers& headers = {}) {
  return fetch(port, http_request("GET", path, headers));
}

Response post_config(std::uint16_t admin, std::string_view yaml) {
  return fetch(admin, http_request("POST", "/config", {{"Content-Type", "application/x-yaml"}}, yaml), {.timeout = 15s});
}

// Upstream answering 503 for paths under /fail, 200 "hello" otherwise.
void answer_by_path(Upstream& up) {
  up.set_handler([](const RecordedRequest& req) {
    UpstreamResponse r;
    r.status = req.target.starts_with("/fail") ? 503 : 200;
    r.body = "hello";
    return r;
  });
}

std::string routes_config(std::uint16_t up, std::string_view plugin_config, std::string_view extra_routes = {}) {
  return config_prelude() + render(R"(
plugins:
  - name: prometheus
    config: {{PLUGIN}}
services:
  - name: backend
    url: http://127.0.0.1:{{UP}}
    routes:
{{EXTRA}}      - name: ok
        paths: ["/ok"]
        strip_path: false
      - name: fail
        paths: ["/fail"]
        strip_path: false
      - name: teapot
        paths: ["/teapot"]
        plugins:
          - name: request-termination
            config: {status_code: 418, message: "short and stout"}
)",
                                   {{"UP", std::to_string(up)},
                                    {"PLUGIN", std::string(plugin_config)},
                                    {"EXTRA", std::string(extra_routes)}});
}

constexpr const char* kAllFlags =
    "{status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true}";

// Checks one route's histogram: buckets cumulative, the +Inf bucket equals _count, _count equals
// `count`.
void expect_histogram(const Scrape& s, const std::string& name, const std::string& route, double count) {
  SCOPED_TRACE(name + " route=" + route);
  auto buckets = s.find(name + "_bucket", {{"route", route}});
  ASSERT_EQ(buckets.size(), 21u);  // 20 of Kong's bounds and +Inf
  double previous = 0;
  double last_bound = 0;
  for (const auto& b : buckets) {
    EXPECT_GE(b.value, previous) << "le=" << b.labels.at("le");
    previous = b.value;
    if (b.labels.at("le") != "+Inf") {
      double bound = std::stod(b.labels.at("le"));
      EXPECT_GT(bound, last_bound);
      last_bound = bound;
    }
  }
  EXPECT_EQ(buckets.back().labels.at("le"), "+Inf");
  EXPECT_EQ(buckets.back().value, count);
  EXPECT_EQ(s.value(name + "_count", {{"route", route}}), count);
  auto sum = s.value(name + "_sum", {{"route", route}});
  ASSERT_TRUE(sum);
  EXPECT_GE(*sum, 0);
}

TEST(Metrics, CountsPerRouteAndCodeInBothFormats) {
  Upstream up;
  answer_by_path(up);
  Gateway gw(routes_config(up.port(), kAllFlags));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(get(gw.port(), "/ok").status, 200);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get(gw.port(), "/fail").status, 503);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(get(gw.port(), "/teapot").status, 418);
  ASSERT_EQ(get(gw.port(), "/nowhere").status, 404);

  Scrape s = scrape(gw);
  EXPECT_EQ(s.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(s.family_types["portico_http_requests"], "counter");
  EXPECT_EQ(s.value("portico_http_requests_total", {{"service", "backend"}, {"route", "ok"}, {"code", "200"}, {"source", "service"}}), 5);
  EXPECT_EQ(s.value("portico_http_requests_total", {{"route", "fail"}, {"code", "503"}, {"source", "service"}}), 3);
  EXPECT_EQ(s.value("portico_http_requests_total", {{"route", "teapot"}, {"code", "418"}, {"source", "exit"}}), 2);
  // Requests that match no route run no plugins: counted among the rejections instead.
  EXPECT_EQ(s.find("portico_http_requests_total").size(), 3u);
  EXPECT_EQ(s.value("portico_requests_rejected_total", {{"reason", "no_route"}}), 1);
  EXPECT_EQ(s.value("portico_requests_total"), 11);
  // per_consumer is off: the consumer label is always empty. (The text parser reads a counter's
  // samples with `_total`, as portico_bandwidth_bytes appears in OpenMetrics.)
  for (const auto& sample : s.find("portico_http_requests_total")) EXPECT_EQ(sample.labels.at("consumer"), "");
  for (const auto& sample : s.find("portico_bandwidth_bytes_total")) EXPECT_EQ(sample.labels.at("consumer"), "");

  expect_histogram(s, "portico_request_latency_ms", "ok", 5);
  expect_histogram(s, "portico_request_latency_ms", "fail", 3);
  expect_histogram(s, "portico_request_latency_ms", "teapot", 2);
  expect_histogram(s, "portico_upstream_latency_ms", "ok", 5);
  expect_histogram(s, "portico_gateway_latency_ms", "ok", 5);
  EXPECT_TRUE(s.find("portico_upstream_latency_ms_count", {{"route", "teapot"}}).empty())
      << "a local reply has no upstream latency";

  // Bandwidth: at least the bodies, and both directions.
  auto egress = s.value("portico_bandwidth_bytes_total", {{"route", "ok"}, {"direction", "egress"}});
  auto ingress = s.value("portico_bandwidth_bytes_total", {{"route", "ok"}, {"direction", "ingress"}});
  ASSERT_TRUE(egress && ingress);
  EXPECT_GE(*egress, 5 * (5 + 17.0));  // "hello" and at least a status line each
  EXPECT_GE(*ingress, 5 * 14.0);       // "GET /ok HTTP/1.1\r\n" each
  EXPECT_EQ(s.family_types["portico_bandwidth_bytes"], "counter");

  // Process-wide families.
  EXPECT_TRUE(s.value("process_cpu_seconds_total"));
  EXPECT_GT(s.value("process_resident_memory_bytes").value_or(0), 0);
  EXPECT_GT(s.value("process_open_fds").value_or(0), 0);
  EXPECT_GT(s.value("process_start_time_seconds").value_or(0), 1.6e9);
  EXPECT_GE(s.value("portico_connections_accepted_total").value_or(0), 11);
  EXPECT_EQ(s.find("portico_connections", {{"state", "active"}}).size(), 2u);  // one per worker
  EXPECT_EQ(s.find("portico_worker_config_info").size(), 2u);

  // The same in OpenMetrics: counters declared without _total, samples with it, "# EOF" last.
  Scrape om = scrape(gw, true);
  EXPECT_EQ(om.content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_TRUE(om.body.ends_with("# EOF\n"));
  EXPECT_EQ(om.family_types["portico_http_requests"], "counter");
  EXPECT_EQ(om.value("portico_http_requests_total", {{"route", "ok"}, {"code", "200"}}), 5);
  EXPECT_EQ(om.family_types["portico_bandwidth_bytes"], "counter");
  EXPECT_EQ(om.value("portico_bandwidth_bytes_total", {{"route", "ok"}, {"direction", "egress"}}), egress);
  EXPECT_EQ(om.family_types["portico_request_latency_ms"], "histogram");
  EXPECT_EQ(om.value("portico_request_latency_ms_count", {{"route", "ok"}}), 5);
}

TEST(Metrics, WithoutThePluginOnlyProcessWideFamilies) {
  Upstream up;
  Gateway gw(config_prelude() + render(R"(
services:
  - name: backend
    url: http://127.0.0.1:{{UP}}
    routes: [{name: all, paths: ["/"]}]
)",
                                       {{"UP", std::to_string(up.port())}}));
  ASSERT_EQ(get(gw.port(), "/x").status, 200);
  // The process-wide counters are read straight from the workers' counters, which a worker bumps
  // just after the response is written: wait for them rather than race.
  Scrape s;
  EXPECT_TRUE(eventually([&] {
    s = scrape(gw);
    return s.value("portico_responses_total", {{"class", "2xx"}}) == 1;
  }));
  EXPECT_FALSE(s.has_family("portico_http_requests"));
  EXPECT_FALSE(s.has_family("portico_request_latency_ms"));
  EXPECT_FALSE(s.has_family("portico_bandwidth_bytes"));
  EXPECT_FALSE(s.has_family("portico_upstream_target_health"));
  EXPECT_EQ(s.value("portico_requests_total"), 1);
  EXPECT_EQ(s.value("portico_responses_total", {{"class", "2xx"}}), 1);
  EXPECT_TRUE(s.has_family("process_cpu_seconds"));
  EXPECT_TRUE(s.has_family("portico_config_info"));
}

TEST(Metrics, EachFlagTurnsOnItsFamilies) {
  Upstream up;
  answer_by_path(up);
  {
    Gateway gw(routes_config(up.port(), "{}"));  // Kong's defaults: every flag off
    ASSERT_EQ(get(gw.port(), "/ok").status, 200);
    Scrape s = scrape(gw);
    EXPECT_FALSE(s.has_family("portico_http_requests"));
    EXPECT_FALSE(s.has_family("portico_request_latency_ms"));
    EXPECT_FALSE(s.has_family("portico_bandwidth_bytes"));
    EXPECT_FALSE(s.has_family("portico_upstream_target_health"));
  }
  {
    Gateway gw(routes_config(up.port(), "{status_code_metrics: true, per_consumer: true}"));
    ASSERT_EQ(get(gw.port(), "/ok").status, 200);
    Scrape s = scrape(gw);
    EXPECT_EQ(s.value("portico_http_requests_total", {{"route", "ok"}, {"code", "200"}, {"consumer", ""}}), 1)
        << "an anonymous request has an empty consumer";
    EXPECT_FALSE(s.has_family("portico_request_latency_ms"));
    EXPECT_FALSE(s.has_family("portico_upstream_latency_ms"));
    EXPECT_FALSE(s.has_family("portico_bandwidth_bytes"));
  }
  {
    Gateway gw(routes_config(up.port(), "{latency_metrics: true}"));
    ASSERT_EQ(get(gw.port(), "/ok").status, 200);
    Scrape s = scrape(gw);
    EXPECT_FALSE(s.has_family("portico_http_requests"));
    EXPECT_TRUE(s.has_family("portico_request_latency_ms"));
    EXPECT_TRUE(s.has_family("portico_upstream_latency_ms"));
    EXPECT_TRUE(s.has_family("portico_gateway_latency_ms"));
  }
}

TEST(Metrics, RoutePluginRecordsOnlyItsRoute) {
  Upstream up;
  answer_by_path(up);
  Gateway gw(config_prelude() + render(R"(
services:
  - name: backend
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: measured
        paths: ["/ok"]
        strip_path: false
        plugins:
          - name: prometheus
            config: {status_code_metrics: true}
      - name: other
        paths: ["/other"]
)",
                                       {{"UP", std::to_string(up.port())}}));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get(gw.port(), "/ok").status, 200);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(get(gw.port(), "/other").status, 200);
  Scrape s = scrape(gw);
  EXPECT_EQ(s.value("portico_http_requests_total", {{"route", "measured"}}), 3);
  EXPECT_TRUE(s.find("portico_http_requests_total", {{"route", "other"}}).empty());
}

TEST(Metrics, CountsSurviveAReload) {
  Upstream up;
  answer_by_path(up);
  Gateway gw(routes_config(up.port(), kAllFlags));
  for (int i = 0; i < 4; ++i) ASSERT_EQ(get(gw.port(), "/ok").status, 200);
  ASSERT_EQ(get(gw.port(), "/fail").status, 503);
  Scrape before = scrape(gw);
  ASSERT_EQ(before.value("portico_http_requests_total", {{"route", "ok"}, {"code", "200"}}), 4);

  // A new route ahead of the others shifts every route's index; the series follow the names. The
  // route `fail` goes away.
  std::string next = routes_config(up.port(), kAllFlags, "      - name: fresh\n        paths: [\"/fresh\"]\n");
  next.replace(next.find("      - name: fail\n        paths: [\"/fail\"]\n        strip_path: false\n"),
               std::string("      - name: fail\n        paths: [\"/fail\"]\n        strip_path: false\n").size(), "");
  Response posted = post_config(gw.admin_port(), next);
  ASSERT_EQ(posted.status, 201) << posted.describe();
  for (int i = 0; i < 2; ++i) ASSERT_EQ(get(gw.port(), "/ok").status, 200);
  ASSERT_EQ(get(gw.port(), "/fresh").status, 200);

  Scrape after = scrape(gw);
  EXPECT_EQ(after.value("portico_http_requests_total", {{"route", "ok"}, {"code", "200"}}), 6);
  EXPECT_EQ(after.value("portico_http_requests_total", {{"route", "fresh"}, {"code", "200"}}), 1);
  EXPECT_TRUE(after.find("portico_http_requests_total", {{"route", "fail"}}).empty())
      << "a route the configuration no longer has is dropped";
  expect_histogram(after, "portico_request_latency_ms", "ok", 6);
  EXPECT_EQ(after.value("portico_config_reloads_total"), 1);

  // And again: nothing counted twice, nothing lost.
  ASSERT_EQ(get(gw.port(), "/ok").status, 200);
  Scrape third = scrape(gw);
  EXPECT_EQ(third.value("portico_http_requests_total", {{"route", "ok"}, {"code", "200"}}), 7);
  EXPECT_GE(*third.value("portico_bandwidth_bytes_total", {{"route", "ok"}, {"direction", "egress"}}),
            *after.value("portico_bandwidth_bytes_total", {{"route", "ok"}, {"direction", "egress"}}));
}

TEST(Metrics, UpstreamTargetHealthFromActiveChecks) {
  Upstream healthy;
  std::uint16_t dead = closed_port();
  Gateway gw(config_prelude() + render(R"(
plugins:
  - name: prometheus
    config: {upstream_health_metrics: true}
upstreams:
  - name: pool
    healthchecks:
      active:
        http_path: /health
        timeout: 0.5
        healthy: {interval: 0.1, successes: 1}
        unhealthy: {interval: 0.1, tcp_failures: 1, http_failures: 1}
    targets:
      - target: "127.0.0.1:{{A}}"
      - target: "127.0.0.1:{{B}}"
  - name: unchecked
    targets:
      - target: "127.0.0.1:{{A}}"
services:
  - name: s
    host: pool
    routes: [{name: r, paths: ["/"]}]
  - name: t
    host: unchecked
    routes: [{name: q, paths: ["/q"]}]
)",
                                       {{"A", std::to_string(healthy.port())}, {"B", std::to_string(dead)}}));
  const std::string a = "127.0.0.1:" + std::to_string(healthy.port());
  const std::string b = "127.0.0.1:" + std::to_string(dead);
  auto state_of = [&](const Scrape& s, const std::string& upstream, const std::string& target) {
    std::string current;
    int ones = 0;
    auto series = s.find("portico_upstream_target_health", {{"upstream", upstream}, {"target", target}});
    for (const auto& x : series) {
      if (x.value == 1) {
        ++ones;
        current = x.labels.at("state");
      }
    }
    return series.size() == 4 && ones == 1 ? current : "?";
  };
  bool settled = eventually(
      [&] {
        Scrape s = scrape(gw);
        return state_of(s, "pool", b) == "unhealthy" && state_of(s, "pool", a) == "healthy";
      },
      10000ms);
  Scrape s = scrape(gw);
  EXPECT_TRUE(settled) << s.body;
  EXPECT_EQ(state_of(s, "pool", a), "healthy");
  EXPECT_EQ(state_of(s, "pool", b), "unhealthy");
  EXPECT_EQ(state_of(s, "unchecked", a), "healthchecks_off");
  EXPECT_EQ(s.find("portico_upstream_target_health", {{"upstream", "pool"}, {"target", b}, {"address", b}}).size(), 4u);
  EXPECT_GE(s.value("portico_health_state_changes_total").value_or(0), 1);
}

TEST(Metrics, BadPluginConfigIsAnErrorWithItsPosition) {
  CheckResult r = Gateway::check(R"(_format_version: "3.0"
plugins:
  - name: prometheus
    config:
      status_code_metrics: "yes"
      latency_metric: true
)");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("portico.yaml:5:28"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("plugins[0].config.status_code_metrics"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("portico.yaml:6:7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("latency_metric"), std::string::npos) << r.err;
}


// Every metric name the Grafana dashboard queries, in its `expr`, `query` and `definition` texts.
void collect_metric_names(const boost::json::value& v, std::set<std::string>& out) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.as_object()) {
      if (child.is_string() && (k == "expr" || k == "query" || k == "definition")) {
        std::string text(child.as_string());
        for (size_t i = 0; i < text.size(); ++i) {
          if (i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_')) continue;
          std::string_view rest = std::string_view(text).substr(i);
          if (!rest.starts_with("portico_") && !rest.starts_with("process_")) continue;
          size_t end = i;
          while (end < text.size() && (std::islower(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
          out.insert(text.substr(i, end - i));
          i = end;
        }
      } else {
        collect_metric_names(child, out);
      }
    }
  } else if (v.is_array()) {
    for (const auto& child : v.as_array()) collect_metric_names(child, out);
  }
}

TEST(Metrics, GrafanaDashboardUsesOnlyDocumentedMetrics) {
  std::string dashboard = read_file(portico_source_dir() + "/docs/grafana-dashboard.json");
  std::string docs = read_file(portico_source_dir() + "/docs/metrics.md");
  ASSERT_FALSE(dashboard.empty());
  ASSERT_FALSE(docs.empty());
  std::string error;
  auto parsed = parse_json(dashboard, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_FALSE(parsed->as_object().at("panels").as_array().empty());
  std::set<std::string> names;
  collect_metric_names(*parsed, names);
  EXPECT_GE(names.size(), 15u);
  auto documented = [&docs](const std::string& name) { return docs.find("| `" + name + "` |") != std::string::npos; };
  for (const auto& name : names) {
    std::string base = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!documented(base) && base.ends_with(suffix)) base.resize(base.size() - std::string_view(suffix).size());
    }
    EXPECT_TRUE(documented(base)) << name << " is used by docs/grafana-dashboard.json but not documented in docs/metrics.md";
  }
}

// Every family a fully enabled gateway exports is documented in docs/metrics.md.
TEST(Metrics, EveryExportedFamilyIsDocumented) {
  Upstream up;
  answer_by_path(up);
  Gateway gw(routes_config(up.port(), kAllFlags));
  ASSERT_EQ(get(gw.port(), "/ok").status, 200);
  Scrape s = scrape(gw);
  std::string docs = read_file(portico_source_dir() + "/docs/metrics.md");
  std::set<std::string> exported;
  size_t at = 0;
  while ((at = s.body.find("# TYPE ", at)) != std::string::npos) {
    at += 7;
    exported.insert(s.body.substr(at, s.body.find(' ', at) - at));
  }
  EXPECT_GE(exported.size(), 25u);
  for (const auto& name : exported) {
    EXPECT_NE(docs.find("| `" + name + "` |"), std::string::npos) << name << " is not documented in docs/metrics.md";
  }
}

TEST(Metrics, ExampleConfigServesMetrics) {
  GatewayOptions o;
  o.extra_args = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "2"};
  std::string yaml = read_example("prometheus.yaml");
  ASSERT_FALSE(yaml.empty());
  Gateway gw(yaml, o);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get(gw.port(), "/ping").status, 200);
  Scrape s = scrape(gw);
  EXPECT_EQ(s.value("portico_http_requests_total", {{"service", "local"}, {"route", "ping"}, {"code", "200"}, {"source", "exit"}}), 3);
  EXPECT_EQ(s.value("portico_request_latency_ms_count", {{"route", "ping"}}), 3);
  EXPECT_EQ(s.find("portico_upstream_target_health", {{"upstream", "api-pool"}, {"target", "127.0.0.1:9000"}}).size(), 4u);
}

}  // namespace
}  // namespace portico::integration
