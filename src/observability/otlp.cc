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

// Attribute keys and most values are short (semantic-convention keys run to 25 bytes): two
// overlapping fixed-size copies beat a call.
inline void copy_bytes(char* dst, const char* src, size_t n) {
  if (n > 16 && n <= 32) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8 && n <= 16) {
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

std::string_view bytes_of(const uint8_t* p, size_t n) {
  return std::string_view(reinterpret_cast<const char*>(p), n);
}

// An all-zero parent id means a root span; one 8-byte compare.
inline bool no_parent(const SpanId& id) {
  uint64_t v;
  std::memcpy(&v, id.data(), sizeof v);
  return v == 0;
}

bool has_status(const Span& s) { return s.status_code != StatusCode::kUnset || !s.status_message().empty(); }


// The backward writer: each rput_* writes its field just before `p` and returns the new start.
// Fields go in reverse order, and a message's length is known once its contents are written, so
// one pass gives the canonical encoding (no size pass over every attribute first).
inline char* rput_varint(char* p, uint64_t v) {
  if (v < 0x80) [[likely]] {
    *--p = static_cast<char>(v);
    return p;
  }
  p -= varint_size(v);
  put_varint(p, v);
  return p;
}

inline char* rput_header(char* p, uint32_t number, size_t n) {
  p = rput_varint(p, n);
  *--p = tag(number, kLengthDelimited);
  return p;
}

inline char* rput_bytes(char* p, uint32_t number, std::string_view bytes) {
  p -= bytes.size();
  copy_bytes(p, bytes.data(), bytes.size());
  return rput_header(p, number, bytes.size());
}

inline char* rput_fixed64(char* p, uint32_t number, uint64_t v) {
  p -= 9;
  put_fixed64(p, number, v);
  return p;
}

inline char* rput_small_varint_field(char* p, uint32_t number, uint64_t v) {
  p = rput_varint(p, v);
  *--p = tag(number, kVarint);
  return p;
}

// An attribute's KeyValue (with its field header) before `p`. `text` is the string value.
[[gnu::always_inline]] inline char* rput_attribute(char* p, uint32_t number, std::string_view key, AttributeType type,
                                                   std::string_view text, int64_t int_value, double double_value,
                                                   bool bool_value) {
  char* const kv_end = p;
  switch (type) {
    case AttributeType::kString: p = rput_bytes(p, field::kStringValue, text); break;
    case AttributeType::kInt: p = rput_small_varint_field(p, field::kIntValue, static_cast<uint64_t>(int_value)); break;
    case AttributeType::kDouble: {
      uint64_t bits;
      std::memcpy(&bits, &double_value, sizeof bits);
      p = rput_fixed64(p, field::kDoubleValue, bits);
      break;
    }
    case AttributeType::kBool: p = rput_small_varint_field(p, field::kBoolValue, bool_value ? 1 : 0); break;
  }
  p = rput_header(p, field::kValue, static_cast<size_t>(kv_end - p));
  p = rput_bytes(p, field::kKey, key);
  return rput_header(p, number, static_cast<size_t>(kv_end - p));
}

// Room a span can take at most: ids, times, kind and headers; name, trace state and status
// message, each at most the span's whole text; every attribute's key, value (a string value is at
// most the whole text) and headers.
size_t span_bound(const Span& s) {
  const size_t attributes = s.attributes().size();
  return 128 + s.text_size() * (3 + attributes) + attributes * (255 + 32);
}

// One Span message (with its field header) before `p`; mirrors the field order of trace.v1.Span.
char* rput_span(char* p, const Span& s) {
  char* const end = p;
  if (has_status(s)) {
    char* const status_end = p;
    if (s.status_code != StatusCode::kUnset) {
      p = rput_small_varint_field(p, field::kStatusCode, static_cast<uint64_t>(s.status_code));
    }
    if (!s.status_message().empty()) p = rput_bytes(p, field::kStatusMessage, s.status_message());
    p = rput_header(p, field::kStatus, static_cast<size_t>(status_end - p));
  }
  const auto attributes = s.attributes();
  for (size_t i = attributes.size(); i-- > 0;) {
    const SpanAttribute& a = attributes[i];
    p = rput_attribute(p, field::kAttributes, a.key(), a.type,
                       a.type == AttributeType::kString ? s.string_value(a) : std::string_view(),
                       a.type == AttributeType::kInt ? a.int_value : 0,
                       a.type == AttributeType::kDouble ? a.double_value : 0.0,
                       a.type == AttributeType::kBool && a.bool_value);
  }
  p = rput_fixed64(p, field::kEndTime, s.end_unix_nano);
  p = rput_fixed64(p, field::kStartTime, s.start_unix_nano);
  if (s.kind != SpanKind::kUnspecified) p = rput_small_varint_field(p, field::kKind, static_cast<uint64_t>(s.kind));
  p = rput_bytes(p, field::kName, s.name());
  if (!no_parent(s.parent_span_id)) {
    p = rput_bytes(p, field::kParentSpanId, bytes_of(s.parent_span_id.data(), s.parent_span_id.size()));
  }
  if (!s.trace_state().empty()) p = rput_bytes(p, field::kTraceState, s.trace_state());
  p = rput_bytes(p, field::kSpanId, bytes_of(s.span_id.data(), s.span_id.size()));
  p = rput_bytes(p, field::kTraceId, bytes_of(s.trace_id.data(), s.trace_id.size()));
  return rput_header(p, field::kSpans, static_cast<size_t>(end - p));
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

// The request, written backwards into a per-thread scratch buffer (kept between batches): from
// the last span to the first and then the messages around them. Valid until the next call on the
// same thread.
std::string_view encode_to_scratch(const ExportHeader& header, std::span<const Span> spans) {
  thread_local std::vector<char> scratch;
  if (scratch.size() < 64 * 1024) scratch.resize(64 * 1024);
  char* end = scratch.data() + scratch.size();
  char* p = end;
  // Makes sure `n` bytes fit before `p`: a bigger buffer gets what was written at its end.
  auto room = [&](size_t n) {
    if (static_cast<size_t>(p - scratch.data()) >= n) [[likely]] return;
    const size_t written = static_cast<size_t>(end - p);
    std::vector<char> bigger(std::max(scratch.size() * 2, written + n + 1024));
    std::memcpy(bigger.data() + bigger.size() - written, p, written);
    scratch.swap(bigger);
    end = scratch.data() + scratch.size();
    p = end - written;
  };

  // ResourceSpans { resource: Resource, scope_spans: ScopeSpans { scope, spans... } }
  for (size_t i = spans.size(); i-- > 0;) {
    room(span_bound(spans[i]));
    p = rput_span(p, spans[i]);
  }
  room(64 + header.scope_name.size() + header.scope_version.size());
  char* const scope_end = p;
  if (!header.scope_version.empty()) p = rput_bytes(p, field::kScopeVersion, header.scope_version);
  p = rput_bytes(p, field::kScopeName, header.scope_name);
  p = rput_header(p, field::kScope, static_cast<size_t>(scope_end - p));
  p = rput_header(p, field::kScopeSpans, static_cast<size_t>(end - p));
  char* const resource_end = p;
  for (size_t i = header.resource_attributes.size(); i-- > 0;) {
    const AttrView a = view_of(header.resource_attributes[i]);
    room(64 + a.key.size() + a.text.size());
    p = rput_attribute(p, field::kResourceAttributes, a.key, a.type, a.text, a.int_value, a.double_value,
                       a.bool_value);
  }
  room(32);
  p = rput_header(p, field::kResource, static_cast<size_t>(resource_end - p));
  p = rput_header(p, field::kResourceSpans, static_cast<size_t>(end - p));

  return std::string_view(p, static_cast<size_t>(end - p));
}

}  // namespace

void encode_protobuf(const ExportHeader& header, std::span<const Span> spans, std::string& out) {
  out += encode_to_scratch(header, spans);
}

size_t encode_protobuf_over(const ExportHeader& header, std::span<const Span> spans, std::string& buf) {
  const std::string_view bytes = encode_to_scratch(header, spans);
  // Growing zero-fills only the new tail; a reused buffer already large enough is not touched.
  if (buf.size() < bytes.size()) buf.resize(bytes.size());
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  return bytes.size();
}

std::string_view encode_protobuf_view(const ExportHeader& header, std::span<const Span> spans) {
  return encode_to_scratch(header, spans);
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
