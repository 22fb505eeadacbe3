#include "observability/otlp.h"

#include <algorithm>
#include <charconv>

#include "observability/access_log.h"

namespace portico::observability {
namespace {

using namespace otlp_detail;

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
constexpr uint32_t kStatus = 15;
// trace.v1.Status
constexpr uint32_t kStatusMessage = 2;
constexpr uint32_t kStatusCode = 3;
}  // namespace field

// Every field number used here is below 16, so every tag is one byte.
constexpr char tag(uint32_t number, uint32_t wire_type) { return static_cast<char>(number << 3 | wire_type); }

inline char* put_fixed64(char* p, char field_tag, uint64_t v) {
  *p++ = field_tag;
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));  // little-endian
  return p + 8;
}

inline char* put_bytes(char* p, char field_tag, const void* bytes, size_t n) {
  *p++ = field_tag;
  p = put_varint(p, n);
  copy_bytes(p, static_cast<const char*>(bytes), n);
  return p + n;
}

// Appends a length-delimited field to a std::string (the once-per-exporter parts).
void append_field(std::string& out, uint32_t number, std::string_view payload) {
  char head[11];
  head[0] = tag(number, kLengthDelimited);
  const char* end = put_varint(head + 1, payload.size());
  out.append(head, static_cast<size_t>(end - head));
  out += payload;
}

bool no_parent(const SpanId& id) {
  uint64_t v;
  std::memcpy(&v, id.data(), sizeof v);
  return v == 0;
}

void append_json_string(std::string& out, std::string_view s, std::string& scratch) {
  out += '"';
  append_json_escaped(out, core::valid_utf8_or_sanitized(s, scratch));
  out += '"';
}

void append_decimal(std::string& out, uint64_t v) {
  char digits[20];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, static_cast<size_t>(end - digits));
}

void append_decimal(std::string& out, int64_t v) {
  char digits[21];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, static_cast<size_t>(end - digits));
}

}  // namespace

// --- SpanWriter ------------------------------------------------------------------------------

void SpanWriter::grow(size_t n) {
  const size_t used = buf_ ? static_cast<size_t>(p_ - buf_.get()) : 0;
  const size_t capacity = buf_ ? static_cast<size_t>(end_ - buf_.get()) : 0;
  const size_t bigger = std::max({used + n + 256, 2 * capacity, size_t{1024}});
  std::unique_ptr<char[]> b(new char[bigger]);
  if (used != 0) std::memcpy(b.get(), buf_.get(), used);
  buf_ = std::move(b);
  p_ = buf_.get() + used;
  end_ = buf_.get() + bigger;
}

void SpanWriter::put_string_field(char field_tag, std::string_view text) {
  room(11 + text.size());
  p_ = put_bytes(p_, field_tag, text.data(), text.size());
}

void SpanWriter::begin(const SpanStart& s) {
  if (encoding_ == OtlpEncoding::kJson) {
    json_.clear();
    json_first_attribute_ = true;
    json_status_ = false;
    json_ += "{\"traceId\":\"";
    append_hex(json_, s.trace_id.data(), s.trace_id.size());
    json_ += "\",\"spanId\":\"";
    append_hex(json_, s.span_id.data(), s.span_id.size());
    json_ += '"';
    if (!s.trace_state.empty()) {
      json_ += ",\"traceState\":";
      append_json_string(json_, s.trace_state, utf8_scratch_);
    }
    if (!no_parent(s.parent_span_id)) {
      json_ += ",\"parentSpanId\":\"";
      append_hex(json_, s.parent_span_id.data(), s.parent_span_id.size());
      json_ += '"';
    }
    json_ += ",\"name\":";
    append_json_string(json_, s.name, utf8_scratch_);
    json_ += ",\"kind\":";
    append_decimal(json_, uint64_t{static_cast<uint8_t>(s.kind)});
    json_ += ",\"startTimeUnixNano\":\"";
    append_decimal(json_, s.start_unix_nano);
    json_ += "\",\"endTimeUnixNano\":\"";
    append_decimal(json_, s.end_unix_nano);
    json_ += "\",\"attributes\":[";
    return;
  }
  const std::string_view name = core::valid_utf8_or_sanitized(s.name, utf8_scratch_);
  p_ = buf_.get();
  room(kHeadroom + 96 + name.size() + s.trace_state.size());
  char* p = p_ + kHeadroom;
  p = put_bytes(p, tag(field::kTraceId, kLengthDelimited), s.trace_id.data(), s.trace_id.size());
  p = put_bytes(p, tag(field::kSpanId, kLengthDelimited), s.span_id.data(), s.span_id.size());
  if (!s.trace_state.empty()) {
    p = put_bytes(p, tag(field::kTraceState, kLengthDelimited), s.trace_state.data(), s.trace_state.size());
  }
  if (!no_parent(s.parent_span_id)) {
    p = put_bytes(p, tag(field::kParentSpanId, kLengthDelimited), s.parent_span_id.data(), s.parent_span_id.size());
  }
  p = put_bytes(p, tag(field::kName, kLengthDelimited), name.data(), name.size());
  if (s.kind != SpanKind::kUnspecified) {
    *p++ = tag(field::kKind, kVarint);
    *p++ = static_cast<char>(s.kind);
  }
  p = put_fixed64(p, tag(field::kStartTime, kFixed64), s.start_unix_nano);
  p_ = put_fixed64(p, tag(field::kEndTime, kFixed64), s.end_unix_nano);
}

