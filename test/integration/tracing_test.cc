// Tracing through the real gateway: the opentelemetry plugin continues, replaces or starts W3C
// traces on the way to a real upstream and exports OTLP/HTTP spans to a fake collector (an
// Upstream recording POSTs); sampling, batching by count and by delay, a collector that is down or
// slow (client requests stay fast), the shutdown flush, the correlation-id plugin, bad plugin
// configs, examples/tracing.yaml, and child spans: one per upstream attempt (retries visible) and
// one per plugin that waited.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/redis_server.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kIncoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr const char* kIncomingTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

bool is_lower_hex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A version-00 traceparent's fields, or empty strings when it is not one.
struct Parent {
  std::string trace_id, parent_id, flags;
};
Parent split_traceparent(const std::string& v) {
  if (v.size() != 55 || v.substr(0, 3) != "00-" || v[35] != '-' || v[52] != '-') return {};
  Parent p{v.substr(3, 32), v.substr(36, 16), v.substr(53, 2)};
  if (!is_lower_hex(p.trace_id, 32) || !is_lower_hex(p.parent_id, 16)) return {};
  return p;
}

// The spans of every OTLP/JSON POST the collector received, in order.
std::vector<boost::json::object> spans_of(const RecordedRequest& post) {
  std::vector<boost::json::object> out;
  auto doc = parse_json(post.body.data);
  if (!doc) {
    ADD_FAILURE() << "collector got a body that is not JSON: " << post.body.data;
    return out;
  }
  for (const auto& rs : doc->at("resourceSpans").as_array()) {
    for (const auto& ss : rs.at("scopeSpans").as_array()) {
      for (const auto& s : ss.at("spans").as_array()) out.push_back(s.as_object());
    }
  }
  return out;
}

std::vector<boost::json::object> all_spans(const Upstream& collector) {
  std::vector<boost::json::object> out;
  for (const auto& post : collector.requests()) {
    for (auto& s : spans_of(post)) out.push_back(std::move(s));
  }
  return out;
}

// Only the SERVER spans (one per request; CLIENT spans for upstream attempts are left out).
std::vector<boost::json::object> server_spans(const Upstream& collector) {
  std::vector<boost::json::object> out;
  for (auto& s : all_spans(collector)) {
    if (s.at("kind").as_int64() == 2) out.push_back(std::move(s));
  }
  return out;
}

std::string attr(const boost::json::object& span, std::string_view key) {
  for (const auto& a : span.at("attributes").as_array()) {
    if (a.at("key").as_string() != key) continue;
    const auto& v = a.at("value").as_object();
    if (v.contains("stringValue")) return std::string(v.at("stringValue").as_string());
    if (v.contains("intValue")) return std::string(v.at("intValue").as_string());
    return boost::json::serialize(v);
  }
  return "<absent>";
}

std::string str(const boost::json::object& o, std::string_view key) {
  return o.contains(key) ? std::string(o.at(key).as_string()) : "<absent>";
}

class TracingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    collector_.set_handler([](const RecordedRequest&) {
      UpstreamResponse r;
      r.headers = {{"Content-Type", "application/json"}};
      r.body = "{}";
      return r;
    });
  }
  // `plugin_config` is the opentelemetry config body (flow map without braces), appended to the
  // collector's endpoint.
  void start(const std::string& plugin_config, const std::string& extra_routes = "") {
    std::string yaml = config_prelude() + render(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: traced
        paths: ["/"]
        plugins:
          - name: opentelemetry
            config: {traces_endpoint: "http://127.0.0.1:{{COLLECTOR}}/v1/traces", encoding: json, {{CONFIG}}}
{{EXTRA}})",
                                                 {{"UP", std::to_string(up_.port())},
                                                  {"COLLECTOR", std::to_string(collector_.port())},
                                                  {"CONFIG", plugin_config},
                                                  {"EXTRA", extra_routes}});
    gw_ = std::make_unique<Gateway>(yaml);
  }
  Response get(std::string_view target, Headers headers = {}) {
    return fetch(gw_->port(), http_request("GET", target, headers));
  }

  Upstream up_;
  Upstream collector_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(TracingTest, ContinuesAValidIncomingTrace) {
  start("batch_span_count: 1, batch_flush_delay: 0.1");
  Response r = get("/orders/7", {{"traceparent", kIncoming}, {"tracestate", "rojo=00f067aa0ba902b7"},
                                  {"User-Agent", "tracing-test/1"}});
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_EQ(up_.request_count(), 1u);
  const RecordedRequest upstream = up_.requests()[0];
  EXPECT_EQ(upstream.header_count("traceparent"), 1u);
  Parent sent = split_traceparent(upstream.header("traceparent").value_or(""));
  EXPECT_EQ(sent.trace_id, kIncomingTraceId) << upstream.raw_head;
  EXPECT_NE(sent.parent_id, "00f067aa0ba902b7") << "the gateway's own span is the upstream's parent";
  EXPECT_EQ(sent.flags, "01");
  EXPECT_EQ(upstream.header("tracestate").value_or(""), "rojo=00f067aa0ba902b7");

  ASSERT_TRUE(collector_.wait_for_requests(1, 5000ms)) << "no export reached the collector";
  const RecordedRequest post = collector_.requests()[0];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.target, "/v1/traces");
  EXPECT_EQ(post.header("content-type").value_or(""), "application/json");
  auto spans = spans_of(post);
  ASSERT_EQ(spans.size(), 1u);  // batch_span_count 1: the server span (its attempt's span follows)
  const auto& span = spans[0];
  EXPECT_EQ(str(span, "traceId"), kIncomingTraceId);
  EXPECT_EQ(str(span, "parentSpanId"), "00f067aa0ba902b7");
  EXPECT_EQ(str(span, "spanId"), sent.parent_id);
  EXPECT_EQ(str(span, "traceState"), "rojo=00f067aa0ba902b7");
  EXPECT_EQ(span.at("kind").as_int64(), 2);
  EXPECT_EQ(str(span, "name"), "GET");
  EXPECT_EQ(attr(span, "http.request.method"), "GET");
  EXPECT_EQ(attr(span, "url.path"), "/orders/7");
  EXPECT_EQ(attr(span, "http.response.status_code"), "200");
  EXPECT_EQ(attr(span, "portico.route"), "traced");
  EXPECT_EQ(attr(span, "http.route"), "traced");
  EXPECT_EQ(attr(span, "portico.service"), "svc");
  EXPECT_EQ(attr(span, "user_agent.original"), "tracing-test/1");
  EXPECT_EQ(attr(span, "client.address"), "127.0.0.1");
  uint64_t start = std::stoull(str(span, "startTimeUnixNano"));
  uint64_t end = std::stoull(str(span, "endTimeUnixNano"));
  EXPECT_LE(start, end);
  auto now_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  EXPECT_LT(now_ns - start, 60'000'000'000ull) << "timestamps are Unix nanoseconds of now";
  // The resource names the service.
  auto doc = parse_json(post.body.data);
  const auto& res = doc->at("resourceSpans").as_array()[0].at("resource").at("attributes").as_array();
  EXPECT_EQ(res[0].at("key").as_string(), "service.name");
  EXPECT_EQ(res[0].at("value").at("stringValue").as_string(), "portico");
}

