#include "observability/otlp.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <string_view>

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

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_tag(std::string& out, uint32_t number, uint32_t wire_type) {
  put_varint(out, uint64_t{number} << 3 | wire_type);
}

void put_bytes(std::string& out, uint32_t number, std::string_view bytes) {
  put_tag(out, number, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

void put_fixed64(std::string& out, uint32_t number, uint64_t v) {
  put_tag(out, number, kFixed64);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);  // little-endian
}

// Length-delimited sub-message: encoded into a temporary, then copied after its length prefix.
// Encoding runs on the exporter thread, never on a worker, so the copies cost no request time.
template <class Fn>
void put_message(std::string& out, uint32_t number, Fn&& fill) {
  std::string body;
  fill(body);
  put_bytes(out, number, body);
}

void put_attribute(std::string& out, uint32_t number, const Attribute& a) {
  put_message(out, number, [&](std::string& kv) {
    put_bytes(kv, field::kKey, a.key);
    put_message(kv, field::kValue, [&](std::string& any) {
      if (const auto* s = std::get_if<std::string>(&a.value)) {
        put_bytes(any, field::kStringValue, *s);
      } else if (const auto* i = std::get_if<int64_t>(&a.value)) {
        put_tag(any, field::kIntValue, kVarint);
        put_varint(any, static_cast<uint64_t>(*i));  // int64: two's complement, 10 bytes if < 0
      } else if (const auto* d = std::get_if<double>(&a.value)) {
        uint64_t bits;
        std::memcpy(&bits, d, sizeof bits);
        put_fixed64(any, field::kDoubleValue, bits);
      } else {
        put_tag(any, field::kBoolValue, kVarint);
        put_varint(any, std::get<bool>(a.value) ? 1 : 0);
      }
    });
  });
}

std::string_view bytes_of(const uint8_t* p, size_t n) {
  return std::string_view(reinterpret_cast<const char*>(p), n);
}

void put_span(std::string& out, const Span& s) {
  put_message(out, field::kSpans, [&](std::string& m) {
    put_bytes(m, field::kTraceId, bytes_of(s.trace_id.data(), s.trace_id.size()));
    put_bytes(m, field::kSpanId, bytes_of(s.span_id.data(), s.span_id.size()));
    if (!s.trace_state.empty()) put_bytes(m, field::kTraceState, s.trace_state);
    if (!is_zero(s.parent_span_id)) {
      put_bytes(m, field::kParentSpanId, bytes_of(s.parent_span_id.data(), s.parent_span_id.size()));
    }
    put_bytes(m, field::kName, s.name);
    if (s.kind != SpanKind::kUnspecified) {
      put_tag(m, field::kKind, kVarint);
      put_varint(m, static_cast<uint64_t>(s.kind));
    }
    put_fixed64(m, field::kStartTime, s.start_unix_nano);
    put_fixed64(m, field::kEndTime, s.end_unix_nano);
    for (const Attribute& a : s.attributes) put_attribute(m, field::kAttributes, a);
    if (s.status_code != StatusCode::kUnset || !s.status_message.empty()) {
      put_message(m, field::kStatus, [&](std::string& st) {
        if (!s.status_message.empty()) put_bytes(st, field::kStatusMessage, s.status_message);
        if (s.status_code != StatusCode::kUnset) {
          put_tag(st, field::kStatusCode, kVarint);
          put_varint(st, static_cast<uint64_t>(s.status_code));
        }
      });
    }
  });
}

boost::json::object json_attribute(const Attribute& a) {
  boost::json::object value;
  if (const auto* s = std::get_if<std::string>(&a.value)) {
    value["stringValue"] = *s;
  } else if (const auto* i = std::get_if<int64_t>(&a.value)) {
    value["intValue"] = std::to_string(*i);  // int64 is a JSON string in OTLP/JSON
  } else if (const auto* d = std::get_if<double>(&a.value)) {
    value["doubleValue"] = *d;
  } else {
    value["boolValue"] = std::get<bool>(a.value);
  }
  boost::json::object kv;
  kv["key"] = a.key;
  kv["value"] = std::move(value);
  return kv;
}

boost::json::array json_attributes(const std::vector<Attribute>& attributes) {
  boost::json::array out;
  out.reserve(attributes.size());
  for (const Attribute& a : attributes) out.push_back(json_attribute(a));
  return out;
}

}  // namespace

void encode_protobuf(const ExportHeader& header, std::span<const Span> spans, std::string& out) {
  put_message(out, field::kResourceSpans, [&](std::string& rs) {
    put_message(rs, field::kResource, [&](std::string& r) {
      for (const Attribute& a : header.resource_attributes) put_attribute(r, field::kResourceAttributes, a);
    });
    put_message(rs, field::kScopeSpans, [&](std::string& ss) {
      put_message(ss, field::kScope, [&](std::string& scope) {
        put_bytes(scope, field::kScopeName, header.scope_name);
        if (!header.scope_version.empty()) put_bytes(scope, field::kScopeVersion, header.scope_version);
      });
      for (const Span& s : spans) put_span(ss, s);
    });
  });
}

void encode_json(const ExportHeader& header, std::span<const Span> spans, std::string& out) {
  boost::json::array json_spans;
  json_spans.reserve(spans.size());
  for (const Span& s : spans) {
    boost::json::object o;
    o["traceId"] = to_hex(s.trace_id);
    o["spanId"] = to_hex(s.span_id);
    if (!s.trace_state.empty()) o["traceState"] = s.trace_state;
    if (!is_zero(s.parent_span_id)) o["parentSpanId"] = to_hex(s.parent_span_id);
    o["name"] = s.name;
    o["kind"] = static_cast<int>(s.kind);
    o["startTimeUnixNano"] = std::to_string(s.start_unix_nano);
    o["endTimeUnixNano"] = std::to_string(s.end_unix_nano);
    o["attributes"] = json_attributes(s.attributes);
    boost::json::object status;
    if (s.status_code != StatusCode::kUnset) status["code"] = static_cast<int>(s.status_code);
    if (!s.status_message.empty()) status["message"] = s.status_message;
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
  resource["attributes"] = json_attributes(header.resource_attributes);
  boost::json::object resource_spans;
  resource_spans["resource"] = std::move(resource);
  resource_spans["scopeSpans"] = boost::json::array{std::move(scope_spans)};
  boost::json::object request;
  request["resourceSpans"] = boost::json::array{std::move(resource_spans)};
  out += boost::json::serialize(request);
}

}  // namespace portico::observability