void SpanWriter::add_string_slow(std::string_view key, std::string_view value) {
  if (encoding_ == OtlpEncoding::kJson) {
    json_add_string(key, value);
    return;
  }
  value = core::valid_utf8_or_sanitized(value, utf8_scratch_);
  const size_t k = key.size(), v = value.size();
  const size_t any = 1 + varint_size(v) + v;           // AnyValue
  const size_t kv = 1 + varint_size(k) + k + 1 + varint_size(any) + any;  // KeyValue
  room(1 + varint_size(kv) + kv);
  char* p = p_;
  *p++ = kAttributesTag;
  p = put_varint(p, kv);
  p = put_bytes(p, kKeyTag, key.data(), k);
  *p++ = kValueTag;
  p = put_varint(p, any);
  p_ = put_bytes(p, kStringValueTag, value.data(), v);
}

void SpanWriter::set_status(StatusCode code, std::string_view message) {
  if (encoding_ == OtlpEncoding::kJson) {
    json_ += "],\"status\":{";
    if (code != StatusCode::kUnset) {
      json_ += "\"code\":";
      append_decimal(json_, uint64_t{static_cast<uint8_t>(code)});
    }
    if (!message.empty()) {
      if (code != StatusCode::kUnset) json_ += ',';
      json_ += "\"message\":";
      append_json_string(json_, message, utf8_scratch_);
    }
    json_ += '}';
    json_status_ = true;
    return;
  }
  if (code == StatusCode::kUnset && message.empty()) return;
  message = core::valid_utf8_or_sanitized(message, utf8_scratch_);
  const size_t status = (message.empty() ? 0 : 1 + varint_size(message.size()) + message.size()) +
                        (code == StatusCode::kUnset ? 0 : 2);
  room(1 + varint_size(status) + status);
  char* p = p_;
  *p++ = tag(field::kStatus, kLengthDelimited);
  p = put_varint(p, status);
  if (!message.empty()) p = put_bytes(p, tag(field::kStatusMessage, kLengthDelimited), message.data(), message.size());
  if (code != StatusCode::kUnset) {
    *p++ = tag(field::kStatusCode, kVarint);
    *p++ = static_cast<char>(code);
  }
  p_ = p;
}

std::string_view SpanWriter::finish() {
  if (encoding_ == OtlpEncoding::kJson) {
    if (!json_status_) json_ += "],\"status\":{}";
    json_ += '}';
    return json_;
  }
  // The Span field's tag and length go right before the span, in the room kept for them.
  char* const body = buf_.get() + kHeadroom;
  const size_t n = static_cast<size_t>(p_ - body);
  char* start = body - varint_size(n) - 1;
  char* q = start;
  *q++ = tag(field::kSpans, kLengthDelimited);
  put_varint(q, n);
  return std::string_view(start, static_cast<size_t>(p_ - start));
}

void SpanWriter::json_key(std::string_view key) {
  if (!json_first_attribute_) json_ += ',';
  json_first_attribute_ = false;
  json_ += "{\"key\":";
  append_json_string(json_, key, utf8_scratch_);
  json_ += ",\"value\":{";
}

void SpanWriter::json_add_string(std::string_view key, std::string_view value) {
  json_key(key);
  json_ += "\"stringValue\":";
  append_json_string(json_, value, utf8_scratch_);
  json_ += "}}";
}

void SpanWriter::json_add_int(std::string_view key, int64_t value) {
  json_key(key);
  json_ += "\"intValue\":\"";  // int64 is a JSON string in OTLP/JSON
  append_decimal(json_, value);
  json_ += "\"}}";
}

