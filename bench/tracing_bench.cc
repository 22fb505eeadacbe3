// Request-path costs of tracing: handing a finished span to the exporter's queue (one and two
// producer threads), and the opentelemetry plugin's on_request with an incoming traceparent.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <memory>

#include "filters/opentelemetry/opentelemetry_filter.h"
#include "observability/span_exporter.h"

namespace {

namespace obs = portico::observability;

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
  obs::Span span;  // ids and times only: its copy and move cost no allocation
  span.kind = obs::SpanKind::kServer;
  if (state.thread_index() == 0) {
    obs::ExporterSettings s = unreachable_settings();
    s.queue_capacity = 1024;
    s.batch_span_count = 1 << 20;
    s.batch_flush_delay = std::chrono::hours(1);
    e = std::make_shared<obs::SpanExporter>(s);
    for (size_t i = 0; i < s.queue_capacity; ++i) {
      obs::Span f = span;
      e->enqueue(std::move(f));
    }
  }
  for (auto _ : state) {
    obs::Span s = span;
    benchmark::DoNotOptimize(e->enqueue(std::move(s)));
  }
  if (state.thread_index() == 0) {
    state.counters["dropped"] = static_cast<double>(e->counters().spans_dropped_queue_full.load());
  }
}
BENCHMARK(BM_Enqueue)->Threads(1)->Threads(2)->UseRealTime();

// Every push accepted: a queue large enough for all iterations and a flush far away, so the cost
// is the claim of a cell, the move and the publish (plus one wake-up per 512 spans).
void BM_EnqueueAccepted(benchmark::State& state) {
  static std::shared_ptr<obs::SpanExporter> e;
  if (state.thread_index() == 0) {
    obs::ExporterSettings s = unreachable_settings();
    // A cell holds a whole span (~0.5 KiB): 2^20 cells cover both threads' iterations.
    s.queue_capacity = 1 << 20;
    s.batch_span_count = 1 << 20;
    s.batch_flush_delay = std::chrono::hours(1);
    e = std::make_shared<obs::SpanExporter>(s);
  }
  obs::Span span;
  span.kind = obs::SpanKind::kServer;
  for (auto _ : state) {
    obs::Span s = span;
    benchmark::DoNotOptimize(e->enqueue(std::move(s)));
  }
  if (state.thread_index() == 0) {
    state.counters["dropped"] = static_cast<double>(e->counters().spans_dropped_queue_full.load());
  }
}
BENCHMARK(BM_EnqueueAccepted)->Threads(1)->Threads(2)->Iterations(500'000)->UseRealTime();

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
