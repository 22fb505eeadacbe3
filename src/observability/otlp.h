// OTLP trace encoding: a Span model and encoders for ExportTraceServiceRequest in the two OTLP/HTTP
// encodings, binary protobuf (application/x-protobuf) and JSON (application/json).
//
// Contract: pure functions, callable from any thread; they only append to `out` (but
// encode_protobuf_over, which writes over a reused buffer, and encode_protobuf_view, which returns
// a view of the calling thread's scratch buffer). The protobuf
// encoding is written by hand with the field numbers of opentelemetry/proto (collector/trace/v1,
// trace/v1, resource/v1, common/v1); the JSON follows the OTLP/JSON mapping: lowerCamelCase field
// names, trace and span ids as lower-case hex, enums as integers, 64-bit integers as strings.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
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

// A span's text, kInline bytes of it inside the span itself and a heap buffer beyond that: most
// spans allocate nothing, and a span taken apart on the exporter thread hands no memory back to a
// worker's heap (a cross-thread free is the dearest kind). Moving an inline text copies its bytes;
// moving a heap text steals the buffer. A moved-from text is empty.
class SpanText {
 public:
  static constexpr size_t kInline = 160;

  SpanText() noexcept {}
  SpanText(const SpanText& o) { append(std::string_view(o.data(), o.size_)); }
  SpanText(SpanText&& o) noexcept { take(o); }
  SpanText& operator=(const SpanText& o) {
    if (this != &o) {
      size_ = 0;
      append(std::string_view(o.data(), o.size_));
    }
    return *this;
  }
  SpanText& operator=(SpanText&& o) noexcept {
    if (this != &o) take(o);
    return *this;
  }

  const char* data() const { return heap_ ? heap_.get() : inline_; }
  size_t size() const { return size_; }
  void reserve(size_t n) {
    if (n > capacity()) grow(n);
  }
  void append(std::string_view s) {
    if (size_ + s.size() > capacity()) grow(size_ + s.size());
    char* d = (heap_ ? heap_.get() : inline_) + size_;
    const char* from = s.data();
    const size_t n = s.size();
    // Most pieces are short (a method, an address, a route name): two overlapping fixed-size
    // copies, reading and writing exactly [0, n), instead of a call.
    if (n >= 16 && n <= 32) {
      std::memcpy(d, from, 16);
      std::memcpy(d + n - 16, from + n - 16, 16);
    } else if (n >= 8 && n < 16) {
      std::memcpy(d, from, 8);
      std::memcpy(d + n - 8, from + n - 8, 8);
    } else if (n >= 4 && n < 8) {
      std::memcpy(d, from, 4);
      std::memcpy(d + n - 4, from + n - 4, 4);
    } else if (n < 4) {
      for (size_t i = 0; i < n; ++i) d[i] = from[i];
    } else {
      std::memcpy(d, from, n);
    }
    size_ += static_cast<uint32_t>(n);
  }
  void clear() { size_ = 0; }

 private:
  size_t capacity() const { return heap_ ? heap_capacity_ : kInline; }
  void grow(size_t n) {
    const size_t cap = std::max(n, 2 * capacity());
    std::unique_ptr<char[]> buffer(new char[cap]);
    if (size_ != 0) std::memcpy(buffer.get(), data(), size_);
    heap_ = std::move(buffer);
    heap_capacity_ = static_cast<uint32_t>(cap);
  }
  void take(SpanText& o) noexcept {
    if (o.heap_) {
      heap_ = std::move(o.heap_);
      heap_capacity_ = o.heap_capacity_;
    } else {
      // Fits: our capacity is at least kInline.
      char* d = heap_ ? heap_.get() : inline_;
      if (o.size_ != 0) std::memcpy(d, o.inline_, o.size_);
    }
    size_ = o.size_;
    o.size_ = 0;
  }

  std::unique_ptr<char[]> heap_;
  uint32_t size_ = 0;
  uint32_t heap_capacity_ = 0;
  char inline_[kInline];
};

// A finished span, built on a worker and moved through the exporter's queue.
//
// Contract: no allocation per attribute: attributes sit in a fixed inline array (kMaxAttributes;
// add_* beyond it are dropped, debug-asserted) and all request-scoped text is copied into the
// span's SpanText (no allocation up to SpanText::kInline bytes; reserve_text() once to make a
// longer text one allocation). Attribute keys must be string
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
  size_t text_size() const { return text_.size(); }

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
  SpanText text_;
};

// What every request of one exporter shares: the Resource and the InstrumentationScope.
struct ExportHeader {
  std::vector<Attribute> resource_attributes;  // service.name included by the caller
  std::string scope_name = "portico";
  std::string scope_version;
};

// One ResourceSpans with one ScopeSpans holding `spans`, appended to `out`. The protobuf encoder
// writes backwards, last field first, into a per-thread scratch buffer (kept from one batch to
// the next), so each message's length is known when its header is written and one pass gives the
// canonical bytes; they are then copied into `out` (grown once). A caller that reuses `out` across
// batches allocates nothing in steady state; encode_protobuf_view skips the copy.
void encode_protobuf(const ExportHeader& header, std::span<const Span> spans, std::string& out);
// The same bytes, written over the start of `buf` instead (grown when too small, never shrunk;
// what lies past the returned length is left as it was): for a caller that reuses one buffer,
// nothing is allocated or zero-filled in steady state. Returns the encoded length.
size_t encode_protobuf_over(const ExportHeader& header, std::span<const Span> spans, std::string& buf);
// The same bytes without a copy: a view of the calling thread's scratch buffer, valid until that
// thread encodes again (the exporter thread POSTs it straight from there).
std::string_view encode_protobuf_view(const ExportHeader& header, std::span<const Span> spans);
void encode_json(const ExportHeader& header, std::span<const Span> spans, std::string& out);

}  // namespace portico::observability
