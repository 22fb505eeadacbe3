// OTLP trace encoding, written straight from the request's data: a SpanWriter encodes one span at
// a time in one of OTLP/HTTP's two encodings, binary protobuf (application/x-protobuf) or JSON
// (application/json), and a BatchEncoder puts encoded spans into one ExportTraceServiceRequest.
//
// Why spans are encoded where they end (on the worker) and not kept as objects: a span object
// built on the worker, moved through the exporter's queue and encoded there cost three times the
// instructions of encoding it once; encoded bytes move through the queue as one copy and are
// appended to the request body as another.
//
// Contract: no locks, callable from any thread; a writer or a batch belongs to one thread at a
// time. The protobuf encoding is written by hand with the field numbers of opentelemetry/proto
// (collector/trace/v1, trace/v1, resource/v1, common/v1), canonically: shortest varints, fields in
// field-number order, attributes in the order added. The JSON follows the OTLP/JSON mapping:
// lowerCamelCase field names, trace and span ids as lower-case hex, enums as integers, 64-bit
// integers as strings. Every string written is valid UTF-8: ill-formed bytes from a client (a
// path, a User-Agent) become U+FFFD, as a collector may refuse a whole batch for one bad byte.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/utf8.h"
#include "observability/trace_context.h"

namespace portico::observability {

// OTLP's Span.SpanKind values.
enum class SpanKind : uint8_t { kUnspecified = 0, kInternal = 1, kServer = 2, kClient = 3 };
// OTLP's Status.StatusCode values.
enum class StatusCode : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

enum class OtlpEncoding : uint8_t { kProtobuf, kJson };

// What every request of one exporter shares: the Resource and the InstrumentationScope.
struct ExportHeader {
  std::vector<std::pair<std::string, std::string>> resource_attributes;  // service.name included by the caller
  std::string scope_name = "portico";
  std::string scope_version;
};

// A span's fields that come before its attributes.
struct SpanStart {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all-zero: a root span (no parent field is written)
  SpanKind kind = SpanKind::kInternal;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  std::string_view name;
  std::string_view trace_state;  // a validated tracestate (printable ASCII) or empty
};

// Writes one span at a time: begin(), any number of add_*(), at most one set_status(), finish().
// The buffer is the writer's own and is reused from span to span (no allocation in steady state);
// what finish() returns is valid until the next begin(). Protobuf: finish() gives the span as a
// ScopeSpans `spans` field (tag, length, Span); JSON: one span object.
class SpanWriter {
 public:
  explicit SpanWriter(OtlpEncoding encoding = OtlpEncoding::kProtobuf) : encoding_(encoding) {}
  SpanWriter(const SpanWriter&) = delete;
  SpanWriter& operator=(const SpanWriter&) = delete;

  OtlpEncoding encoding() const { return encoding_; }

  void begin(const SpanStart& s);
  // Keys are attribute names (ASCII, at most 255 bytes); values are any bytes.
  inline void add_string(std::string_view key, std::string_view value);
  inline void add_int(std::string_view key, int64_t value);
  // After the attributes.
  void set_status(StatusCode code, std::string_view message = {});
  std::string_view finish();

 private:
  static constexpr size_t kHeadroom = 6;  // the Span field's tag and length, written last

  void room(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) [[unlikely]] grow(n);
  }
  void grow(size_t n);
  void put_string_field(char tag, std::string_view text);  // any length, valid UTF-8 by then
  void add_string_slow(std::string_view key, std::string_view value);
  void json_add_string(std::string_view key, std::string_view value);
  void json_add_int(std::string_view key, int64_t value);
  void json_key(std::string_view key);

  OtlpEncoding encoding_;
  std::unique_ptr<char[]> buf_;
  char* p_ = nullptr;    // protobuf: the write position
  char* end_ = nullptr;  // protobuf: the end of buf_
  std::string json_;     // JSON: the span object so far
  bool json_first_attribute_ = true;
  bool json_status_ = false;
  std::string utf8_scratch_;
};

// Puts spans encoded by SpanWriters (of the same encoding) into one ExportTraceServiceRequest:
// one ResourceSpans with one ScopeSpans. The Resource and the scope are encoded once, at
// construction; a batch is the spans appended behind room kept for them, so finish() copies no
// span. Reused from batch to batch, it allocates nothing in steady state.
class BatchEncoder {
 public:
  BatchEncoder(OtlpEncoding encoding, const ExportHeader& header);

  void clear();
  void add(std::string_view encoded_span);
  size_t size() const { return count_; }
  // The request body; valid until the next clear() or add(). Ends the batch: clear() before the
  // next add().
  std::string_view finish();
  std::string_view content_type() const;

