#include "filters/opentelemetry/span_builder.h"

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace portico::filters {
namespace {

using observability::Span;
using observability::SpanKind;
using observability::StatusCode;

// "host:port", "[v6]:port" or "host" → host and port (0 when absent or not a number). One pass
// over the text: this runs for every sampled request and attempt.
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
    size_t colons = 0;
    for (size_t i = 0; i < hostport.size(); ++i) {
      if (hostport[i] == ':') {
        colon = i;
        ++colons;
      }
    }
    if (colons != 1) return;  // no port, or a bare IPv6 address (no port)
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
std::string_view decimal(uint32_t v, char (&buf)[10]) {
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
                         std::vector<Span>& out) {
  const filter::TraceRecord& t = x.trace;
  const http::Request& req = x.request;
  std::optional<std::string_view> ua = req.headers.get("user-agent");
  char digits[10];

  Span& server = out.emplace_back();
  // Every string below is copied once into the span's text, sized up front: one allocation.
  server.reserve_text(req.method.size() + req.path.size() + req.scheme.size() + req.host.size() +
                      req.client_ip.size() + (ua ? ua->size() : 0) + x.route_name.size() +
                      x.service_name.size() + t.tracestate.size() + 3 + sizeof digits);
  server.trace_id = t.trace_id;
  server.span_id = t.span_id;
  server.parent_span_id = t.parent_span_id;
  if (!t.tracestate.empty()) server.set_trace_state(t.tracestate);
  observability::TextRef method = server.add_text(req.method);
  server.set_name(method);
  server.kind = SpanKind::kServer;
  server.start_unix_nano = to_unix_ns(x.timings.start, mono_now, unix_now_ns);
  server.end_unix_nano = to_unix_ns(x.timings.end, mono_now, unix_now_ns);
  server.add_string("http.request.method", method);
  server.add_string("url.path", req.path);
  server.add_string("url.scheme", req.scheme);
  std::string_view host;
  int64_t host_port = 0;
  split_host_port(req.host, host, host_port);
  if (!host.empty()) server.add_string("server.address", host);
  server.add_int("server.port", host_port != 0 ? host_port : int64_t{req.server_port});
  server.add_string("network.protocol.version", protocol_version(req.version_minor));
  if (!req.client_ip.empty()) {
    observability::TextRef ip = server.add_text(req.client_ip);
    server.add_string("client.address", ip);
    server.add_string("network.peer.address", ip);
    server.add_int("network.peer.port", int64_t{req.client_port});
  }
  if (ua) server.add_string("user_agent.original", *ua);
  if (x.status_sent != 0) server.add_int("http.response.status_code", int64_t{x.status_sent});
  if (!x.route_name.empty()) {
    // OTel HTTP semantic conventions: http.route names the matched route; Portico's routes are
    // named, so the name is the low-cardinality route identity (portico.route kept for dashboards).
    observability::TextRef route = server.add_text(x.route_name);
    server.add_string("http.route", route);
    server.add_string("portico.route", route);
  }
  if (!x.service_name.empty()) server.add_string("portico.service", x.service_name);
  if (x.upstream_attempts != 0) server.add_int("portico.upstream.attempts", int64_t{x.upstream_attempts});
  if (x.status_sent >= 500) {
    server.status_code = StatusCode::kError;
    server.add_string("error.type", decimal(x.status_sent, digits));
  }

  for (size_t i = 0; i < t.attempts.size(); ++i) {
    const filter::TraceAttempt& at = t.attempts[i];
    Span& client = out.emplace_back();
    client.reserve_text(req.method.size() + at.endpoint_size + at.error.size() + sizeof digits);
    client.trace_id = t.trace_id;
    client.span_id = observability::new_span_id();
    client.parent_span_id = t.span_id;
    observability::TextRef client_method = client.add_text(req.method);
    client.set_name(client_method);
    client.kind = SpanKind::kClient;
    client.start_unix_nano = to_unix_ns(at.start, mono_now, unix_now_ns);
    client.end_unix_nano = to_unix_ns(at.end, mono_now, unix_now_ns);
    client.add_string("http.request.method", client_method);
    std::string_view peer;
    int64_t peer_port = 0;
    split_host_port(at.endpoint(), peer, peer_port);
    if (!peer.empty()) {
      observability::TextRef peer_text = client.add_text(peer);
      client.add_string("server.address", peer_text);
      client.add_string("network.peer.address", peer_text);
    }
    if (peer_port != 0) {
      client.add_int("server.port", peer_port);
      client.add_int("network.peer.port", peer_port);
    }
    if (i > 0) client.add_int("http.request.resend_count", static_cast<int64_t>(i));
    if (at.status != 0) client.add_int("http.response.status_code", int64_t{at.status});
    if (!at.error.empty()) {
      client.status_code = StatusCode::kError;
      observability::TextRef error = client.add_text(at.error);
      client.set_status_message(error);
      client.add_string("error.type", error);
    } else if (at.status >= 500) {
      client.status_code = StatusCode::kError;
      client.add_string("error.type", decimal(at.status, digits));
    }
  }

  for (const filter::TraceWait& w : t.waits) {
    Span& wait = out.emplace_back();
    wait.reserve_text(7 + 2 * w.filter.size());
    wait.trace_id = t.trace_id;
    wait.span_id = observability::new_span_id();
    wait.parent_span_id = t.span_id;
    observability::TextRef prefix = wait.add_text("plugin ");
    observability::TextRef filter_name = wait.add_text(w.filter);
    wait.set_name(observability::TextRef{prefix.offset, prefix.size + filter_name.size});
    wait.kind = SpanKind::kInternal;
    wait.start_unix_nano = to_unix_ns(w.start, mono_now, unix_now_ns);
    wait.end_unix_nano = to_unix_ns(w.end, mono_now, unix_now_ns);
    wait.add_string("portico.plugin", filter_name);
  }
}

}  // namespace portico::filters