TEST_F(TracingTest, MalformedTraceIsReplacedAbsentOneStarted) {
  start("batch_span_count: 1, batch_flush_delay: 0.1");
  Response bad = get("/", {{"traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
                           {"tracestate", "rojo=1"}});
  ASSERT_TRUE(bad.ok()) << bad.error;
  Response none = get("/");
  ASSERT_TRUE(none.ok()) << none.error;
  ASSERT_EQ(up_.request_count(), 2u);
  auto requests = up_.requests();
  Parent replaced = split_traceparent(requests[0].header("traceparent").value_or(""));
  ASSERT_FALSE(replaced.trace_id.empty()) << requests[0].raw_head;
  EXPECT_NE(replaced.trace_id, kIncomingTraceId);
  EXPECT_EQ(replaced.flags, "01");
  EXPECT_FALSE(requests[0].header("tracestate")) << "a tracestate without a valid parent is dropped";
  Parent started = split_traceparent(requests[1].header("traceparent").value_or(""));
  ASSERT_FALSE(started.trace_id.empty()) << requests[1].raw_head;
  EXPECT_NE(started.trace_id, replaced.trace_id);

  ASSERT_TRUE(eventually([&] { return server_spans(collector_).size() >= 2; }, 5000ms));
  std::set<std::string> exported;
  for (const auto& s : server_spans(collector_)) {
    EXPECT_FALSE(s.contains("parentSpanId")) << "a new trace has a root span";
    exported.insert(str(s, "traceId") + "/" + str(s, "spanId"));
  }
  EXPECT_TRUE(exported.count(replaced.trace_id + "/" + replaced.parent_id));
  EXPECT_TRUE(exported.count(started.trace_id + "/" + started.parent_id));
}

TEST_F(TracingTest, SamplingRateZeroExportsNothingButStillPropagates) {
  start("batch_span_count: 1, batch_flush_delay: 0.05, sampling_rate: 0");
  for (int i = 0; i < 5; ++i) {
    Response r = get("/");
    ASSERT_TRUE(r.ok()) << r.error;
  }
  for (const auto& req : up_.requests()) {
    Parent p = split_traceparent(req.header("traceparent").value_or(""));
    EXPECT_EQ(p.flags, "00") << req.raw_head;
  }
  // An incoming sampled parent is honoured even at rate 0.
  Response sampled = get("/", {{"traceparent", kIncoming}});
  ASSERT_TRUE(sampled.ok()) << sampled.error;
  ASSERT_TRUE(collector_.wait_for_requests(1, 5000ms));
  ASSERT_TRUE(eventually([&] { return all_spans(collector_).size() >= 2; }));
  std::this_thread::sleep_for(200ms);
  auto spans = all_spans(collector_);
  ASSERT_EQ(spans.size(), 2u);  // the server span and its upstream attempt, nothing else
  EXPECT_EQ(str(spans[0], "traceId"), kIncomingTraceId);
  EXPECT_EQ(str(spans[1], "traceId"), kIncomingTraceId);
}

// Each proxied request makes two spans (server + its upstream attempt): 7 requests, 14 spans.
TEST_F(TracingTest, FullBatchesGoAtOnceTheRestOnShutdown) {
  start("batch_span_count: 6, batch_flush_delay: 60");
  for (int i = 0; i < 7; ++i) {
    Response r = get("/");
    ASSERT_TRUE(r.ok()) << r.error;
  }
  ASSERT_TRUE(collector_.wait_for_requests(2, 5000ms));
  std::this_thread::sleep_for(200ms);
  auto posts = collector_.requests();
  ASSERT_EQ(posts.size(), 2u) << "the 7th request's spans wait for the flush delay";
  EXPECT_EQ(spans_of(posts[0]).size(), 6u);
  EXPECT_EQ(spans_of(posts[1]).size(), 6u);
  EXPECT_EQ(posts[0].connection_id, posts[1].connection_id) << "one kept-alive connection";
  // SIGTERM: the exporter flushes what is queued before the process exits.
  auto status = gw_->stop();
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(collector_.wait_for_requests(3, 5000ms)) << gw_->logs();
  EXPECT_EQ(spans_of(collector_.requests()[2]).size(), 2u);
}

// A reload that keeps the plugin's settings keeps its exporter and whatever it has queued; one that
// changes them starts a new exporter, and the old one flushes what it held.
TEST_F(TracingTest, ReloadKeepsTheExporterWhenSettingsAreUnchanged) {
  auto config = [&](const std::string& batch, const std::string& marker) {
    return config_prelude() + render(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: traced
        paths: ["/"]
        plugins:
          - name: opentelemetry
            config: {traces_endpoint: "http://127.0.0.1:{{COLLECTOR}}/v1/traces", encoding: json, batch_span_count: {{BATCH}}, batch_flush_delay: 60}
      - name: marker
        paths: ["/marker"]
        plugins:
          - name: request-termination
            config: {status_code: 200, message: "{{MARKER}}"}
)",
                                     {{"UP", std::to_string(up_.port())},
                                      {"COLLECTOR", std::to_string(collector_.port())},
                                      {"BATCH", batch},
                                      {"MARKER", marker}});
  };
  auto reload = [&](const std::string& yaml, const std::string& marker) {
    Response r = fetch(gw_->admin_port(), http_request("POST", "/config", {{"Content-Type", "application/x-yaml"}}, yaml),
                       {.timeout = 15s});
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_LT(r.status, 300) << r.describe();
    ASSERT_TRUE(eventually([&] {
      Response m = get("/marker");
      return m.ok() && m.text().find(marker) != std::string::npos;
    }));
  };
  // The configuration a process starts with stays referenced for its whole life; start with
  // other settings so the exporters under test belong to reloaded configurations only.
  // Each request makes two spans (server + upstream attempt).
  gw_ = std::make_unique<Gateway>(config("10", "zero"));
  reload(config("4", "one"), "one");
  ASSERT_TRUE(get("/").ok());  // two spans queued, waiting for two more
  reload(config("4", "two"), "two");
  ASSERT_TRUE(get("/").ok());  // same exporter: the batch of four is complete
  ASSERT_TRUE(collector_.wait_for_requests(1, 5000ms));
  EXPECT_EQ(spans_of(collector_.requests()[0]).size(), 4u);

  ASSERT_TRUE(get("/").ok());  // queued in the batch-of-4 exporter
  reload(config("6", "three"), "three");
  // The old exporter is no longer used by any snapshot: it flushes its last spans on its own.
  ASSERT_TRUE(collector_.wait_for_requests(2, 5000ms)) << gw_->logs();
  EXPECT_EQ(spans_of(collector_.requests()[1]).size(), 2u);
  // The exporter logs its stop after reading the collector's answer: poll, the collector may
  // have seen the request first.
  EXPECT_TRUE(eventually([&] { return gw_->logs().find("stopped: 6 spans exported") != std::string::npos; }))
      << gw_->logs();
}

