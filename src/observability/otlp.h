// OTLP trace encoding: a Span model and encoders for ExportTraceServiceRequest in the two OTLP/HTTP
// encodings, binary protobuf (application/x-protobuf) and JSON (application/json).
//
// Contract: pure functions, callable from any thread; they only append to `out` (but
// encode_protobuf_over, which writes over a reused buffer). The protobuf
// encoding is written by hand with the field numbers of opentelemetry/proto (collector/trace/v1,
// trace/v1, resource/v1, common/v1); the JSON follows the OTLP/JSON mapping: lowerCamelCase field
// names, trace and span ids as lower-case hex, enums as integers, 64-bit integers as strings.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "observability/trace_context.h"

namespace portico::observability {

// OTLP's Span.SpanKind values.
enum class SpanKind : uint8_t { kUnspecified = 0, kInternal = 1, kServer = 2, kClient = 3 };
// OTLP's Status.StatusCode values.
enum class StatusCode : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

// An attribute with owned key and value: the Resource's attributes (built once per exporter).
struct Attribute {
  std::string key;
  std::variant<std::string, int64_t, double, bool> value;
};

enum class AttributeType : uint8_t { kString, kInt, kDouble, kBool };

// A span's text (name, trace state, status message, string attribute values) lives in the span's
// own buffer; a TextRef locates one string in it, so moving a span never invalidates it.
struct TextRef {
  uint32_t offset;  // trivial (no initializers) so it can sit in SpanAttribute's union
  uint32_t size;
};

// One span attribute. The key is a view of storage that outlives the span (a string literal: the
// semantic-convention names); a string value is a TextRef into the owning span's text.
struct SpanAttribute {
  const char* key_data;
  uint8_t key_size;
  AttributeType type;
  union {
    TextRef text;
    int64_t int_value;
    double double_value;
    bool bool_value;
  };
  std::string_view key() const { return std::string_view(key_data, key_size); }
};

// A finished span, built on a worker and moved through the exporter's queue.
//
// Contract: no allocation per attribute: attributes sit in a fixed inline array (kMaxAttributes;
// add_* beyond it are dropped, debug-asserted) and all request-scoped text is copied into one
// buffer per span (reserve_text() once to make it one allocation). Attribute keys must be string
// literals (or otherwise outlive the span), at most 255 bytes (a longer one is dropped). A span
// and its text belong together: a TextRef means nothing in another span.
class Span {
 public:
  static constexpr size_t kMaxAttributes = 16;

  // Copies and moves carry only the attributes in use (the rest of the array is never read).
  Span() noexcept {}
  Span(const Span& o) : text_(o.text_) { copy_fixed(o); }
  // A moved-from span keeps its ids and times but no text and no attributes.
  Span(Span&& o) noexcept : text_(std::move(o.text_)) {
    copy_fixed(o);
    o.drop_text();
  }
  Span& operator=(const Span& o) {
    if (this != &o) {
      text_ = o.text_;
      copy_fixed(o);
    }
    return *this;
  }
  Span& operator=(Span&& o) noexcept {
    if (this != &o) {
      text_ = std::move(o.text_);
      copy_fixed(o);
      o.drop_text();
    }
    return *this;
  }

  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all-zero: a root span (no parent field is written)
  SpanKind kind = SpanKind::kInternal;
  StatusCode status_code = StatusCode::kUnset;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;

  void reserve_text(size_t n) { text_.reserve(n); }
  // Copies `s` into the span's text.
  TextRef add_text(std::string_view s) {
    TextRef r{static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(s.size())};
    text_.append(s);
    return r;
  }
  std::string_view text(TextRef r) const { return std::string_view(text_.data() + r.offset, r.size); }

  void set_name(std::string_view s) { name_ = add_text(s); }
  void set_name(TextRef r) { name_ = r; }
  std::string_view name() const { return text(name_); }
  void set_trace_state(std::string_view s) { trace_state_ = add_text(s); }
  std::string_view trace_state() const { return text(trace_state_); }
  void set_status_message(std::string_view s) { status_message_ = add_text(s); }
  void set_status_message(TextRef r) { status_message_ = r; }
  std::string_view status_message() const { return text(status_message_); }

  void add_string(std::string_view key, std::string_view value) { add_string(key, add_text(value)); }
  void add_string(std::string_view key, TextRef value) {
    if (SpanAttribute* a = next(key, AttributeType::kString)) a->text = value;
  }
  void add_int(std::string_view key, int64_t value) {
    if (SpanAttribute* a = next(key, AttributeType::kInt)) a->int_value = value;
  }
  void add_double(std::string_view key, double value) {
    if (SpanAttribute* a = next(key, AttributeType::kDouble)) a->double_value = value;
  }
  void add_bool(std::string_view key, bool value) {
    if (SpanAttribute* a = next(key, AttributeType::kBool)) a->bool_value = value;
  }

  std::span<const SpanAttribute> attributes() const { return {attributes_.data(), attribute_count_}; }
  std::string_view string_value(const SpanAttribute& a) const { return text(a.text); }
  const SpanAttribute* find(std::string_view key) const {
    for (const SpanAttribute& a : attributes()) {
      if (a.key() == key) return &a;
    }
    return nullptr;
  }

 private:
  void copy_fixed(const Span& o) noexcept {
    trace_id = o.trace_id;
    span_id = o.span_id;
    parent_span_id = o.parent_span_id;
    kind = o.kind;
    status_code = o.status_code;
    start_unix_nano = o.start_unix_nano;
    end_unix_nano = o.end_unix_nano;
    name_ = o.name_;
    trace_state_ = o.trace_state_;
    status_message_ = o.status_message_;
    attribute_count_ = o.attribute_count_;
    std::copy_n(o.attributes_.data(), attribute_count_, attributes_.data());
  }

  void drop_text() noexcept {
    name_ = trace_state_ = status_message_ = TextRef{};
    attribute_count_ = 0;
  }

  SpanAttribute* next(std::string_view key, AttributeType type) {
    assert(attribute_count_ < kMaxAttributes && key.size() <= 255);
    if (attribute_count_ >= kMaxAttributes || key.size() > 255) return nullptr;
    SpanAttribute& a = attributes_[attribute_count_++];
    a.key_data = key.data();
    a.key_size = static_cast<uint8_t>(key.size());
    a.type = type;
    return &a;
  }

  TextRef name_{}, trace_state_{}, status_message_{};
  uint8_t attribute_count_ = 0;
  std::array<SpanAttribute, kMaxAttributes> attributes_;  // the first attribute_count_ are set
  std::string text_;
};

// What every request of one exporter shares: the Resource and the InstrumentationScope.
struct ExportHeader {
  std::vector<Attribute> resource_attributes;  // service.name included by the caller
  std::string scope_name = "portico";
  std::string scope_version;
};

// One ResourceSpans with one ScopeSpans holding `spans`, appended to `out`. The protobuf encoder
// sizes every nested message first and writes once into `out` (grown once), so a caller that
// reuses `out` across batches allocates nothing in steady state.
void encode_protobuf(const ExportHeader& header, std::span<const Span> spans, std::string& out);
// The same bytes, written over the start of `buf` instead (grown when too small, never shrunk;
// what lies past the returned length is left as it was): for a caller that reuses one buffer,
// nothing is allocated or zero-filled in steady state. Returns the encoded length.
size_t encode_protobuf_over(const ExportHeader& header, std::span<const Span> spans, std::string& buf);
void encode_json(const ExportHeader& header, std::span<const Span> spans, std::string& out);

}  // namespace portico::observability
