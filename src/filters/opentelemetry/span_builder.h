// build_request_spans: turns one finished request (its Exchange and exchange.trace) into OTLP
// spans: the gateway's SERVER span (HTTP semantic-convention attributes, `http.route` = the
// matched route's name), one CLIENT span per upstream attempt (children of the server
// span, so retries show up one by one) and one INTERNAL span per filter that waited.
//
// Contract: worker thread, synchronous, reads the exchange only; appends to `out`. Monotonic times
// are converted to Unix nanoseconds through one (mono_now, unix_now_ns) pair taken by the caller.
// Span ids of the child spans are fresh random ids.
#pragma once

#include <cstdint>
#include <vector>

#include "core/clock.h"
#include "filter/exchange.h"
#include "observability/otlp.h"

namespace portico::filters {

void build_request_spans(const filter::Exchange& exchange, core::MonoTime mono_now,
                         uint64_t unix_now_ns, std::vector<observability::Span>& out);

// Unix nanoseconds of `t`, given one matching pair of clock readings; `t` unset → mono_now.
uint64_t to_unix_ns(core::MonoTime t, core::MonoTime mono_now, uint64_t unix_now_ns);

}  // namespace portico::filters