TEST_F(TracingTest, PartialBatchGoesWithinTheFlushDelay) {
  start("batch_span_count: 100, batch_flush_delay: 0.3");
  auto sent_at = Clock::now();
  ASSERT_TRUE(get("/").ok());
  ASSERT_TRUE(get("/").ok());
  ASSERT_TRUE(eventually([&] { return all_spans(collector_).size() >= 4; }, 3000ms));
  EXPECT_LT(Clock::now() - sent_at, 1500ms);
  EXPECT_EQ(all_spans(collector_).size(), 4u);
  EXPECT_EQ(server_spans(collector_).size(), 2u);
}

TEST_F(TracingTest, ProtobufIsTheDefaultEncoding) {
  std::string yaml = config_prelude() + render(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: traced
        paths: ["/"]
        plugins:
          - name: opentelemetry
            config:
              traces_endpoint: "http://127.0.0.1:{{COLLECTOR}}/v1/traces"
              batch_span_count: 1
              headers: {X-Api-Key: secret}
              resource_attributes: {service.name: edge-gateway}
)",
                                               {{"UP", std::to_string(up_.port())},
                                                {"COLLECTOR", std::to_string(collector_.port())}});
  gw_ = std::make_unique<Gateway>(yaml);
  ASSERT_TRUE(get("/", {{"traceparent", kIncoming}}).ok());
  ASSERT_TRUE(collector_.wait_for_requests(1, 5000ms));
  const auto post = collector_.requests()[0];
  EXPECT_EQ(post.header("content-type").value_or(""), "application/x-protobuf");
  EXPECT_EQ(post.header("x-api-key").value_or(""), "secret");
  // The raw trace id bytes and the configured service name are in the message.
  std::string raw_trace_id;
  for (size_t i = 0; i < 32; i += 2) {
    raw_trace_id += static_cast<char>(std::stoi(std::string(kIncomingTraceId).substr(i, 2), nullptr, 16));
  }
  EXPECT_NE(post.body.data.find(raw_trace_id), std::string::npos);
  EXPECT_NE(post.body.data.find("edge-gateway"), std::string::npos);
}

// Requests through a gateway whose collector is down or slow: each must stay fast.
void expect_fast_requests(Gateway& gw, int n) {
  Millis worst{0};
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    Response r = fetch(gw.port(), http_request("GET", "/"));
    auto took = std::chrono::duration_cast<Millis>(Clock::now() - t0);
    worst = std::max(worst, took);
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_EQ(r.status, 200);
  }
  EXPECT_LT(worst, 250ms) << "a request waited on the exporter";
}

