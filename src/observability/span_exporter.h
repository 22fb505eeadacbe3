// SpanExporter: ships finished spans to an OTLP/HTTP collector from a dedicated thread.
//
// Contract:
// - enqueue() is called on worker threads with a span already encoded (SpanWriter, in encoding()):
//   it never blocks, locks or does I/O, and copies the bytes into a preallocated slot. The queue
//   is bounded: when it is full the span is dropped and counted. Once per `batch_span_count` spans
//   a producer wakes the exporter thread (an uncontended mutex taken and released around a
//   notify), never more often. Each slot holds 720 bytes of span inline (a protobuf server span
//   with a long User-Agent fits): queue_capacity rounded up to a power of two, times 0.75 KiB, set
//   at creation. A longer span takes a heap buffer; slots keep such buffers for reuse up to 4 MiB
//   per queue in all (the exporter thread lets go of the rest).
// - The exporter thread starts with the first enqueue(), not at creation: loading a config (a
//   reload, `portico check`) starts no thread, and neither does a plugin that never samples.
// - The exporter thread appends each span's bytes from its slot to the request body, behind room
//   kept for the Resource and scope (encoded once): no span is decoded or encoded again, and in
//   steady state an export allocates nothing but the response it reads.
// - The exporter thread takes up to `batch_span_count` spans at a time, waiting at most
//   `batch_flush_delay` for a batch to fill, puts them into one request (protobuf or JSON) and POSTs it to
//   `traces_endpoint` over one keep-alive connection, with connect/send/read timeouts. A failed
//   export is counted and logged (rate-limited); its spans are dropped, never retried.
// - shared() returns the exporter for a given endpoint and settings, creating it when none is
//   alive: every plugin instance with the same settings shares one exporter, and a reload that
//   keeps the plugin's settings keeps the exporter (the new snapshot's filter takes it before the
//   old snapshot lets go). Called on the control thread.
// - Destruction never blocks the caller (the last owner may be a worker finishing an old
//   snapshot's request): the exporter thread flushes what is queued, bounded by the configured
//   timeouts, then exits. At process exit the remaining exporter threads are given the same bound
//   to flush before the process goes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "observability/otlp.h"

namespace portico::observability {

struct ExporterSettings {
  std::string traces_endpoint;  // http://host[:port][/path]
  bool json = false;            // application/json instead of application/x-protobuf
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> resource_attributes;  // service.name may be here
  size_t batch_span_count = 200;
  std::chrono::milliseconds batch_flush_delay{3000};
  size_t queue_capacity = 10000;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds send_timeout{5000};
  std::chrono::milliseconds read_timeout{5000};

  // Identity of an exporter: equal keys share one.
  std::string key() const;
};

// A parsed http:// URL. parse_http_url returns false (with a reason) for anything else.
struct HttpUrl {
  std::string host;  // without brackets for IPv6
  uint16_t port = 80;
  std::string target = "/";  // path and query
  std::string host_header;   // as sent in Host
};
bool parse_http_url(std::string_view url, HttpUrl& out, std::string& reason);

// Readable from any thread (the admin API's /status).
struct ExporterCounters {
  std::atomic<uint64_t> spans_enqueued{0};
  std::atomic<uint64_t> spans_exported{0};
  std::atomic<uint64_t> spans_dropped_queue_full{0};
  std::atomic<uint64_t> spans_dropped_export_failed{0};
  std::atomic<uint64_t> batches_exported{0};
  std::atomic<uint64_t> export_failures{0};
};

struct ExporterCounterSnapshot {
  std::string endpoint;
  uint64_t spans_enqueued = 0, spans_exported = 0, spans_dropped_queue_full = 0,
           spans_dropped_export_failed = 0, batches_exported = 0, export_failures = 0;
};

class SpanExporter {
 public:
  static std::shared_ptr<SpanExporter> shared(const ExporterSettings& settings);
  // Counters of every live exporter, for status pages.
  static std::vector<ExporterCounterSnapshot> all_counters();

  explicit SpanExporter(ExporterSettings settings);
  ~SpanExporter();
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // Worker threads: one span as SpanWriter::finish() gave it, in encoding(). False (and counted)
  // when the queue is full. The first call starts the exporter thread (once; other producers
  // meanwhile wait for that start, never again).
  bool enqueue(std::string_view encoded_span);
  OtlpEncoding encoding() const;
  // Whether the exporter thread has been started (tests, status).
  bool started() const;

  const ExporterCounters& counters() const;
  const ExporterSettings& settings() const;

  struct State;

 private:
  [[gnu::noinline]] void start();

  std::shared_ptr<State> state_;
};

}  // namespace portico::observability
