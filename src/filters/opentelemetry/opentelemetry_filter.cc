#include "filters/opentelemetry/opentelemetry_filter.h"

#include <chrono>
#include <cmath>
#include <span>
#include <utility>

#include "codec/http1/token.h"
#include "core/object_reader.h"
#include "filters/opentelemetry/span_builder.h"
#include "observability/trace_context.h"

namespace portico::filters {
namespace {

namespace obs = observability;

constexpr std::string_view kTraceparent = "traceparent";
constexpr std::string_view kTracestate = "tracestate";
constexpr std::string_view kW3c[] = {"w3c"};
constexpr std::string_view kPreserveW3c[] = {"preserve", "w3c"};

// Formats Kong lists for propagation; all but w3c (and preserve for inject) are not implemented.
constexpr std::string_view kExtractFormats[] = {
    "w3c", "b3", "jaeger", "ot", "aws", "gcp", "datadog", "instana"};
constexpr std::string_view kInjectFormats[] = {
    "preserve", "w3c", "b3", "b3-single", "jaeger", "ot", "aws", "gcp", "datadog", "instana"};
constexpr std::string_view kDefaultFormats[] = {
    "w3c", "b3", "b3-single", "jaeger", "ot", "aws", "gcp", "datadog", "instana"};
constexpr std::string_view kHeaderTypes[] = {
    "preserve", "ignore", "w3c", "b3", "b3-single", "jaeger", "ot", "aws", "gcp", "datadog", "instana"};

bool is_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!codec::http1::is_token_char(c)) return false;
  }
  return true;
}