TEST_F(TracingTest, CollectorDownNeverDelaysRequests) {
  uint16_t dead = closed_port();
  std::string yaml = config_prelude() + render(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: traced
        paths: ["/"]
        plugins:
          - name: opentelemetry
            config: {traces_endpoint: "http://127.0.0.1:{{DEAD}}/v1/traces", batch_span_count: 1, connect_timeout: 2000}
)",
                                               {{"UP", std::to_string(up_.port())}, {"DEAD", std::to_string(dead)}});
  Gateway gw(yaml);
  expect_fast_requests(gw, 50);
  EXPECT_TRUE(eventually([&] { return gw.logs().find("opentelemetry: export to") != std::string::npos; }))
      << gw.logs();
  // The lost spans are counted: in /status and in /metrics.
  EXPECT_TRUE(eventually([&] { return status_counter(gw, "tracing.spans_dropped_export_failed") > 0; }));
  EXPECT_GT(status_counter(gw, "tracing.export_failures"), 0u);
  Response metrics = fetch(gw.admin_port(), http_request("GET", "/metrics"));
  EXPECT_NE(metrics.text().find("portico_tracing_spans_total{endpoint=\"http://127.0.0.1:" + std::to_string(dead) +
                                "/v1/traces\",outcome=\"dropped_export_failed\"}"),
            std::string::npos)
      << metrics.text();
}

TEST_F(TracingTest, SlowCollectorNeverDelaysRequests) {
  collector_.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.delay = Millis{1500};
    r.body = "{}";
    return r;
  });
  start("batch_span_count: 1, connect_timeout: 300, send_timeout: 300, read_timeout: 300");
  expect_fast_requests(*gw_, 50);
  EXPECT_TRUE(eventually([&] { return gw_->logs().find("read timed out") != std::string::npos; }))
      << gw_->logs();
  // Exports failed and their spans were dropped: a few attempts, not one per request.
  EXPECT_LT(collector_.request_count(), 50u);
}

TEST_F(TracingTest, CorrelationIdGeneratorsAndEcho) {
  std::string yaml = config_prelude() + render(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: default
        paths: ["/default"]
        plugins:
          - name: correlation-id
      - name: uuid
        paths: ["/uuid"]
        plugins:
          - name: correlation-id
            config: {generator: uuid, echo_downstream: true}
      - name: tracker
        paths: ["/tracker"]
        plugins:
          - name: correlation-id
            config: {generator: tracker, header_name: X-Correlation-ID, echo_downstream: true}
)",
                                               {{"UP", std::to_string(up_.port())}});
  gw_ = std::make_unique<Gateway>(yaml);

  // Same connection, same worker: uuid#counter keeps one uuid per worker.
  Client same(gw_->port());
  Response d1 = same.request(http_request("GET", "/default"));
  Response d2 = same.request(http_request("GET", "/default"));
  ASSERT_TRUE(d1.ok() && d2.ok());
  EXPECT_FALSE(d1.has_header("Kong-Request-ID")) << "echo_downstream defaults to false";
  auto ups = up_.requests();
  ASSERT_EQ(ups.size(), 2u);
  std::string a = ups[0].header("Kong-Request-ID").value_or(""), b = ups[1].header("Kong-Request-ID").value_or("");
  ASSERT_GT(a.size(), 37u) << a;
  ASSERT_GT(b.size(), 37u) << b;
  EXPECT_EQ(a[36], '#') << a;
  EXPECT_EQ(b.substr(0, 37), a.substr(0, 37)) << "uuid#counter keeps the worker's uuid: " << a << " " << b;
  EXPECT_NE(a, b);

  Response u = get("/uuid");
  ASSERT_TRUE(u.ok());
  std::string upstream_id = up_.requests().back().header("Kong-Request-ID").value_or("");
  EXPECT_EQ(upstream_id.size(), 36u) << upstream_id;
  EXPECT_EQ(u.header("Kong-Request-ID").value_or(""), upstream_id);

  Response kept = get("/uuid", {{"Kong-Request-ID", "from-the-client"}});
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(up_.requests().back().header("Kong-Request-ID").value_or(""), "from-the-client");
  EXPECT_EQ(up_.requests().back().header_count("Kong-Request-ID"), 1u);
  EXPECT_EQ(kept.header("Kong-Request-ID").value_or(""), "from-the-client");

  Response t = get("/tracker");
  ASSERT_TRUE(t.ok());
  std::string tracker = up_.requests().back().header("X-Correlation-ID").value_or("");
  EXPECT_TRUE(tracker.starts_with("localhost-" + std::to_string(gw_->port()) + "-")) << tracker;
  EXPECT_EQ(t.header("X-Correlation-ID").value_or(""), tracker);
}

