#include "observability/otlp.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <bit>
#include <cassert>
#include <cstring>
#include <string_view>
#include <vector>

namespace portico::observability {
namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;

// Field numbers (opentelemetry/proto/*/v1/*.proto).
namespace field {
// collector.trace.v1.ExportTraceServiceRequest
constexpr uint32_t kResourceSpans = 1;
// trace.v1.ResourceSpans
constexpr uint32_t kResource = 1;
constexpr uint32_t kScopeSpans = 2;
// resource.v1.Resource
constexpr uint32_t kResourceAttributes = 1;
// trace.v1.ScopeSpans
constexpr uint32_t kScope = 1;
constexpr uint32_t kSpans = 2;
// common.v1.InstrumentationScope
constexpr uint32_t kScopeName = 1;
constexpr uint32_t kScopeVersion = 2;
// trace.v1.Span
constexpr uint32_t kTraceId = 1;
constexpr uint32_t kSpanId = 2;
constexpr uint32_t kTraceState = 3;
constexpr uint32_t kParentSpanId = 4;
constexpr uint32_t kName = 5;
constexpr uint32_t kKind = 6;
constexpr uint32_t kStartTime = 7;
constexpr uint32_t kEndTime = 8;
constexpr uint32_t kAttributes = 9;
constexpr uint32_t kStatus = 15;
// trace.v1.Status
constexpr uint32_t kStatusMessage = 2;
constexpr uint32_t kStatusCode = 3;
// common.v1.KeyValue
constexpr uint32_t kKey = 1;
constexpr uint32_t kValue = 2;
// common.v1.AnyValue
constexpr uint32_t kStringValue = 1;
constexpr uint32_t kBoolValue = 2;
constexpr uint32_t kIntValue = 3;
constexpr uint32_t kDoubleValue = 4;
}  // namespace field

// Every field number used here is below 16, so every tag is one byte.
constexpr char tag(uint32_t number, uint32_t wire_type) { return static_cast<char>(number << 3 | wire_type); }

// Nearly every length and value written here is below 128: one byte, one branch.
inline size_t varint_size(uint64_t v) {
  if (v < 0x80) [[likely]] return 1;
  return (static_cast<size_t>(std::bit_width(v)) + 6) / 7;
}

inline char* put_varint(char* p, uint64_t v) {
  if (v < 0x80) [[likely]] {
    *p = static_cast<char>(v);
    return p + 1;
  }
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Size of a length-delimited field (tag, length, payload) whose payload is `n` bytes.
inline size_t delimited_size(size_t n) { return 1 + varint_size(n) + n; }

inline char* put_header(char* p, uint32_t number, size_t n) {
  *p++ = tag(number, kLengthDelimited);
  return put_varint(p, n);
}

// Attribute keys and most values are short: two overlapping fixed-size copies beat a call.
inline void copy_bytes(char* dst, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    std::memcpy(dst, src, n);
  }
}

inline char* put_bytes(char* p, uint32_t number, std::string_view bytes) {
  p = put_header(p, number, bytes.size());
  copy_bytes(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

inline char* put_fixed64(char* p, uint32_t number, uint64_t v) {
  *p++ = tag(number, kFixed64);
  char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<char>(v >> (8 * i));  // little-endian
  std::memcpy(p, le, 8);
  return p + 8;
}

inline char* put_small_varint_field(char* p, uint32_t number, uint64_t v) {
  *p++ = tag(number, kVarint);
  return put_varint(p, v);
}

// One attribute seen the same way whichever model it came from (span or resource).
struct AttrView {
  std::string_view key;
  AttributeType type;
  std::string_view text;
  int64_t int_value = 0;
  double double_value = 0;
  bool bool_value = false;
};

[[gnu::always_inline]] inline AttrView view_of(const Span& s, const SpanAttribute& a) {
  AttrView v{a.key(), a.type, {}};
  switch (a.type) {
    case AttributeType::kString: v.text = s.string_value(a); break;
    case AttributeType::kInt: v.int_value = a.int_value; break;
    case AttributeType::kDouble: v.double_value = a.double_value; break;
    case AttributeType::kBool: v.bool_value = a.bool_value; break;
  }
  return v;
}

AttrView view_of(const Attribute& a) {
  AttrView v{a.key, AttributeType::kString, {}};
  if (const auto* s = std::get_if<std::string>(&a.value)) {
    v.text = *s;
  } else if (const auto* i = std::get_if<int64_t>(&a.value)) {
    v.type = AttributeType::kInt;
    v.int_value = *i;
  } else if (const auto* d = std::get_if<double>(&a.value)) {
    v.type = AttributeType::kDouble;
    v.double_value = *d;
  } else {
    v.type = AttributeType::kBool;
    v.bool_value = std::get<bool>(a.value);
  }
  return v;
}

// AnyValue payload size.
[[gnu::always_inline]] inline size_t any_size(const AttrView& a) {
  switch (a.type) {
    case AttributeType::kString: return delimited_size(a.text.size());
    case AttributeType::kInt: return 1 + varint_size(static_cast<uint64_t>(a.int_value));  // int64: two's complement
    case AttributeType::kDouble: return 9;
    case AttributeType::kBool: return 2;
  }
  return 0;
}

// KeyValue payload size.
[[gnu::always_inline]] inline size_t key_value_size(const AttrView& a) { return delimited_size(a.key.size()) + delimited_size(any_size(a)); }

[[gnu::always_inline]] inline char* put_attribute(char* p, uint32_t number, const AttrView& a) {
  size_t any = any_size(a);
  p = put_header(p, number, delimited_size(a.key.size()) + delimited_size(any));
  p = put_bytes(p, field::kKey, a.key);
  p = put_header(p, field::kValue, any);
  switch (a.type) {
    case AttributeType::kString: return put_bytes(p, field::kStringValue, a.text);
    case AttributeType::kInt: return put_small_varint_field(p, field::kIntValue, static_cast<uint64_t>(a.int_value));
    case AttributeType::kDouble: {
      uint64_t bits;
      std::memcpy(&bits, &a.double_value, sizeof bits);
      return put_fixed64(p, field::kDoubleValue, bits);
    }
    case AttributeType::kBool: return put_small_varint_field(p, field::kBoolValue, a.bool_value ? 1 : 0);
  }
  return p;
}

std::string_view bytes_of(const uint8_t* p, size_t n) {
  return std::string_view(reinterpret_cast<const char*>(p), n);
}

bool has_status(const Span& s) { return s.status_code != StatusCode::kUnset || !s.status_message().empty(); }

size_t status_size(const Span& s) {
  size_t n = 0;
  if (!s.status_message().empty()) n += delimited_size(s.status_message().size());
  if (s.status_code != StatusCode::kUnset) n += 1 + varint_size(static_cast<uint64_t>(s.status_code));
  return n;
}

// Span payload size; mirrors put_span field by field.
size_t span_size(const Span& s) {
  size_t n = delimited_size(s.trace_id.size()) + delimited_size(s.span_id.size());
  if (!s.trace_state().empty()) n += delimited_size(s.trace_state().size());
  if (!is_zero(s.parent_span_id)) n += delimited_size(s.parent_span_id.size());
  n += delimited_size(s.name().size());
  if (s.kind != SpanKind::kUnspecified) n += 1 + varint_size(static_cast<uint64_t>(s.kind));
  n += 9 + 9;
  for (const SpanAttribute& a : s.attributes()) n += delimited_size(key_value_size(view_of(s, a)));
  if (has_status(s)) n += delimited_size(status_size(s));
  return n;
}

char* put_span(char* p, const Span& s, size_t size) {
  p = put_header(p, field::kSpans, size);
  p = put_bytes(p, field::kTraceId, bytes_of(s.trace_id.data(), s.trace_id.size()));
  p = put_bytes(p, field::kSpanId, bytes_of(s.span_id.data(), s.span_id.size()));
  if (!s.trace_state().empty()) p = put_bytes(p, field::kTraceState, s.trace_state());
  if (!is_zero(s.parent_span_id)) {
    p = put_bytes(p, field::kParentSpanId, bytes_of(s.parent_span_id.data(), s.parent_span_id.size()));
  }
  p = put_bytes(p, field::kName, s.name());
  if (s.kind != SpanKind::kUnspecified) p = put_small_varint_field(p, field::kKind, static_cast<uint64_t>(s.kind));
  p = put_fixed64(p, field::kStartTime, s.start_unix_nano);
  p = put_fixed64(p, field::kEndTime, s.end_unix_nano);
  for (const SpanAttribute& a : s.attributes()) p = put_attribute(p, field::kAttributes, view_of(s, a));
  if (has_status(s)) {
    p = put_header(p, field::kStatus, status_size(s));
    if (!s.status_message().empty()) p = put_bytes(p, field::kStatusMessage, s.status_message());
    if (s.status_code != StatusCode::kUnset) {
      p = put_small_varint_field(p, field::kStatusCode, static_cast<uint64_t>(s.status_code));
    }
  }
  return p;
}

boost::json::object json_attribute(const AttrView& a) {
  boost::json::object value;
  switch (a.type) {
    case AttributeType::kString: value["stringValue"] = a.text; break;
    case AttributeType::kInt: value["intValue"] = std::to_string(a.int_value); break;  // int64 is a JSON string in OTLP/JSON
    case AttributeType::kDouble: value["doubleValue"] = a.double_value; break;
    case AttributeType::kBool: value["boolValue"] = a.bool_value; break;
  }
  boost::json::object kv;
  kv["key"] = a.key;
  kv["value"] = std::move(value);
  return kv;
}

// Writes the request at `start` of `out` and returns where it ends. `exact`: `out` ends there
// (append semantics); otherwise `out` is only grown when too small (a reused buffer).
size_t encode_protobuf_at(const ExportHeader& header, std::span<const Span> spans, std::string& out,
                          size_t start, bool exact) {
  // Size pass: span sizes are kept (one per span, reused by the write pass); everything above a
  // span is small and recomputed.
  thread_local std::vector<uint32_t> span_sizes;
  span_sizes.clear();
  size_t resource = 0;
  for (const Attribute& a : header.resource_attributes) resource += delimited_size(key_value_size(view_of(a)));
  size_t scope = delimited_size(header.scope_name.size());
  if (!header.scope_version.empty()) scope += delimited_size(header.scope_version.size());
  size_t scope_spans = delimited_size(scope);
  for (const Span& s : spans) {
    size_t n = span_size(s);
    span_sizes.push_back(static_cast<uint32_t>(n));
    scope_spans += delimited_size(n);
  }
  size_t resource_spans = delimited_size(resource) + delimited_size(scope_spans);
  size_t end = start + delimited_size(resource_spans);

  // Growing zero-fills only the new tail; a reused buffer already large enough is not touched.
  if (exact || out.size() < end) out.resize(end);
  char* p = out.data() + start;
  p = put_header(p, field::kResourceSpans, resource_spans);
  p = put_header(p, field::kResource, resource);
  for (const Attribute& a : header.resource_attributes) p = put_attribute(p, field::kResourceAttributes, view_of(a));
  p = put_header(p, field::kScopeSpans, scope_spans);
  p = put_header(p, field::kScope, scope);
  p = put_bytes(p, field::kScopeName, header.scope_name);
  if (!header.scope_version.empty()) p = put_bytes(p, field::kScopeVersion, header.scope_version);
  for (size_t i = 0; i < spans.size(); ++i) p = put_span(p, spans[i], span_sizes[i]);
  assert(p == out.data() + end);
  return end;
}

}  // namespace

void encode_protobuf(const ExportHeader& header, std::span<const Span> spans, std::string& out) {
  encode_protobuf_at(header, spans, out, out.size(), true);
}

size_t encode_protobuf_over(const ExportHeader& header, std::span<const Span> spans, std::string& buf) {
  return encode_protobuf_at(header, spans, buf, 0, false);
}

void encode_json(const ExportHeader& header, std::span<const Span> spans, std::string& out) {
  boost::json::array json_spans;
  json_spans.reserve(spans.size());
  for (const Span& s : spans) {
    boost::json::object o;
    o["traceId"] = to_hex(s.trace_id);
    o["spanId"] = to_hex(s.span_id);
    if (!s.trace_state().empty()) o["traceState"] = s.trace_state();
    if (!is_zero(s.parent_span_id)) o["parentSpanId"] = to_hex(s.parent_span_id);
    o["name"] = s.name();
    o["kind"] = static_cast<int>(s.kind);
    o["startTimeUnixNano"] = std::to_string(s.start_unix_nano);
    o["endTimeUnixNano"] = std::to_string(s.end_unix_nano);
    boost::json::array attributes;
    attributes.reserve(s.attributes().size());
    for (const SpanAttribute& a : s.attributes()) attributes.push_back(json_attribute(view_of(s, a)));
    o["attributes"] = std::move(attributes);
    boost::json::object status;
    if (s.status_code != StatusCode::kUnset) status["code"] = static_cast<int>(s.status_code);
    if (!s.status_message().empty()) status["message"] = s.status_message();
    o["status"] = std::move(status);
    json_spans.push_back(std::move(o));
  }
  boost::json::object scope;
  scope["name"] = header.scope_name;
  if (!header.scope_version.empty()) scope["version"] = header.scope_version;
  boost::json::object scope_spans;
  scope_spans["scope"] = std::move(scope);
  scope_spans["spans"] = std::move(json_spans);
  boost::json::object resource;
  boost::json::array resource_attributes;
  for (const Attribute& a : header.resource_attributes) resource_attributes.push_back(json_attribute(view_of(a)));
  resource["attributes"] = std::move(resource_attributes);
  boost::json::object resource_spans;
  resource_spans["resource"] = std::move(resource);
  resource_spans["scopeSpans"] = boost::json::array{std::move(scope_spans)};
  boost::json::object request;
  request["resourceSpans"] = boost::json::array{std::move(resource_spans)};
  out += boost::json::serialize(request);
}

}  // namespace portico::observability
