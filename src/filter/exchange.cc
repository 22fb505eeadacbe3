#include "filter/exchange.h"

namespace portico::filter {

Latencies latencies_of(const Timings& t, core::MonoTime now) {
  auto span = [](core::MonoTime a, core::MonoTime b) {
    return a != core::MonoTime{} && b > a ? core::ms_between(a, b) : 0.0;
  };
  const core::MonoTime end = t.end != core::MonoTime{} ? t.end : now;
  Latencies l;
  l.total = span(t.start, end);
  if (t.first_byte != core::MonoTime{}) {
    l.upstream = span(t.connected, t.first_byte);
    l.receive = span(t.first_byte, end);
  }
  if (t.connect_start != core::MonoTime{}) l.connect = span(t.connect_start, t.connected);
  l.gateway = l.total - l.upstream - l.connect - l.receive;
  if (l.gateway < 0) l.gateway = 0;
  return l;
}

}  // namespace portico::filter