struct BadConfig {
  const char* name;
  const char* plugin;
  const char* expected;
};

TEST(TracingConfig, BadPluginConfigsAreLoadErrorsWithPositions) {
  const BadConfig cases[] = {
      {"MissingEndpoint", "      - name: opentelemetry\n        config: {sampling_rate: 0.5}\n",
       "portico.yaml:14:17: services[0].routes[0].plugins[0].config: missing required field 'traces_endpoint'"},
      {"HttpsEndpoint",
       "      - name: opentelemetry\n        config:\n          traces_endpoint: https://c/v1/traces\n",
       "portico.yaml:15:28: services[0].routes[0].plugins[0].config.traces_endpoint: bad URL"},
      {"B3Extract",
       "      - name: opentelemetry\n        config:\n          traces_endpoint: http://c/v1/traces\n"
       "          propagation: {extract: [b3], default_format: w3c}\n",
       "services[0].routes[0].plugins[0].config.propagation.extract: format 'b3' is not supported yet"},
      {"BadGenerator", "      - name: correlation-id\n        config: {generator: counter}\n",
       "portico.yaml:14:29: services[0].routes[0].plugins[0].config.generator: \"counter\" is not one of"},
  };
  for (const auto& c : cases) {
    std::string yaml = config_prelude() +
                       "services:\n  - name: s\n    url: http://127.0.0.1:1\n    routes:\n"
                       "    - paths: [/]\n      plugins:\n" +
                       c.plugin;
    CheckResult r = Gateway::check(yaml);
    EXPECT_NE(r.exit_code, 0) << c.name;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.name << ":\n" << r.err << "\n" << yaml;
  }
}

TEST(TracingExample, LoadsAndTraces) {
  Upstream up;
  Upstream collector;
  std::string yaml = read_example("tracing.yaml");
  ASSERT_FALSE(yaml.empty());
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = yaml.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    yaml.replace(at, from.size(), to);
  };
  replace("http://otel-collector:4318/v1/traces",
          "http://127.0.0.1:" + std::to_string(collector.port()) + "/v1/traces");
  replace("http://orders.internal:8080", "http://127.0.0.1:" + std::to_string(up.port()));
  replace("batch_flush_delay: 2", "batch_flush_delay: 0.1");
  GatewayOptions options;
  options.extra_args = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "2"};
  Gateway gw(yaml, options);
  Response r = fetch(gw.port(), http_request("GET", "/orders/1", {{"traceparent", kIncoming}}));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("X-Trace-Id").value_or(""), kIncomingTraceId);
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_TRUE(up.requests()[0].header("Kong-Request-ID"));
  EXPECT_EQ(r.header("Kong-Request-ID"), up.requests()[0].header("Kong-Request-ID"));
  ASSERT_TRUE(collector.wait_for_requests(1, 5000ms)) << gw.logs();
  EXPECT_EQ(collector.requests()[0].header("content-type").value_or(""), "application/x-protobuf");
}

