// The access-log line of one exchange, formatted into the worker's buffer (no lock, no syscall).
#include <fmt/format.h>
#include <sys/time.h>

#include <ctime>

#include "observability/access_log.h"
#include "proxy/http1_session.h"

namespace portico::proxy {

void Http1Session::finish_log() {
  if (!ctx_.access_log.enabled()) return;
  using observability::append_json_string;
  std::string& out = ctx_.access_log.text();
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm utc;
  gmtime_r(&tv.tv_sec, &utc);
  const auto& t = x_.timings;
  double total = t.end > t.start ? core::ms_between(t.start, t.end) : 0.0;
  double upstream = t.first_byte > t.connected && t.connected > t.start ? core::ms_between(t.connected, t.first_byte) : 0.0;
  double connect = t.connected > t.upstream_start && t.upstream_start > t.start
                       ? core::ms_between(t.upstream_start, t.connected) : 0.0;
  double gateway = total - upstream;
  if (gateway < 0) gateway = 0;
  fmt::format_to(std::back_inserter(out),
                 "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"client\":", utc.tm_year + 1900,
                 utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, tv.tv_usec / 1000);
  append_json_string(out, client_ip_);
  out += ",\"method\":";
  append_json_string(out, x_.request.method);
  out += ",\"path\":";
  append_json_string(out, x_.request.path);
  fmt::format_to(std::back_inserter(out), ",\"status\":{},\"bytes_sent\":{},\"bytes_received\":{},\"route\":",
                 x_.status_sent, x_.bytes_sent, x_.bytes_received);
  append_json_string(out, x_.route_name);
  out += ",\"service\":";
  append_json_string(out, x_.service_name);
  out += ",\"upstream\":";
  append_json_string(out, x_.upstream_address);
  fmt::format_to(std::back_inserter(out),
                 ",\"attempts\":{},\"latency_ms\":{:.3f},\"gateway_ms\":{:.3f},\"filter_ms\":{:.3f},"
                 "\"connect_ms\":{:.3f},\"upstream_ms\":{:.3f},\"request_id\":",
                 x_.upstream_attempts, total, gateway, x_.timings.filter_ms, connect, upstream);
  append_json_string(out, x_.request.request_id);
  out += "}\n";
  ctx_.access_log.line_done(ctx_.stats.access_log_dropped);
}

}  // namespace portico::proxy