 private:
  OtlpEncoding encoding_;
  std::string resource_;  // protobuf: the Resource field; JSON: the text before the first span
  std::string scope_;     // protobuf: the InstrumentationScope field
  size_t headroom_ = 0;   // room before the spans for what finish() writes there
  std::vector<char> buf_;
  size_t end_ = 0;        // bytes of buf_ in use (headroom included)
  size_t count_ = 0;
};

// --- inline protobuf fast paths --------------------------------------------------------------

namespace otlp_detail {

// Copies n bytes: short runs (attribute keys and most values) as two overlapping fixed-size
// copies instead of a call.
[[gnu::always_inline]] inline void copy_bytes(char* dst, const char* src, size_t n) {
  if (n >= 16 && n <= 32) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8 && n < 16) {
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

// Copies n bytes and says whether all of them are ASCII: the check rides on the copy's own loads
// (a value is read once). Nothing is read or written outside [0, n).
[[gnu::always_inline]] inline bool copy_ascii(char* dst, const char* src, size_t n) {
  constexpr uint64_t kHigh8 = 0x8080808080808080ull;
  if (n >= 8) {
    uint64_t a, b, acc = 0;
    for (size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&a, src + i, 8);
      std::memcpy(dst + i, &a, 8);
      acc |= a;
    }
    std::memcpy(&b, src + n - 8, 8);  // the last eight (overlapping bytes already copied alike)
    std::memcpy(dst + n - 8, &b, 8);
    return ((acc | b) & kHigh8) == 0;
  }
  if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
    return ((a | b) & 0x80808080u) == 0;
  }
  unsigned acc = 0;
  for (size_t i = 0; i < n; ++i) {
    dst[i] = src[i];
    acc |= static_cast<unsigned char>(src[i]);
  }
  return acc < 0x80;
}

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline char* put_varint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// KeyValue: key = 1, value = 2; AnyValue: string_value = 1, int_value = 3; Span.attributes = 9.
inline constexpr char kAttributesTag = 9 << 3 | 2;
inline constexpr char kKeyTag = 1 << 3 | 2;
inline constexpr char kValueTag = 2 << 3 | 2;
inline constexpr char kStringValueTag = 1 << 3 | 2;
inline constexpr char kIntValueTag = 3 << 3 | 0;

}  // namespace otlp_detail

inline void SpanWriter::add_string(std::string_view key, std::string_view value) {
  using namespace otlp_detail;
  const size_t k = key.size(), v = value.size();
  // Every length below 128 (one byte each) and nothing to sanitize: the common case. A value that
  // turns out not to be ASCII while it is copied is written again by the slow path (p_ has not
  // moved).
  if (encoding_ == OtlpEncoding::kProtobuf && k + v <= 121) [[likely]] {
    room(k + v + 8);
    char* p = p_;
    p[0] = kAttributesTag;
    p[1] = static_cast<char>(k + v + 6);
    p[2] = kKeyTag;
    p[3] = static_cast<char>(k);
    copy_bytes(p + 4, key.data(), k);
    p += 4 + k;
    p[0] = kValueTag;
    p[1] = static_cast<char>(v + 2);
    p[2] = kStringValueTag;
    p[3] = static_cast<char>(v);
    if (copy_ascii(p + 4, value.data(), v)) [[likely]] {
      p_ = p + 4 + v;
      return;
    }
  }
  add_string_slow(key, value);
}

inline void SpanWriter::add_int(std::string_view key, int64_t value) {
  using namespace otlp_detail;
  if (encoding_ != OtlpEncoding::kProtobuf) [[unlikely]] {
    json_add_int(key, value);
    return;
  }
  const size_t k = key.size();
  const auto u = static_cast<uint64_t>(value);  // a negative value takes ten bytes, as protobuf says
  const size_t vs = varint_size(u);
  const size_t any = 1 + vs;                    // AnyValue
  const size_t kv = 2 + k + 2 + any;            // KeyValue (k ≤ 255: its length is one or two bytes)
  room(kv + 16);
  char* p = p_;
  *p++ = kAttributesTag;
  p = put_varint(p, kv + (k >= 0x80 ? 1 : 0));
  *p++ = kKeyTag;
  p = put_varint(p, k);
  copy_bytes(p, key.data(), k);
  p += k;
  *p++ = kValueTag;
  *p++ = static_cast<char>(any);
  *p++ = kIntValueTag;
  p_ = put_varint(p, u);
}

}  // namespace portico::observability