TEST_F(TracingTest, EveryUpstreamAttemptAndEveryWaitingPluginIsAChildSpan) {
  std::atomic<int> calls{0};
  up_.set_handler([&calls](const RecordedRequest&) {
    UpstreamResponse r;
    r.status = calls.fetch_add(1) == 0 ? 503 : 200;  // the first attempt fails, the retry succeeds
    r.body = "x";
    return r;
  });
  start("batch_span_count: 1, batch_flush_delay: 0.1", render(R"(      - name: retried
        paths: ["/retried"]
        retry_policy: {retry_on: 5xx, num_retries: 2, retry_back_off: {base_interval: 1ms, max_interval: 2ms}}
        plugins:
          - name: opentelemetry
            config: {traces_endpoint: "http://127.0.0.1:{{COLLECTOR}}/v1/traces", encoding: json, batch_span_count: 1}
          - name: fault-injection
            config: {delay: {fixed_delay: 40}}
)",
                                                               {{"COLLECTOR", std::to_string(collector_.port())}}));
  Response r = get("/retried");
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_TRUE(eventually([&] { return all_spans(collector_).size() >= 4; })) << all_spans(collector_).size();
  auto spans = all_spans(collector_);
  ASSERT_EQ(spans.size(), 4u);
  const boost::json::object* server = nullptr;
  std::vector<const boost::json::object*> clients, internals;
  for (const auto& sp : spans) {
    const int64_t kind = sp.at("kind").as_int64();
    if (kind == 2) server = &sp;
    if (kind == 3) clients.push_back(&sp);
    if (kind == 1) internals.push_back(&sp);
  }
  ASSERT_TRUE(server);
  ASSERT_EQ(clients.size(), 2u);
  ASSERT_EQ(internals.size(), 1u);
  const std::string server_id = str(*server, "spanId");
  for (const auto* c : clients) {
    EXPECT_EQ(str(*c, "parentSpanId"), server_id);
    EXPECT_EQ(str(*c, "traceId"), str(*server, "traceId"));
    EXPECT_EQ(attr(*c, "server.address"), "127.0.0.1");
  }
  // In order: the 503 (an error span), then the retry that got the 200.
  EXPECT_EQ(attr(*clients[0], "http.response.status_code"), "503");
  EXPECT_EQ(attr(*clients[0], "error.type"), "503");
  EXPECT_EQ(attr(*clients[1], "http.response.status_code"), "200");
  EXPECT_EQ(attr(*clients[1], "http.request.resend_count"), "1");
  EXPECT_EQ(attr(*server, "portico.upstream.attempts"), "2");
  // The fault-injection delay waited on a timer: a span of about its 40 ms.
  EXPECT_EQ(str(*internals[0], "name"), "plugin fault-injection");
  EXPECT_EQ(str(*internals[0], "parentSpanId"), server_id);
  const double wait_ms = (std::stod(str(*internals[0], "endTimeUnixNano")) -
                          std::stod(str(*internals[0], "startTimeUnixNano"))) / 1e6;
  EXPECT_GE(wait_ms, 35.0);
  EXPECT_LT(wait_ms, 1000.0);
}

TEST_F(TracingTest, PluginsThatWaitBeforeTheTracerStartsAreSpansToo) {
  // rate-limiting (priority 910) waits for Redis before opentelemetry (14) starts the trace: its
  // wait must still be a child span of the request.
  if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
  RedisServer redis;
  redis.start();
  start("batch_span_count: 1, batch_flush_delay: 0.1", render(R"(      - name: limited
        paths: ["/limited"]
        plugins:
          - name: opentelemetry
            config: {traces_endpoint: "http://127.0.0.1:{{COLLECTOR}}/v1/traces", encoding: json, batch_span_count: 1}
          - name: rate-limiting
            config: {minute: 100, limit_by: ip, policy: redis, redis: {host: 127.0.0.1, port: {{REDIS}}}}
)",
                                                               {{"COLLECTOR", std::to_string(collector_.port())},
                                                                {"REDIS", std::to_string(redis.port())}}));
  Response r = get("/limited");
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_TRUE(eventually([&] { return all_spans(collector_).size() >= 3; })) << all_spans(collector_).size();
  auto spans = all_spans(collector_);
  const boost::json::object* server = nullptr;
  const boost::json::object* wait = nullptr;
  for (const auto& sp : spans) {
    if (sp.at("kind").as_int64() == 2) server = &sp;
    if (sp.at("kind").as_int64() == 1) wait = &sp;
  }
  ASSERT_TRUE(server && wait);
  EXPECT_EQ(str(*wait, "name"), "plugin rate-limiting");
  EXPECT_EQ(str(*wait, "parentSpanId"), str(*server, "spanId"));
  EXPECT_EQ(str(*wait, "traceId"), str(*server, "traceId"));
  EXPECT_GE(std::stod(str(*wait, "startTimeUnixNano")), std::stod(str(*server, "startTimeUnixNano")));
  EXPECT_LE(std::stod(str(*wait, "endTimeUnixNano")), std::stod(str(*server, "endTimeUnixNano")));
}

}  // namespace
}  // namespace portico::integration
