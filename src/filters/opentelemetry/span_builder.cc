#include "filters/opentelemetry/span_builder.h"

#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace portico::filters {
namespace {

using observability::SpanKind;
using observability::SpanStart;
using observability::SpanWriter;
using observability::StatusCode;

// "host:port", "[v6]:port" or "host" → host and port (0 when absent or not a number). This runs
// for every sampled request and attempt.
void split_host_port(std::string_view hostport, std::string_view& host, int64_t& port) {
  host = hostport;
  port = 0;
  if (hostport.empty()) return;
  size_t colon = std::string_view::npos;
  if (hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return;
    host = hostport.substr(1, close - 1);
    if (close + 1 >= hostport.size() || hostport[close + 1] != ':') return;
    colon = close + 1;
  } else {
    // The port is at the end: look back from there, then make sure the host has no colon (a bare
    // IPv6 address has no port).
    colon = hostport.rfind(':');
    if (colon == std::string_view::npos || std::memchr(hostport.data(), ':', colon) != nullptr) return;
    host = hostport.substr(0, colon);
  }
  uint32_t value = 0;
  const char* const digits = hostport.data() + colon + 1;
  const char* const end = hostport.data() + hostport.size();
  if (digits == end) return;
  for (const char* d = digits; d < end; ++d) {
    if (*d < '0' || *d > '9') return;
    value = value * 10 + static_cast<uint32_t>(*d - '0');
    if (value > 65535) return;
  }
  port = value;
}

// Decimal text of a status code (error.type), without allocating.
std::string_view decimal(uint32_t v, char (&buf)[32]) {
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string_view(buf, static_cast<size_t>(end - buf));
}

std::string_view protocol_version(uint8_t minor) { return minor == 0 ? "1.0" : "1.1"; }

}  // namespace

uint64_t to_unix_ns(core::MonoTime t, core::MonoTime mono_now, uint64_t unix_now_ns) {
  if (t == core::MonoTime{}) return unix_now_ns;
  auto delta = std::chrono::duration_cast<std::chrono::nanoseconds>(mono_now - t).count();
  if (delta < 0) return unix_now_ns + static_cast<uint64_t>(-delta);
  return static_cast<uint64_t>(delta) > unix_now_ns ? 0 : unix_now_ns - static_cast<uint64_t>(delta);
}

void build_request_spans(const filter::Exchange& x, core::MonoTime mono_now, uint64_t unix_now_ns,
                         SpanWriter& w, SpanSink& sink) {
  const filter::TraceRecord& t = x.trace;
  const http::Request& req = x.request;
  char digits[32];  // 10 used; a 32-byte array keeps the inlined copies provably in bounds

  SpanStart server;
  server.trace_id = t.trace_id;
  server.span_id = t.span_id;
  server.parent_span_id = t.parent_span_id;
  server.kind = SpanKind::kServer;
  server.start_unix_nano = to_unix_ns(x.timings.start, mono_now, unix_now_ns);
  server.end_unix_nano = to_unix_ns(x.timings.end, mono_now, unix_now_ns);
  server.name = req.method;
  server.trace_state = t.tracestate;
  w.begin(server);
  w.add_string("http.request.method", req.method);
  w.add_string("url.path", req.path);
  w.add_string("url.scheme", req.scheme);
  std::string_view host;
  int64_t host_port = 0;
  split_host_port(req.host, host, host_port);
  if (!host.empty()) w.add_string("server.address", host);
  w.add_int("server.port", host_port != 0 ? host_port : int64_t{req.server_port});
  w.add_string("network.protocol.version", protocol_version(req.version_minor));
  if (!req.client_ip.empty()) {
    w.add_string("client.address", req.client_ip);
    w.add_string("network.peer.address", req.client_ip);
    w.add_int("network.peer.port", int64_t{req.client_port});
  }
  if (std::optional<std::string_view> ua = req.headers.get("user-agent")) w.add_string("user_agent.original", *ua);
  if (x.status_sent != 0) w.add_int("http.response.status_code", int64_t{x.status_sent});
  if (!x.route_name.empty()) {
    // OTel HTTP semantic conventions: http.route names the matched route; Portico's routes are
    // named, so the name is the low-cardinality route identity (portico.route kept for dashboards).
    w.add_string("http.route", x.route_name);
    w.add_string("portico.route", x.route_name);
  }
  if (!x.service_name.empty()) w.add_string("portico.service", x.service_name);
  if (x.upstream_attempts != 0) w.add_int("portico.upstream.attempts", int64_t{x.upstream_attempts});
  if (x.status_sent >= 500) {
    w.add_string("error.type", decimal(x.status_sent, digits));
    w.set_status(StatusCode::kError);
  }
  sink.emit(w.finish());

  for (size_t i = 0; i < t.attempts.size(); ++i) {
    const filter::TraceAttempt& at = t.attempts[i];
    SpanStart client;
    client.trace_id = t.trace_id;
    client.span_id = observability::new_span_id();
    client.parent_span_id = t.span_id;
    client.kind = SpanKind::kClient;
    client.start_unix_nano = to_unix_ns(at.start, mono_now, unix_now_ns);
    client.end_unix_nano = to_unix_ns(at.end, mono_now, unix_now_ns);
    client.name = req.method;
    w.begin(client);
    w.add_string("http.request.method", req.method);
    std::string_view peer;
    int64_t peer_port = 0;
    split_host_port(at.endpoint(), peer, peer_port);
    if (!peer.empty()) {
      w.add_string("server.address", peer);
      w.add_string("network.peer.address", peer);
    }
    if (peer_port != 0) {
      w.add_int("server.port", peer_port);
      w.add_int("network.peer.port", peer_port);
    }
    if (i > 0) w.add_int("http.request.resend_count", static_cast<int64_t>(i));
    if (at.status != 0) w.add_int("http.response.status_code", int64_t{at.status});
    if (!at.error.empty()) {
      w.add_string("error.type", at.error);
      w.set_status(StatusCode::kError, at.error);
    } else if (at.status >= 500) {
      w.add_string("error.type", decimal(at.status, digits));
      w.set_status(StatusCode::kError);
    }
    sink.emit(w.finish());
  }

  for (const filter::TraceWait& wt : t.waits) {
    thread_local std::string name;  // reused: keeps its capacity
    name.assign("plugin ");
    name += wt.filter;
    SpanStart wait;
    wait.trace_id = t.trace_id;
    wait.span_id = observability::new_span_id();
    wait.parent_span_id = t.span_id;
    wait.kind = SpanKind::kInternal;
    wait.start_unix_nano = to_unix_ns(wt.start, mono_now, unix_now_ns);
    wait.end_unix_nano = to_unix_ns(wt.end, mono_now, unix_now_ns);
    wait.name = name;
    w.begin(wait);
    w.add_string("portico.plugin", wt.filter);
    sink.emit(w.finish());
  }
}

}  // namespace portico::filters
