// What a response says about its own timing: the access-log line of one exchange
// (`portico.access_log_fields`, or the default fields, formatted into the worker's buffer: no
// lock, no syscall) and the latency response headers of `portico.headers`.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "filter/log_fields.h"
#include "observability/access_log.h"
#include "proxy/http1_session.h"

namespace portico::proxy {

void Http1Session::finish_log() {
  if (!ctx_.access_log.enabled()) return;
  std::string& out = ctx_.access_log.text();
  ctx_.access_log_fields().append_object(x_, out);
  out += '\n';
  ctx_.access_log.line_done(ctx_.stats.access_log_dropped);
}

void Http1Session::append_latency_headers(core::OutBuffer& out, bool proxied) {
  const ProcessLimits& limits = ctx_.limits();
  if (!limits.latency_tokens && !limits.server_timing) return;
  const filter::Latencies l = filter::latencies_of(x_.timings, core::MonoClock::now());
  // Time in Portico so far: everything but connecting and waiting for the upstream.
  const double gateway = std::max(0.0, l.total - l.upstream - l.connect);
  auto whole_ms = [](double ms) { return static_cast<uint64_t>(std::llround(ms)); };
  fmt::memory_buffer text;  // on the stack: these lines are short
  auto put = [&text]<typename... A>(fmt::format_string<A...> f, A&&... a) {
    fmt::format_to(std::back_inserter(text), f, std::forward<A>(a)...);
  };
  if (limits.latency_tokens) {
    // Kong's X-Kong-Upstream-Latency / X-Kong-Proxy-Latency (proxied) and X-Kong-Response-Latency
    // (answered by the gateway), whole milliseconds.
    if (proxied) {
      put("X-Portico-Upstream-Latency: {}\r\nX-Portico-Proxy-Latency: {}\r\n", whole_ms(l.upstream), whole_ms(gateway));
    } else {
      put("X-Portico-Response-Latency: {}\r\n", whole_ms(l.total));
    }
  }
  if (limits.server_timing) {
    // W3C Server Timing: milliseconds with microsecond precision.
    put("Server-Timing: gateway;dur={:.3f}", gateway);
    if (l.connect > 0) put(", connect;dur={:.3f}", l.connect);
    if (proxied) put(", upstream;dur={:.3f}", l.upstream);
    put("\r\n");
  }
  out.append(text.data(), text.size());
}

}  // namespace portico::proxy