// --- BatchEncoder ----------------------------------------------------------------------------

BatchEncoder::BatchEncoder(OtlpEncoding encoding, const ExportHeader& header) : encoding_(encoding) {
  std::string scratch;
  if (encoding_ == OtlpEncoding::kProtobuf) {
    std::string attributes, any, kv;
    std::string key_scratch;
    for (const auto& [key, value] : header.resource_attributes) {
      any.clear();
      append_field(any, 1, core::valid_utf8_or_sanitized(value, scratch));  // AnyValue.string_value
      kv.clear();
      append_field(kv, 1, core::valid_utf8_or_sanitized(key, key_scratch));  // KeyValue.key
      append_field(kv, 2, any);  // KeyValue.value
      append_field(attributes, field::kResourceAttributes, kv);
    }
    append_field(resource_, field::kResource, attributes);
    std::string scope;
    append_field(scope, field::kScopeName, core::valid_utf8_or_sanitized(header.scope_name, scratch));
    if (!header.scope_version.empty()) {
      append_field(scope, field::kScopeVersion, core::valid_utf8_or_sanitized(header.scope_version, scratch));
    }
    append_field(scope_, field::kScope, scope);
    // resource_spans tag + length, resource, scope_spans tag + length, scope.
    headroom_ = 11 + resource_.size() + 11 + scope_.size();
  } else {
    resource_ = "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
    bool first = true;
    for (const auto& [key, value] : header.resource_attributes) {
      if (!first) resource_ += ',';
      first = false;
      resource_ += "{\"key\":";
      append_json_string(resource_, key, scratch);
      resource_ += ",\"value\":{\"stringValue\":";
      append_json_string(resource_, value, scratch);
      resource_ += "}}";
    }
    resource_ += "]},\"scopeSpans\":[{\"scope\":{\"name\":";
    append_json_string(resource_, header.scope_name, scratch);
    if (!header.scope_version.empty()) {
      resource_ += ",\"version\":";
      append_json_string(resource_, header.scope_version, scratch);
    }
    resource_ += "},\"spans\":[";
    headroom_ = resource_.size();
  }
  clear();
}

void BatchEncoder::clear() {
  end_ = headroom_;
  count_ = 0;
}

void BatchEncoder::add(std::string_view encoded_span) {
  const size_t need = end_ + encoded_span.size() + 8;  // a JSON comma, and the closing text
  if (buf_.size() < need) buf_.resize(std::max(need, 2 * buf_.size()));
  char* p = buf_.data() + end_;
  if (encoding_ == OtlpEncoding::kJson && count_ != 0) *p++ = ',';
  std::memcpy(p, encoded_span.data(), encoded_span.size());
  end_ = static_cast<size_t>(p - buf_.data()) + encoded_span.size();
  ++count_;
}

std::string_view BatchEncoder::finish() {
  if (buf_.size() < end_ + 8) buf_.resize(end_ + 8);
  char* const spans = buf_.data() + headroom_;
  if (encoding_ == OtlpEncoding::kJson) {
    std::memcpy(buf_.data(), resource_.data(), resource_.size());
    std::memcpy(buf_.data() + end_, "]}]}]}", 6);
    return std::string_view(buf_.data(), end_ + 6);
  }
  // Written backwards from the first span: scope, scope_spans header, resource, resource_spans
  // header; each length is known by then.
  const size_t spans_size = end_ - headroom_;
  const size_t scope_spans = scope_.size() + spans_size;
  char* p = spans - scope_.size();
  std::memcpy(p, scope_.data(), scope_.size());
  char head[11];
  head[0] = tag(field::kScopeSpans, kLengthDelimited);
  size_t n = static_cast<size_t>(put_varint(head + 1, scope_spans) - head);
  p -= n;
  std::memcpy(p, head, n);
  p -= resource_.size();
  std::memcpy(p, resource_.data(), resource_.size());
  const size_t resource_spans = static_cast<size_t>(buf_.data() + end_ - p);
  head[0] = tag(field::kResourceSpans, kLengthDelimited);
  n = static_cast<size_t>(put_varint(head + 1, resource_spans) - head);
  p -= n;
  std::memcpy(p, head, n);
  return std::string_view(p, static_cast<size_t>(buf_.data() + end_ - p));
}

std::string_view BatchEncoder::content_type() const {
  return encoding_ == OtlpEncoding::kJson ? "application/json" : "application/x-protobuf";
}

}  // namespace portico::observability
