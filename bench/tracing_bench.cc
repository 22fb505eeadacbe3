// Request-path costs of tracing: encoding a request's spans (server + client) as the plugin's
// on_log does, handing an encoded span to the exporter's queue (one and two producer threads),
// putting a batch of spans into one request body (the exporter thread's share), and the
// opentelemetry plugin's on_request with an incoming traceparent.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <memory>

#include "filters/opentelemetry/opentelemetry_filter.h"
#include "filters/opentelemetry/span_builder.h"
#include "observability/otlp.h"
#include "observability/span_exporter.h"

namespace {

namespace obs = portico::observability;

// A server span of a typical proxied request, encoded (protobuf, ~0.4 KiB).
std::string typical_span() {
  obs::SpanWriter w;
  obs::SpanStart s;
  s.trace_id = obs::new_trace_id();
  s.span_id = obs::new_span_id();
  s.kind = obs::SpanKind::kServer;
  s.name = "GET";
  w.begin(s);
  w.add_string("http.request.method", "GET");
  w.add_string("url.path", "/api/v1/orders/12345");
  w.add_string("url.scheme", "http");
  w.add_string("server.address", "api.example.com");
  w.add_int("server.port", 8000);
  w.add_string("client.address", "10.1.2.3");
  w.add_string("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)");
  w.add_int("http.response.status_code", 200);
  w.add_string("http.route", "orders");
  return std::string(w.finish());
}

obs::ExporterSettings unreachable_settings() {
  obs::ExporterSettings s;
  // Nothing listens on port 9: exports fail fast, so the queue keeps draining.
  s.traces_endpoint = "http://127.0.0.1:9/v1/traces";
  s.batch_span_count = 512;
  s.batch_flush_delay = std::chrono::milliseconds(10);
  s.queue_capacity = 1 << 16;
  return s;
}

// A full queue: nothing drains it (a batch larger than the queue, a flush an hour away) and it is
// filled before timing starts, so every timed push is a drop (counted, never waits).
void BM_Enqueue(benchmark::State& state) {
  static std::shared_ptr<obs::SpanExporter> e;
  const std::string span = typical_span();
  if (state.thread_index() == 0) {
    obs::ExporterSettings s = unreachable_settings();
    s.queue_capacity = 1024;
    s.batch_span_count = 1 << 20;
    s.batch_flush_delay = std::chrono::hours(1);
    e = std::make_shared<obs::SpanExporter>(s);
    for (size_t i = 0; i < s.queue_capacity; ++i) e->enqueue(span);
  }
  for (auto _ : state) benchmark::DoNotOptimize(e->enqueue(span));
  if (state.thread_index() == 0) {
    state.counters["dropped"] = static_cast<double>(e->counters().spans_dropped_queue_full.load());
  }
}
BENCHMARK(BM_Enqueue)->Threads(1)->Threads(2)->UseRealTime();

// Every push accepted: a queue large enough for all iterations and a flush far away, so the cost
// is the claim of a cell, the copy of the span's bytes and the publish (plus one wake-up per 512
// spans).
void BM_EnqueueAccepted(benchmark::State& state) {
  static std::shared_ptr<obs::SpanExporter> e;
  if (state.thread_index() == 0) {
    obs::ExporterSettings s = unreachable_settings();
    // A cell holds a span of up to 0.75 KiB inline: 2^20 cells cover both threads' iterations.
    s.queue_capacity = 1 << 20;
    s.batch_span_count = 1 << 20;
    s.batch_flush_delay = std::chrono::hours(1);
    e = std::make_shared<obs::SpanExporter>(s);
  }
  const std::string span = typical_span();
  for (auto _ : state) benchmark::DoNotOptimize(e->enqueue(span));
  if (state.thread_index() == 0) {
    state.counters["dropped"] = static_cast<double>(e->counters().spans_dropped_queue_full.load());
  }
}
BENCHMARK(BM_EnqueueAccepted)->Threads(1)->Threads(2)->Iterations(500'000)->UseRealTime();

// The plugin's on_log work for a sampled request with one upstream attempt: both spans encoded
// from the exchange (protobuf), handed to a sink that keeps nothing.
void BM_BuildRequestSpans(benchmark::State& state) {
  boost::asio::io_context io;
  portico::filter::Exchange x(io.get_executor());
  x.request.method = "GET";
  x.request.path = "/api/v1/orders/12345";
  x.request.scheme = "http";
  x.request.host = "api.example.com";
  x.request.client_ip = "10.1.2.3";
  x.request.client_port = 50000;
  x.request.headers.add("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)");
  x.route_name = "orders";
  x.service_name = "orders-svc";
  x.status_sent = 200;
  x.upstream_attempts = 1;
  const auto t0 = portico::core::MonoClock::now();
  x.timings.start = t0;
  x.timings.end = t0 + std::chrono::milliseconds(2);
  x.trace.active = x.trace.sampled = true;
  x.trace.trace_id = obs::new_trace_id();
  x.trace.span_id = obs::new_span_id();
  x.trace.add_attempt(t0, t0 + std::chrono::milliseconds(1), "10.0.0.2:8080", 200, {});
  struct Discard final : portico::filters::SpanSink {
    size_t bytes = 0;
    void emit(std::string_view span) override { bytes += span.size(); }
  } sink;
  obs::SpanWriter writer;
  for (auto _ : state) {
    portico::filters::build_request_spans(x, t0, 1'700'000'000'000'000'000ull, writer, sink);
  }
  benchmark::DoNotOptimize(sink.bytes);
  state.counters["bytes/request"] = static_cast<double>(sink.bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_BuildRequestSpans);

// The exporter thread's share per batch of 200 spans: each span's bytes appended behind the
// Resource and scope, then the request finished (time per batch; spans/s in the counter).
void BM_BatchOf200(benchmark::State& state) {
  obs::ExportHeader header;
  header.resource_attributes = {{"service.name", "portico"}};
  obs::BatchEncoder batch(obs::OtlpEncoding::kProtobuf, header);
  const std::string span = typical_span();
  for (auto _ : state) {
    batch.clear();
    for (int i = 0; i < 200; ++i) batch.add(span);
    benchmark::DoNotOptimize(batch.finish().size());
  }
  state.counters["spans/s"] = benchmark::Counter(200.0 * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BatchOf200);

void BM_OnRequestContinuesTrace(benchmark::State& state) {
  portico::filters::OpenTelemetryFilter::Config config;
  config.exporter = unreachable_settings();
  portico::filters::OpenTelemetryFilter filter(std::move(config));
  boost::asio::io_context io;
  portico::filter::Exchange x(io.get_executor());
  for (auto _ : state) {
    x.clear();
    x.request.headers.add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    x.request.headers.add("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    benchmark::DoNotOptimize(filter.on_request(x));
  }
}
BENCHMARK(BM_OnRequestContinuesTrace);

}  // namespace

BENCHMARK_MAIN();
