// build_request_spans: turns one finished request (its Exchange and exchange.trace) into OTLP
// spans: the gateway's SERVER span (HTTP semantic-convention attributes, `http.route` = the
// matched route's name), one CLIENT span per upstream attempt (children of the server
// span, so retries show up one by one) and one INTERNAL span per filter that waited.
//
// Contract: worker thread, synchronous, reads the exchange only. Each span is encoded with
// `writer` (so in its encoding) straight from the exchange, and handed to `sink` as soon as it is
// written: server span first, then the attempts, then the waits. Monotonic times are converted to
// Unix nanoseconds through one (mono_now, unix_now_ns) pair taken by the caller. Span ids of the
// child spans are fresh random ids.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "filter/exchange.h"
#include "observability/otlp.h"

namespace portico::filters {

// Where encoded spans go (the exporter's queue; a test's list).
class SpanSink {
 public:
  virtual void emit(std::string_view encoded_span) = 0;

 protected:
  ~SpanSink() = default;
};

void build_request_spans(const filter::Exchange& exchange, core::MonoTime mono_now, uint64_t unix_now_ns,
                         observability::SpanWriter& writer, SpanSink& sink);

// Unix nanoseconds of `t`, given one matching pair of clock readings; `t` unset → mono_now.
uint64_t to_unix_ns(core::MonoTime t, core::MonoTime mono_now, uint64_t unix_now_ns);

}  // namespace portico::filters
