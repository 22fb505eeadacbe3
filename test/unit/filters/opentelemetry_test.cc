#include "filters/opentelemetry/opentelemetry_filter.h"

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "filters/opentelemetry/span_builder.h"
#include "observability/trace_context.h"
#include "test_support.h"

namespace portico::filters {
namespace {

using namespace std::chrono_literals;
using testing::load_plugin;
namespace obs = observability;

constexpr const char* kIncoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

testing::Loaded load(const std::string& config_body) {
  return load_plugin("plugins:\n- name: opentelemetry\n  config:\n" + config_body);
}

// An endpoint nothing listens on: these tests look at headers, records and counters only.
const std::string kEndpoint = "    traces_endpoint: http://127.0.0.1:9/v1/traces\n";

const OpenTelemetryFilter& as_otel(const testing::Loaded& loaded) {
  return static_cast<const OpenTelemetryFilter&>(*loaded.filter);
}

TEST(OpenTelemetryConfig, DefaultsFollowKong) {
  auto loaded = load(kEndpoint);
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 14);
  const auto& c = as_otel(loaded).config();
  EXPECT_EQ(c.exporter.traces_endpoint, "http://127.0.0.1:9/v1/traces");
  EXPECT_EQ(c.exporter.batch_span_count, 200u);
  EXPECT_EQ(c.exporter.batch_flush_delay, 3000ms);
  EXPECT_EQ(c.exporter.queue_capacity, 10000u);
  EXPECT_EQ(c.exporter.connect_timeout, 1000ms);
  EXPECT_EQ(c.exporter.send_timeout, 5000ms);
  EXPECT_EQ(c.exporter.read_timeout, 5000ms);
  EXPECT_FALSE(c.exporter.json);
  EXPECT_EQ(c.sampling_rate, 1.0);
  EXPECT_TRUE(c.extract_w3c);
  EXPECT_TRUE(c.inject_w3c);
  EXPECT_TRUE(c.response_header_for_trace_id.empty());
}

TEST(OpenTelemetryConfig, EveryField) {
  auto loaded = load(kEndpoint + R"(    headers: {Authorization: "Bearer x", X-Tenant: acme}
    resource_attributes: {service.name: edge, deployment.environment: prod}
    batch_span_count: 50
    batch_flush_delay: 0.5
    sampling_rate: 0.25
    propagation: {extract: [w3c], inject: [preserve], default_format: w3c, clear: [x-b3-traceid]}
    http_response_header_for_traceid: X-Trace-Id
    connect_timeout: 100
    send_timeout: 200
    read_timeout: 300
    encoding: json
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& c = as_otel(loaded).config();
  ASSERT_EQ(c.exporter.headers.size(), 2u);
  EXPECT_EQ(c.exporter.headers[0], (std::pair<std::string, std::string>{"Authorization", "Bearer x"}));
  ASSERT_EQ(c.exporter.resource_attributes.size(), 2u);
  EXPECT_EQ(c.exporter.resource_attributes[0].second, "edge");
  EXPECT_EQ(c.exporter.batch_span_count, 50u);
  EXPECT_EQ(c.exporter.batch_flush_delay, 500ms);
  EXPECT_EQ(c.sampling_rate, 0.25);
  EXPECT_EQ(c.clear, std::vector<std::string>{"x-b3-traceid"});
  EXPECT_EQ(c.response_header_for_trace_id, "X-Trace-Id");
  EXPECT_EQ(c.exporter.connect_timeout, 100ms);
  EXPECT_EQ(c.exporter.send_timeout, 200ms);
  EXPECT_EQ(c.exporter.read_timeout, 300ms);
  EXPECT_TRUE(c.exporter.json);
}

TEST(OpenTelemetryConfig, KongQueueAndOldEndpointName) {
  auto loaded = load(R"(    endpoint: http://collector:4318/v1/traces
    queue: {max_batch_size: 10, max_coalescing_delay: 2, max_entries: 500, max_retry_time: 60}
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& c = as_otel(loaded).config();
  EXPECT_EQ(c.exporter.traces_endpoint, "http://collector:4318/v1/traces");
  EXPECT_EQ(c.exporter.batch_span_count, 10u);
  EXPECT_EQ(c.exporter.batch_flush_delay, 2000ms);
  EXPECT_EQ(c.exporter.queue_capacity, 500u);
}

TEST(OpenTelemetryConfig, NoConfigIsAnError) {
  auto loaded = load_plugin("plugins:\n- name: opentelemetry\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(), "plugins[0].config: opentelemetry needs 'traces_endpoint'");
}

TEST(OpenTelemetryConfig, SameSettingsShareOneExporter) {
  auto a = load(kEndpoint);
  auto b = load(kEndpoint);
  auto c = load(kEndpoint + "    batch_span_count: 3\n");
  ASSERT_TRUE(a.filter && b.filter && c.filter);
  EXPECT_EQ(as_otel(a).exporter(), as_otel(b).exporter());
  EXPECT_NE(as_otel(a).exporter(), as_otel(c).exporter());
}

struct ErrorCase {
  const char* name;
  std::string config;
  const char* error;
};

class OpenTelemetryConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(OpenTelemetryConfigError, IsReportedWithPosition) {
  auto loaded = load(GetParam().config);
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    All, OpenTelemetryConfigError,
    ::testing::Values(
        ErrorCase{"MissingEndpoint", "    sampling_rate: 1\n",
                  "kong.yaml:4:5: plugins[0].config: missing required field 'traces_endpoint'"},
        ErrorCase{"HttpsEndpoint", "    traces_endpoint: https://collector/v1/traces\n",
                  "kong.yaml:4:22: plugins[0].config.traces_endpoint: bad URL "
                  "'https://collector/v1/traces': https endpoints are not supported yet (use http://)"},
        ErrorCase{"NotAUrl", "    traces_endpoint: collector:4318\n",
                  "kong.yaml:4:22: plugins[0].config.traces_endpoint: bad URL 'collector:4318': "
                  "expected an http:// URL"},
        ErrorCase{"BothEndpointNames", kEndpoint + "    endpoint: http://a/\n",
                  "kong.yaml:5:15: plugins[0].config.endpoint: set either 'traces_endpoint' or its "
                  "older name 'endpoint', not both"},
        ErrorCase{"SamplingRateAboveOne", kEndpoint + "    sampling_rate: 1.5\n",
                  "kong.yaml:5:20: plugins[0].config.sampling_rate: value 1.5 is out of range (0..1)"},
        ErrorCase{"ZeroBatch", kEndpoint + "    batch_span_count: 0\n",
                  "kong.yaml:5:23: plugins[0].config.batch_span_count: value 0 is out of range "
                  "(1..1000000)"},
        ErrorCase{"UnsupportedExtract", kEndpoint + "    propagation: {extract: [b3], default_format: w3c}\n",
                  "kong.yaml:5:28: plugins[0].config.propagation.extract: format 'b3' is not supported "
                  "yet (supported: w3c)"},
        ErrorCase{"UnknownInject", kEndpoint + "    propagation: {inject: [zipkin], default_format: w3c}\n",
                  "kong.yaml:5:27: plugins[0].config.propagation.inject: unknown format 'zipkin' "
                  "(expected one of: preserve, w3c, b3, b3-single, jaeger, ot, aws, gcp, datadog, "
                  "instana)"},
        ErrorCase{"UnsupportedDefaultFormat", kEndpoint + "    propagation: {default_format: datadog}\n",
                  "kong.yaml:5:35: plugins[0].config.propagation.default_format: format 'datadog' is "
                  "not supported yet (supported: w3c)"},
        ErrorCase{"LogsEndpoint", kEndpoint + "    logs_endpoint: http://collector/v1/logs\n",
                  "kong.yaml:5:5: plugins[0].config.logs_endpoint: logs_endpoint is not supported yet "
                  "(Portico exports traces only)"},
        ErrorCase{"BadHeaderName", kEndpoint + "    headers: {\"bad header\": x}\n",
                  "kong.yaml:5:15: plugins[0].config.headers[\"bad header\"]: 'bad header' is not a "
                  "valid header name"},
        ErrorCase{"HeaderTypeB3", kEndpoint + "    header_type: b3\n",
                  "kong.yaml:5:18: plugins[0].config.header_type: header_type 'b3' is not supported "
                  "yet (supported: preserve, w3c)"},
        ErrorCase{"BothBatchSizes", kEndpoint + "    batch_span_count: 5\n    queue: {max_batch_size: 6}\n",
                  "kong.yaml:6:29: plugins[0].config.queue.max_batch_size: set either batch_span_count "
                  "or queue.max_batch_size, not both"},
        ErrorCase{"NegativeTimeout", kEndpoint + "    connect_timeout: -1\n",
                  "kong.yaml:5:22: plugins[0].config.connect_timeout: value -1 is out of range "
                  "(0..2147483646)"},
        ErrorCase{"UnknownEncoding", kEndpoint + "    encoding: thrift\n",
                  "kong.yaml:5:15: plugins[0].config.encoding: \"thrift\" is not one of: protobuf, json"},
        ErrorCase{"UnknownField", kEndpoint + "    sample_rate: 0.5\n",
                  "kong.yaml:5:5: plugins[0].config.sample_rate: unknown field 'sample_rate'; expected one of: "
                  "traces_endpoint, headers, resource_attributes, batch_span_count, batch_flush_delay, "
                  "queue, sampling_rate, header_type, propagation, http_response_header_for_traceid, "
                  "connect_timeout, send_timeout, read_timeout, encoding"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

struct Request {
  boost::asio::io_context io;
  filter::Exchange x{io.get_executor()};
  Request() { testing::fill_request(x); }
  std::string header(std::string_view name) {
    auto v = x.request.headers.get(name);
    return v ? std::string(*v) : std::string("<absent>");
  }
};

TEST(OpenTelemetry, ContinuesAValidIncomingTrace) {
  auto loaded = load(kEndpoint);
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  Request r;
  r.x.request.headers.add("traceparent", kIncoming);
  r.x.request.headers.add("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  filter::Step step = loaded.filter->on_request(r.x);
  ASSERT_TRUE(step.ready());
  const auto& t = r.x.trace;
  EXPECT_TRUE(t.active);
  EXPECT_TRUE(t.sampled);
  EXPECT_EQ(obs::to_hex(t.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(obs::to_hex(t.parent_span_id), "00f067aa0ba902b7");
  EXPECT_NE(obs::to_hex(t.span_id), "00f067aa0ba902b7");
  std::string sent = r.header("traceparent");
  EXPECT_EQ(sent, "00-4bf92f3577b34da6a3ce929d0e0e4736-" + obs::to_hex(t.span_id) + "-01");
  EXPECT_EQ(r.x.request.headers.count("traceparent"), 1u);
  EXPECT_EQ(r.header("tracestate"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}

TEST(OpenTelemetry, ParentNotSampledIsHonoured) {
  auto loaded = load(kEndpoint);
  Request r;
  r.x.request.headers.add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  loaded.filter->on_request(r.x);
  EXPECT_FALSE(r.x.trace.sampled);
  EXPECT_TRUE(r.header("traceparent").ends_with("-00"));
}

TEST(OpenTelemetry, MalformedTraceIsReplacedAndItsStateDropped) {
  auto loaded = load(kEndpoint);
  for (const char* bad : {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "garbage"}) {
    Request r;
    r.x.request.headers.add("traceparent", bad);
    r.x.request.headers.add("tracestate", "rojo=1");
    loaded.filter->on_request(r.x);
    auto sent = obs::parse_traceparent(r.header("traceparent"));
    ASSERT_TRUE(sent) << bad;
    EXPECT_NE(obs::to_hex(sent->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_TRUE(obs::is_zero(r.x.trace.parent_span_id));
    EXPECT_EQ(r.header("tracestate"), "<absent>");
  }
}

TEST(OpenTelemetry, TwoTraceparentsRestartTheTrace) {
  auto loaded = load(kEndpoint);
  Request r;
  r.x.request.headers.add("traceparent", kIncoming);
  r.x.request.headers.add("traceparent", kIncoming);
  loaded.filter->on_request(r.x);
  EXPECT_TRUE(obs::is_zero(r.x.trace.parent_span_id));
  EXPECT_EQ(r.x.request.headers.count("traceparent"), 1u);
}

TEST(OpenTelemetry, InvalidTracestateIsDroppedValidOnesAreJoined) {
  auto loaded = load(kEndpoint);
  {
    Request r;
    r.x.request.headers.add("traceparent", kIncoming);
    r.x.request.headers.add("tracestate", "Rojo=1");
    loaded.filter->on_request(r.x);
    EXPECT_EQ(r.header("tracestate"), "<absent>");
    EXPECT_EQ(obs::to_hex(r.x.trace.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  }
  {
    Request r;
    r.x.request.headers.add("traceparent", kIncoming);
    r.x.request.headers.add("tracestate", "a=1");
    r.x.request.headers.add("tracestate", "b=2");
    loaded.filter->on_request(r.x);
    EXPECT_EQ(r.header("tracestate"), "a=1,b=2");
    EXPECT_EQ(r.x.request.headers.count("tracestate"), 1u);
  }
}

TEST(OpenTelemetry, AbsentStartsANewSampledTrace) {
  auto loaded = load(kEndpoint);
  Request r;
  loaded.filter->on_request(r.x);
  auto sent = obs::parse_traceparent(r.header("traceparent"));
  ASSERT_TRUE(sent);
  EXPECT_TRUE(sent->sampled());
  EXPECT_EQ(sent->trace_id, r.x.trace.trace_id);
  EXPECT_EQ(sent->parent_id, r.x.trace.span_id);
}

TEST(OpenTelemetry, RateZeroStillPropagatesUnsampled) {
  auto loaded = load(kEndpoint + "    sampling_rate: 0\n");
  Request r;
  loaded.filter->on_request(r.x);
  EXPECT_FALSE(r.x.trace.recording());
  EXPECT_TRUE(r.header("traceparent").ends_with("-00"));
  auto before = as_otel(loaded).exporter()->counters().spans_enqueued.load();
  loaded.filter->on_log(r.x);
  EXPECT_EQ(as_otel(loaded).exporter()->counters().spans_enqueued.load(), before);
}

TEST(OpenTelemetry, EmptyExtractIgnoresTheIncomingContext) {
  auto loaded = load(kEndpoint + "    propagation: {extract: [], default_format: w3c, clear: [x-legacy]}\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  Request r;
  r.x.request.headers.add("traceparent", kIncoming);
  r.x.request.headers.add("x-legacy", "1");
  loaded.filter->on_request(r.x);
  EXPECT_NE(obs::to_hex(r.x.trace.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.header("x-legacy"), "<absent>");
}

TEST(OpenTelemetry, ResponseHeaderForTraceId) {
  auto loaded = load(kEndpoint + "    http_response_header_for_traceid: X-Trace-Id\n");
  ASSERT_TRUE(loaded.filter->phases() & filter::kOnResponse);
  Request r;
  r.x.request.headers.add("traceparent", kIncoming);
  loaded.filter->on_request(r.x);
  loaded.filter->on_response(r.x);
  EXPECT_EQ(r.x.response.headers.get("x-trace-id").value_or(""), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(load(kEndpoint).filter->phases() & filter::kOnResponse);
}

// The builder's spans, written in OTLP/JSON (the builder makes the same writer calls in either
// encoding; otlp_test checks that both encodings carry them alike) and parsed back.
struct Collected final : SpanSink {
  std::vector<boost::json::object> spans;
  void emit(std::string_view span) override { spans.push_back(boost::json::parse(span).as_object()); }
};
std::vector<boost::json::object> build(const filter::Exchange& x, core::MonoTime mono_now, uint64_t unix_now) {
  obs::SpanWriter writer(obs::OtlpEncoding::kJson);
  Collected c;
  build_request_spans(x, mono_now, unix_now, writer, c);
  return c.spans;
}

const boost::json::object* find(const boost::json::object& s, std::string_view key) {
  for (const auto& a : s.at("attributes").as_array()) {
    if (a.at("key").as_string() == key) return &a.at("value").as_object();
  }
  return nullptr;
}
std::string str(const boost::json::object& s, std::string_view key) {
  const auto* v = find(s, key);
  if (v == nullptr) return "<absent>";
  EXPECT_TRUE(v->contains("stringValue")) << key;
  return v->contains("stringValue") ? std::string(v->at("stringValue").as_string()) : "<not a string>";
}
int64_t num(const boost::json::object& s, std::string_view key) {
  const auto* v = find(s, key);
  if (v == nullptr) return -1;
  EXPECT_TRUE(v->contains("intValue")) << key;
  return v->contains("intValue") ? std::stoll(std::string(v->at("intValue").as_string())) : -2;
}
std::string text(const boost::json::object& s, std::string_view field) {
  return s.contains(field) ? std::string(s.at(field).as_string()) : "<absent>";
}
int64_t kind(const boost::json::object& s) { return s.at("kind").as_int64(); }
uint64_t nanos(const boost::json::object& s, std::string_view field) { return std::stoull(text(s, field)); }
int64_t status_code(const boost::json::object& s) {
  const auto& status = s.at("status").as_object();
  return status.contains("code") ? status.at("code").as_int64() : 0;
}

// The record the proxy fills (one add_attempt per upstream attempt) becomes child spans.
TEST(SpanBuilder, AttemptsAndWaitsBecomeChildSpans) {
  Request r;
  filter::Exchange& x = r.x;
  x.request.client_ip = "10.1.2.3";
  x.request.client_port = 50000;
  x.route_name = "orders-route";
  x.service_name = "orders";
  x.status_sent = 200;
  x.upstream_attempts = 2;
  auto t0 = core::MonoClock::now();
  x.timings.start = t0;
  x.timings.end = t0 + 50ms;
  filter::TraceRecord& t = x.trace;
  auto incoming = obs::parse_traceparent(kIncoming);
  t.active = t.sampled = true;
  t.trace_id = incoming->trace_id;
  t.parent_span_id = incoming->parent_id;
  t.span_id = obs::new_span_id();
  t.tracestate = "rojo=1";
  t.add_attempt(t0 + 5ms, t0 + 10ms, "10.0.0.1:8080", 0, "connect-failure");
  t.add_attempt(t0 + 12ms, t0 + 40ms, "10.0.0.2:8080", 200, {});
  t.add_wait("fault-injection", t0 + 1ms, t0 + 4ms);

  uint64_t unix_now = 1'700'000'000'000'000'000ull;
  const auto spans = build(x, t0 + 100ms, unix_now);
  ASSERT_EQ(spans.size(), 4u);

  const auto& server = spans[0];
  EXPECT_EQ(kind(server), 2);  // SERVER
  EXPECT_EQ(text(server, "name"), "GET");
  EXPECT_EQ(text(server, "traceId"), obs::to_hex(incoming->trace_id));
  EXPECT_EQ(text(server, "parentSpanId"), obs::to_hex(incoming->parent_id));
  EXPECT_EQ(text(server, "spanId"), obs::to_hex(t.span_id));
  EXPECT_EQ(text(server, "traceState"), "rojo=1");
  EXPECT_EQ(nanos(server, "startTimeUnixNano"), unix_now - 100'000'000);
  EXPECT_EQ(nanos(server, "endTimeUnixNano"), unix_now - 50'000'000);
  EXPECT_EQ(str(server, "http.request.method"), "GET");
  EXPECT_EQ(str(server, "url.path"), "/echo");
  EXPECT_EQ(str(server, "url.scheme"), "http");
  EXPECT_EQ(str(server, "server.address"), "Example.COM");
  EXPECT_EQ(num(server, "server.port"), 8000);
  EXPECT_EQ(str(server, "client.address"), "10.1.2.3");
  EXPECT_EQ(str(server, "network.peer.address"), "10.1.2.3");
  EXPECT_EQ(num(server, "network.peer.port"), 50000);
  EXPECT_EQ(str(server, "user_agent.original"), "test/1.0");
  EXPECT_EQ(num(server, "http.response.status_code"), 200);
  EXPECT_EQ(str(server, "portico.route"), "orders-route");
  EXPECT_EQ(str(server, "http.route"), "orders-route");
  EXPECT_EQ(str(server, "portico.service"), "orders");
  EXPECT_EQ(num(server, "portico.upstream.attempts"), 2);
  EXPECT_EQ(status_code(server), 0);  // UNSET

  const auto& failed = spans[1];
  EXPECT_EQ(kind(failed), 3);  // CLIENT
  EXPECT_EQ(text(failed, "traceId"), obs::to_hex(incoming->trace_id));
  EXPECT_EQ(text(failed, "parentSpanId"), obs::to_hex(t.span_id));
  EXPECT_NE(text(failed, "spanId"), obs::to_hex(t.span_id));
  EXPECT_EQ(nanos(failed, "startTimeUnixNano"), unix_now - 95'000'000);
  EXPECT_EQ(nanos(failed, "endTimeUnixNano"), unix_now - 90'000'000);
  EXPECT_EQ(str(failed, "server.address"), "10.0.0.1");
  EXPECT_EQ(num(failed, "server.port"), 8080);
  EXPECT_EQ(str(failed, "error.type"), "connect-failure");
  EXPECT_EQ(status_code(failed), 2);  // ERROR
  EXPECT_EQ(failed.at("status").at("message").as_string(), "connect-failure");
  EXPECT_EQ(find(failed, "http.response.status_code"), nullptr);
  EXPECT_EQ(find(failed, "http.request.resend_count"), nullptr);

  const auto& retry = spans[2];
  EXPECT_EQ(kind(retry), 3);
  EXPECT_EQ(str(retry, "network.peer.address"), "10.0.0.2");
  EXPECT_EQ(num(retry, "http.response.status_code"), 200);
  EXPECT_EQ(num(retry, "http.request.resend_count"), 1);
  EXPECT_EQ(status_code(retry), 0);
  EXPECT_NE(text(retry, "spanId"), text(failed, "spanId"));

  const auto& wait = spans[3];
  EXPECT_EQ(kind(wait), 1);  // INTERNAL
  EXPECT_EQ(text(wait, "name"), "plugin fault-injection");
  EXPECT_EQ(str(wait, "portico.plugin"), "fault-injection");
  EXPECT_EQ(text(wait, "parentSpanId"), obs::to_hex(t.span_id));
  EXPECT_EQ(nanos(wait, "endTimeUnixNano") - nanos(wait, "startTimeUnixNano"), 3'000'000u);
}

TEST(SpanBuilder, ServerErrorMarksTheSpan) {
  Request r;
  r.x.trace.active = r.x.trace.sampled = true;
  r.x.trace.trace_id = obs::new_trace_id();
  r.x.trace.span_id = obs::new_span_id();
  r.x.status_sent = 502;
  r.x.trace.add_attempt(core::MonoClock::now(), core::MonoClock::now(), "[::1]:9000", 503, {});
  const auto spans = build(r.x, core::MonoClock::now(), 1'000'000'000);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(status_code(spans[0]), 2);
  EXPECT_EQ(str(spans[0], "error.type"), "502");
  EXPECT_FALSE(spans[0].contains("parentSpanId"));
  EXPECT_EQ(status_code(spans[1]), 2);
  EXPECT_EQ(str(spans[1], "server.address"), "::1");
  EXPECT_EQ(num(spans[1], "server.port"), 9000);
}

// server.address / server.port from the Host the client sent: a port only when it is a plain
// decimal 0..65535 after the one colon (or after "]"), else the listener's port.
TEST(SpanBuilder, HostAndPortOfTheServerSpan) {
  struct Case {
    std::string_view host;
    std::string_view address;
    int64_t port;
  };
  for (const Case& c : {Case{"example.com:8080", "example.com", 8080}, Case{"example.com", "example.com", 8000},
                        Case{"h:0080", "h", 80}, Case{"h:65535", "h", 65535}, Case{"h:65536", "h", 8000},
                        Case{"h:", "h", 8000}, Case{"h:8x", "h", 8000}, Case{"[::1]:9000", "::1", 9000},
                        Case{"[::1]", "::1", 8000}, Case{"::1", "::1", 8000}, Case{"[::1", "[::1", 8000}}) {
    Request r;
    r.x.request.host = c.host;
    r.x.trace.active = r.x.trace.sampled = true;
    r.x.trace.trace_id = obs::new_trace_id();
    r.x.trace.span_id = obs::new_span_id();
    const auto spans = build(r.x, core::MonoClock::now(), 1'000'000'000);
    ASSERT_FALSE(spans.empty());
    EXPECT_EQ(str(spans[0], "server.address"), c.address) << c.host;
    EXPECT_EQ(num(spans[0], "server.port"), c.port) << c.host;
  }
}

TEST(TraceRecord, RecordsAttemptsOnlyWhenSampledAndWaitsUntilCleared) {
  filter::TraceRecord t;
  auto now = core::MonoClock::now();
  t.add_attempt(now, now, "1.2.3.4:80", 200, {});
  t.add_wait("x", now, now);  // a plugin before the tracer waited: kept for a sampled trace
  EXPECT_TRUE(t.attempts.empty());
  ASSERT_EQ(t.waits.size(), 1u);
  t.begin();  // the tracer takes the request: the earlier wait stays
  EXPECT_TRUE(t.active);
  ASSERT_EQ(t.waits.size(), 1u);
  EXPECT_EQ(t.waits[0].filter, "x");
  t.add_attempt(now, now, "1.2.3.4:80", 200, {});
  EXPECT_TRUE(t.attempts.empty()) << "active but not sampled";
  t.sampled = true;
  t.add_attempt(now, now, std::string(100, 'x'), 200, {});
  ASSERT_EQ(t.attempts.size(), 1u);
  EXPECT_EQ(t.attempts[0].endpoint().size(), 63u);
  t.clear();
  EXPECT_TRUE(t.attempts.empty());
  EXPECT_TRUE(t.waits.empty());
  EXPECT_FALSE(t.active);
}

// How the proxy records attempts: one scope per attempt, finished by the response head or ended by
// a failure (retry, error reply) when it goes out of scope.
TEST(TraceAttemptScope, RecordsEachAttemptOnce) {
  filter::TraceRecord t;
  t.active = t.sampled = true;
  const std::string first = "10.0.0.1:80", second = "10.0.0.2:80";
  for (int attempt = 0; attempt < 3; ++attempt) {
    filter::TraceAttemptScope scope(t, attempt == 2 ? second : first);
    if (attempt == 0) {
      scope.error = "connect-failure";
      continue;  // a retry
    }
    if (attempt == 1) continue;  // ended without a reason
    scope.finish(201);
    scope.finish(500);  // already recorded: ignored, as is the destructor
  }
  ASSERT_EQ(t.attempts.size(), 3u);
  EXPECT_EQ(t.attempts[0].error, "connect-failure");
  EXPECT_EQ(t.attempts[0].status, 0);
  EXPECT_EQ(t.attempts[1].error, "no-response");
  EXPECT_EQ(t.attempts[2].status, 201);
  EXPECT_TRUE(t.attempts[2].error.empty());
  EXPECT_EQ(t.attempts[2].endpoint(), "10.0.0.2:80");
  EXPECT_LE(t.attempts[2].start, t.attempts[2].end);

  filter::TraceRecord untraced;
  { filter::TraceAttemptScope scope(untraced, first); }
  EXPECT_TRUE(untraced.attempts.empty());
}

TEST(OpenTelemetry, OnLogEnqueuesTheServerAndAttemptSpans) {
  auto loaded = load(kEndpoint + "    batch_span_count: 1000\n    batch_flush_delay: 3600\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& counters = as_otel(loaded).exporter()->counters();
  Request r;
  loaded.filter->on_request(r.x);
  auto now = core::MonoClock::now();
  r.x.trace.add_attempt(now, now, "127.0.0.1:1", 200, {});
  loaded.filter->on_log(r.x);
  EXPECT_EQ(counters.spans_enqueued.load(), 2u);
}

// Loading a config (a reload, `portico check`) starts no exporter thread; the first sampled
// request does, and an unsampled one does not.
TEST(OpenTelemetry, TheExporterThreadStartsWithTheFirstSpan) {
  auto loaded = load(kEndpoint + "    batch_span_count: 997\n    batch_flush_delay: 3600\n    sampling_rate: 0\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& exporter = as_otel(loaded).exporter();
  EXPECT_FALSE(exporter->started());
  Request unsampled;
  loaded.filter->on_request(unsampled.x);
  loaded.filter->on_log(unsampled.x);
  EXPECT_FALSE(exporter->started());

  auto sampling = load(kEndpoint + "    batch_span_count: 997\n    batch_flush_delay: 3600\n");
  ASSERT_TRUE(sampling.filter) << sampling.error_text();
  const auto& started = as_otel(sampling).exporter();
  EXPECT_FALSE(started->started());
  Request r;
  sampling.filter->on_request(r.x);
  sampling.filter->on_log(r.x);
  EXPECT_TRUE(started->started());
  EXPECT_EQ(started->counters().spans_enqueued.load(), 1u);
}

}  // namespace
}  // namespace portico::filters
