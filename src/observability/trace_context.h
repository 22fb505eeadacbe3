// W3C Trace Context (https://www.w3.org/TR/trace-context/): parsing and formatting of the
// `traceparent` and `tracestate` headers, trace/span id generation and the sampling decision.
//
// Contract: pure functions over the caller's text (no allocation unless a std::string is filled),
// callable from any thread. Id generation uses a per-thread xoshiro256** stream seeded from the OS
// CSPRNG on first use, so workers never share or lock anything. Parsers never throw.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::observability {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

inline constexpr uint8_t kFlagSampled = 0x01;
// Length of a version-00 traceparent: "00-" + 32 + "-" + 16 + "-" + 2.
inline constexpr size_t kTraceparentLength = 55;
// At most this many list-members in a tracestate (W3C §3.3.1.1).
inline constexpr size_t kMaxTracestateMembers = 32;

struct TraceParent {
  uint8_t version = 0;
  TraceId trace_id{};
  SpanId parent_id{};
  uint8_t flags = 0;
  bool sampled() const { return (flags & kFlagSampled) != 0; }
};

bool is_zero(const TraceId& id);
bool is_zero(const SpanId& id);

// Parses one traceparent value. Version 00 must be exactly 55 characters; a higher version (not
// ff) is read as the spec asks: at least 55 characters, the first four fields as in 00, and
// either the end or a '-' after the flags. Hex must be lower-case; an all-zero trace-id or
// parent-id is invalid. Returns nullopt when invalid.
std::optional<TraceParent> parse_traceparent(std::string_view value);

// Writes the version-00 form (55 characters) of the context into `out`. Only the sampled flag is
// carried: Portico does not know the meaning of other flags of a future version.
void format_traceparent(const TraceId& trace_id, const SpanId& parent_id, bool sampled, char* out);
std::string format_traceparent(const TraceId& trace_id, const SpanId& parent_id, bool sampled);

// Validates a tracestate value (list-members separated by commas, optional whitespace, empty
// members allowed; keys and values per W3C §3.3.1.3). Invalid when a member is malformed, a key is
// repeated, or there are more than 32 members. Such a header must be dropped, never forwarded.
bool valid_tracestate(std::string_view value);

// Lower-case hex of an id (32 or 16 characters).
std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);
void append_hex(std::string& out, const uint8_t* bytes, size_t n);

// Random ids from the calling thread's generator; never all-zero.
TraceId new_trace_id();
SpanId new_span_id();

// OpenTelemetry's TraceIdRatioBased rule: the last 8 bytes of the trace id, read big-endian and
// shifted right by one, are compared with ratio × 2^63. The same trace id always gets the same
// answer, so every hop with the same ratio agrees. ratio ≤ 0: never; ratio ≥ 1: always.
uint64_t sampling_threshold(double ratio);
bool sample_trace(const TraceId& trace_id, uint64_t threshold);

// Decision for one request: a valid incoming parent's sampled flag is honoured (parent-based);
// otherwise the ratio decides from the trace id.
bool decide_sampled(const std::optional<TraceParent>& parent, const TraceId& trace_id,
                    uint64_t threshold);

}  // namespace portico::observability