bool is_header_value(std::string_view value) {
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::string join(std::span<const std::string_view> items) {
  std::string out;
  for (auto s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

bool listed(std::span<const std::string_view> items, std::string_view v) {
  for (auto s : items) {
    if (s == v) return true;
  }
  return false;
}

// Reads a map of strings (header names or attribute keys → values).
void read_string_map(core::ObjectReader& reader, std::string_view key, bool header_names,
                     std::vector<std::pair<std::string, std::string>>& out) {
  const core::ConfigNode* map = reader.map(key);
  if (map == nullptr) return;
  std::string base = reader.path_of(key);
  for (const auto& [name, mark, value] : map->entries()) {
    std::string path = core::path_key(base, name);
    if (header_names && !is_header_name(name)) {
      reader.errors().add(*map, mark, path, "'" + name + "' is not a valid header name");
      continue;
    }
    if (!header_names && name.empty()) {
      reader.errors().add(*map, mark, path, "attribute keys must not be empty");
      continue;
    }
    std::string text;
    if (!core::read_string(value, path, reader.errors(), text)) continue;
    if (header_names && !is_header_value(text)) {
      reader.errors().add(value, path, "header values must not contain control characters");
      continue;
    }
    out.emplace_back(name, std::move(text));
  }
}

void read_timeout(core::ObjectReader& reader, std::string_view key, std::chrono::milliseconds& out) {
  int64_t ms = 0;
  if (reader.get(key, ms, 0, 2147483646)) out = std::chrono::milliseconds(ms);
}

std::chrono::milliseconds seconds_to_ms(double seconds) {
  auto ms = static_cast<int64_t>(std::llround(seconds * 1000.0));
  return std::chrono::milliseconds(ms < 1 ? 1 : ms);
}

// Checks each listed format: unknown → error with the allowed list; known but not implemented →
// "not supported yet". Returns the formats that passed.
std::vector<std::string> read_formats(core::ObjectReader& reader, std::string_view key,
                                      std::span<const std::string_view> allowed,
                                      std::span<const std::string_view> supported, bool& present) {
  std::vector<std::string> formats;
  present = reader.get(key, formats);
  std::vector<std::string> ok;
  for (const auto& f : formats) {
    if (!listed(allowed, f)) {
      reader.error(key, "unknown format '" + f + "' (expected one of: " + join(allowed) + ")");
    } else if (!listed(supported, f)) {
      reader.error(key, "format '" + f + "' is not supported yet (supported: " + join(supported) + ")");
    } else {
      ok.push_back(f);
    }
  }
  return ok;
}

void read_propagation(core::ObjectReader& parent, OpenTelemetryFilter::Config& config) {
  const core::ConfigNode* node = parent.map("propagation");
  if (node == nullptr) return;
  core::ObjectReader reader(*node, parent.path_of("propagation"), parent.errors());
  bool present = false;
  auto extract = read_formats(reader, "extract", kExtractFormats, kW3c, present);
  if (present) config.extract_w3c = !extract.empty();
  auto inject = read_formats(reader, "inject", kInjectFormats, kPreserveW3c, present);
  if (present) config.inject_w3c = !inject.empty();
  std::string default_format;
  if (reader.get("default_format", default_format)) {
    if (!listed(kDefaultFormats, default_format)) {
      reader.error("default_format", "unknown format '" + default_format + "' (expected one of: " +
                                         join(kDefaultFormats) + ")");
    } else if (default_format != "w3c") {
      reader.error("default_format", "format '" + default_format + "' is not supported yet (supported: w3c)");
    }
  }
  std::vector<std::string> clear;
  if (reader.get("clear", clear)) {
    for (auto& name : clear) {
      if (!is_header_name(name)) {
        reader.error("clear", "'" + name + "' is not a valid header name");
      } else {
        config.clear.push_back(std::move(name));
      }
    }
  }
  reader.finish();
}

}  // namespace

std::shared_ptr<const filter::Filter> OpenTelemetryFilter::create(const core::ConfigNode* node,
                                                                  const std::string& path,
                                                                  core::ConfigErrors& errors) {
  if (node == nullptr) {
    errors.add(core::ConfigError{"", {}, path, "opentelemetry needs 'traces_endpoint'"});
    return nullptr;
  }
  size_t errors_before = errors.count();
  Config config;
  core::ObjectReader reader(*node, path, errors);

  // `endpoint` is the name Kong used before 3.7; either works, not both.
  bool has_endpoint = reader.has("endpoint");
  if (has_endpoint && reader.has("traces_endpoint")) {
    reader.error("endpoint", "set either 'traces_endpoint' or its older name 'endpoint', not both");
  }
  std::string_view endpoint_key = has_endpoint ? "endpoint" : "traces_endpoint";
  if (has_endpoint) reader.ignore("traces_endpoint");
  reader.require(endpoint_key);
  if (reader.get(endpoint_key, config.exporter.traces_endpoint)) {
    obs::HttpUrl url;
    std::string reason;
    if (!obs::parse_http_url(config.exporter.traces_endpoint, url, reason)) {
      reader.error(endpoint_key, "bad URL '" + config.exporter.traces_endpoint + "': " + reason);
    }
  }
  reader.reject("logs_endpoint", "logs_endpoint is not supported yet (Portico exports traces only)");
  read_string_map(reader, "headers", true, config.exporter.headers);
  read_string_map(reader, "resource_attributes", false, config.exporter.resource_attributes);

  int64_t count = 0;
  bool has_count = reader.get("batch_span_count", count, 1, 1'000'000);
  if (has_count) config.exporter.batch_span_count = static_cast<size_t>(count);
  double seconds = 0;
  bool has_delay = reader.get("batch_flush_delay", seconds, 0.0, 3600.0);
  if (has_delay) config.exporter.batch_flush_delay = seconds_to_ms(seconds);

  if (const core::ConfigNode* queue = reader.map("queue")) {
    core::ObjectReader q(*queue, reader.path_of("queue"), errors);
    if (q.get("max_batch_size", count, 1, 1'000'000)) {
      if (has_count) q.error("max_batch_size", "set either batch_span_count or queue.max_batch_size, not both");
      config.exporter.batch_span_count = static_cast<size_t>(count);
    }
    if (q.get("max_coalescing_delay", seconds, 0.0, 3600.0)) {
      if (has_delay) {
        q.error("max_coalescing_delay", "set either batch_flush_delay or queue.max_coalescing_delay, not both");
      }
      config.exporter.batch_flush_delay = seconds_to_ms(seconds);
    }
    if (q.get("max_entries", count, 1, 1'000'000)) config.exporter.queue_capacity = static_cast<size_t>(count);
    // Kong's retry and concurrency knobs: Portico never retries an export and has one sender.
    for (auto key : {"max_bytes", "max_retry_time", "initial_retry_delay", "max_retry_delay",
                     "concurrency_limit"}) {
      q.ignore(key);
    }
    q.finish();
  }

  double rate = 1.0;
  if (reader.get("sampling_rate", rate, 0.0, 1.0)) config.sampling_rate = rate;

  std::string header_type;
  if (reader.get("header_type", header_type)) {
    if (!listed(kHeaderTypes, header_type)) {
      reader.error("header_type", "unknown header_type '" + header_type + "' (expected one of: " +
                                      join(kHeaderTypes) + ")");
    } else if (header_type != "preserve" && header_type != "w3c") {
      reader.error("header_type", "header_type '" + header_type + "' is not supported yet (supported: preserve, w3c)");
    }
  }
  read_propagation(reader, config);

  std::string trace_header;
  if (reader.get("http_response_header_for_traceid", trace_header)) {
    if (!is_header_name(trace_header)) {
      reader.error("http_response_header_for_traceid", "'" + trace_header + "' is not a valid header name");
    } else {
      config.response_header_for_trace_id = std::move(trace_header);
    }
  }
  read_timeout(reader, "connect_timeout", config.exporter.connect_timeout);
  read_timeout(reader, "send_timeout", config.exporter.send_timeout);
  read_timeout(reader, "read_timeout", config.exporter.read_timeout);

  std::string encoding;
  if (reader.get_enum("encoding", encoding, {"protobuf", "json"})) config.exporter.json = encoding == "json";
  reader.finish();

  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<OpenTelemetryFilter>(std::move(config));
}

OpenTelemetryFilter::OpenTelemetryFilter(Config config)
    : config_(std::move(config)),
      threshold_(obs::sampling_threshold(config_.sampling_rate)),
      exporter_(obs::SpanExporter::shared(config_.exporter)) {}

filter::Step OpenTelemetryFilter::on_request(filter::Exchange& x) const {
  filter::TraceRecord& t = x.trace;
  http::HeaderMap& headers = x.request.headers;

  // One pass counts both fields and keeps the first of each; most requests carry neither, and
  // then nothing needs removing below.
  size_t parents = 0, states = 0;
  std::string_view parent_value, state_value;
  for (const auto& f : headers) {
    if (f.name.size() == kTraceparent.size() && http::iequals(f.name, kTraceparent)) {
      if (parents++ == 0) parent_value = f.value;
    } else if (f.name.size() == kTracestate.size() && http::iequals(f.name, kTracestate)) {
      if (states++ == 0) state_value = f.value;
    }
  }

  std::optional<obs::TraceParent> parent;
  // Two traceparent fields are as bad as a malformed one: the trace restarts.
  if (config_.extract_w3c && parents == 1) parent = obs::parse_traceparent(parent_value);
  t.begin();
  if (parent) {
    t.trace_id = parent->trace_id;
    t.parent_span_id = parent->parent_id;
    // tracestate only means something next to a valid traceparent. Several fields are one list.
    std::string_view state = state_value;
    if (states > 1) {
      std::string joined;
      for (const auto& f : headers) {
        if (!http::iequals(f.name, kTracestate)) continue;
        if (!joined.empty()) joined += ',';
        joined += f.value;
      }
      state = headers.own(joined);
    }
    if (states > 0 && obs::valid_tracestate(state)) t.tracestate = state;
  } else {
    t.trace_id = obs::new_trace_id();
  }
  t.span_id = obs::new_span_id();
  t.sampled = obs::decide_sampled(parent, t.trace_id, threshold_);

  for (const auto& name : config_.clear) headers.remove(name);
  if (config_.inject_w3c) {
    char text[obs::kTraceparentLength];
    obs::format_traceparent(t.trace_id, t.span_id, t.sampled, text);
    std::string_view value = headers.own(std::string_view(text, sizeof text));
    // The counts were taken before `clear`, which only removes: zero then is zero now.
    if (parents != 0) {
      headers.set(kTraceparent, value);
    } else {
      headers.add(kTraceparent, value);
    }
    if (t.tracestate.empty()) {
      if (states != 0) headers.remove(kTracestate);
    } else {
      headers.set(kTracestate, t.tracestate);
    }
  } else if (config_.extract_w3c && !parent) {
    // Not injecting, but a malformed context is never passed on.
    if (parents != 0) headers.remove(kTraceparent);
    if (states != 0) headers.remove(kTracestate);
  }
  return filter::Verdict::next();
}

filter::Step OpenTelemetryFilter::on_response(filter::Exchange& x) const {
  if (!x.trace.active) return filter::Verdict::next();
  char hex[32];
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < 16; ++i) {
    hex[2 * i] = kHex[x.trace.trace_id[i] >> 4];
    hex[2 * i + 1] = kHex[x.trace.trace_id[i] & 15];
  }
  x.response.headers.set(config_.response_header_for_trace_id,
                         x.response.headers.own(std::string_view(hex, sizeof hex)));
  return filter::Verdict::next();
}

void OpenTelemetryFilter::on_log(filter::Exchange& x) const {
  if (!x.trace.recording()) return;
  auto mono_now = core::MonoClock::now();
  auto unix_now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  // Spans are encoded on this thread, once, by its writer (reused: no allocation in steady state),
  // and their bytes copied into the exporter's queue.
  struct ToExporter final : SpanSink {
    explicit ToExporter(obs::SpanExporter& e) : exporter(e) {}
    void emit(std::string_view span) override { exporter.enqueue(span); }
    obs::SpanExporter& exporter;
  } sink(*exporter_);
  if (exporter_->encoding() == obs::OtlpEncoding::kProtobuf) [[likely]] {
    thread_local obs::SpanWriter writer(obs::OtlpEncoding::kProtobuf);
    build_request_spans(x, mono_now, static_cast<uint64_t>(unix_now), writer, sink);
  } else {
    thread_local obs::SpanWriter writer(obs::OtlpEncoding::kJson);
    build_request_spans(x, mono_now, static_cast<uint64_t>(unix_now), writer, sink);
  }
}

}  // namespace portico::filters
