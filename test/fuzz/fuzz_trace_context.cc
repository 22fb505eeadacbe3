// libFuzzer target for the W3C Trace Context parsers (observability/trace_context.h). Every input
// is read both as a traceparent and as a tracestate:
// - a traceparent that parses has non-zero ids, is exactly 55 characters for version 00, and its
//   version-00 form re-parses to the same ids and sampled flag;
// - a tracestate that validates stays valid with an empty member appended, and becomes invalid
//   when repeated (duplicate keys) unless it has no member at all;
// - the sampling decision is a pure function of the trace id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "observability/trace_context.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool has_member(std::string_view s) {
  for (char c : s) {
    if (c != ',' && c != ' ' && c != '\t') return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace obs = portico::observability;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto tp = obs::parse_traceparent(input)) {
    check(!obs::is_zero(tp->trace_id) && !obs::is_zero(tp->parent_id));
    check(tp->version != 0xff);
    if (tp->version == 0) check(input.size() == obs::kTraceparentLength);
    std::string again = obs::format_traceparent(tp->trace_id, tp->parent_id, tp->sampled());
    auto round = obs::parse_traceparent(again);
    check(round.has_value());
    check(round->trace_id == tp->trace_id && round->parent_id == tp->parent_id);
    check(round->sampled() == tp->sampled() && round->version == 0);
    uint64_t threshold = obs::sampling_threshold(static_cast<double>(size % 101) / 100.0);
    check(obs::sample_trace(tp->trace_id, threshold) == obs::sample_trace(round->trace_id, threshold));
  }

  if (obs::valid_tracestate(input)) {
    std::string with_empty(input);
    with_empty += ",";
    check(obs::valid_tracestate(with_empty));
    std::string doubled(input);
    doubled += ",";
    doubled += input;
    check(obs::valid_tracestate(doubled) == !has_member(input));
  }
  return 0;
}
