#include "filters/opentelemetry/span_builder.h"

#include <charconv>
#include <string>
#include <string_view>

namespace portico::filters {
namespace {

using observability::Attribute;
using observability::Span;
using observability::SpanKind;
using observability::StatusCode;

// "host:port", "[v6]:port" or "host" → host and port (0 when absent or not a number).
void split_host_port(std::string_view hostport, std::string_view& host, int64_t& port) {
  host = hostport;
  port = 0;
  size_t colon = hostport.rfind(':');
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return;
    host = hostport.substr(1, close - 1);
    colon = close + 1 < hostport.size() && hostport[close + 1] == ':' ? close + 1 : std::string_view::npos;
  } else if (colon != std::string_view::npos && hostport.find(':') != colon) {
    return;  // a bare IPv6 address: no port
  } else if (colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
  }
  if (colon == std::string_view::npos) return;
  std::string_view digits = hostport.substr(colon + 1);
  uint32_t value = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc() && p == digits.data() + digits.size() && value <= 65535) port = value;
}

void add(std::vector<Attribute>& attrs, const char* key, std::string_view value) {
  attrs.push_back({key, std::string(value)});
}
void add(std::vector<Attribute>& attrs, const char* key, int64_t value) {
  attrs.push_back({key, value});
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

  Span server;
  server.trace_id = t.trace_id;
  server.span_id = t.span_id;
  server.parent_span_id = t.parent_span_id;
  server.trace_state = std::string(t.tracestate);
  server.name = std::string(req.method);
  server.kind = SpanKind::kServer;
  server.start_unix_nano = to_unix_ns(x.timings.start, mono_now, unix_now_ns);
  server.end_unix_nano = to_unix_ns(x.timings.end, mono_now, unix_now_ns);
  auto& a = server.attributes;
  a.reserve(16);
  add(a, "http.request.method", req.method);
  add(a, "url.path", req.path);
  add(a, "url.scheme", req.scheme);
  std::string_view host;
  int64_t host_port = 0;
  split_host_port(req.host, host, host_port);
  if (!host.empty()) add(a, "server.address", host);
  add(a, "server.port", host_port != 0 ? host_port : int64_t{req.server_port});
  add(a, "network.protocol.version", protocol_version(req.version_minor));
  if (!req.client_ip.empty()) {
    add(a, "client.address", req.client_ip);
    add(a, "network.peer.address", req.client_ip);
    add(a, "network.peer.port", int64_t{req.client_port});
  }
  if (auto ua = req.headers.get("user-agent")) add(a, "user_agent.original", *ua);
  if (x.status_sent != 0) add(a, "http.response.status_code", int64_t{x.status_sent});
  if (!x.route_name.empty()) add(a, "portico.route", x.route_name);
  if (!x.service_name.empty()) add(a, "portico.service", x.service_name);
  if (x.upstream_attempts != 0) add(a, "portico.upstream.attempts", int64_t{x.upstream_attempts});
  if (x.status_sent >= 500) {
    server.status_code = StatusCode::kError;
    add(a, "error.type", std::to_string(x.status_sent));
  }
  out.push_back(std::move(server));

  for (size_t i = 0; i < t.attempts.size(); ++i) {
    const filter::TraceAttempt& at = t.attempts[i];
    Span client;
    client.trace_id = t.trace_id;
    client.span_id = observability::new_span_id();
    client.parent_span_id = t.span_id;
    client.name = std::string(req.method);
    client.kind = SpanKind::kClient;
    client.start_unix_nano = to_unix_ns(at.start, mono_now, unix_now_ns);
    client.end_unix_nano = to_unix_ns(at.end, mono_now, unix_now_ns);
    auto& c = client.attributes;
    add(c, "http.request.method", req.method);
    std::string_view peer;
    int64_t peer_port = 0;
    split_host_port(at.endpoint(), peer, peer_port);
    if (!peer.empty()) {
      add(c, "server.address", peer);
      add(c, "network.peer.address", peer);
    }
    if (peer_port != 0) {
      add(c, "server.port", peer_port);
      add(c, "network.peer.port", peer_port);
    }
    if (i > 0) add(c, "http.request.resend_count", static_cast<int64_t>(i));
    if (at.status != 0) add(c, "http.response.status_code", int64_t{at.status});
    if (!at.error.empty()) {
      client.status_code = StatusCode::kError;
      client.status_message = std::string(at.error);
      add(c, "error.type", at.error);
    } else if (at.status >= 500) {
      client.status_code = StatusCode::kError;
      add(c, "error.type", std::to_string(at.status));
    }
    out.push_back(std::move(client));
  }

  for (const filter::TraceWait& w : t.waits) {
    Span wait;
    wait.trace_id = t.trace_id;
    wait.span_id = observability::new_span_id();
    wait.parent_span_id = t.span_id;
    wait.name = "plugin " + std::string(w.filter);
    wait.kind = SpanKind::kInternal;
    wait.start_unix_nano = to_unix_ns(w.start, mono_now, unix_now_ns);
    wait.end_unix_nano = to_unix_ns(w.end, mono_now, unix_now_ns);
    add(wait.attributes, "portico.plugin", w.filter);
    out.push_back(std::move(wait));
  }
}

}  // namespace portico::filters
