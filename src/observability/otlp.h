// OTLP trace encoding: a Span model and encoders for ExportTraceServiceRequest in the two OTLP/HTTP
// encodings, binary protobuf (application/x-protobuf) and JSON (application/json).
//
// Contract: pure functions, callable from any thread; they only append to `out`. The protobuf
// encoding is written by hand with the field numbers of opentelemetry/proto (collector/trace/v1,
// trace/v1, resource/v1, common/v1); the JSON follows the OTLP/JSON mapping: lowerCamelCase field
// names, trace and span ids as lower-case hex, enums as integers, 64-bit integers as strings.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "observability/trace_context.h"

namespace portico::observability {

// OTLP's Span.SpanKind values.
enum class SpanKind : uint8_t { kUnspecified = 0, kInternal = 1, kServer = 2, kClient = 3 };
// OTLP's Status.StatusCode values.
enum class StatusCode : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

struct Attribute {
  std::string key;
  std::variant<std::string, int64_t, double, bool> value;
};

struct Span {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all-zero: a root span (no parent field is written)
  std::string trace_state;
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  std::vector<Attribute> attributes;
  StatusCode status_code = StatusCode::kUnset;
  std::string status_message;
};

// What every request of one exporter shares: the Resource and the InstrumentationScope.
struct ExportHeader {
  std::vector<Attribute> resource_attributes;  // service.name included by the caller
  std::string scope_name = "portico";
  std::string scope_version;
};

// One ResourceSpans with one ScopeSpans holding `spans`.
void encode_protobuf(const ExportHeader& header, std::span<const Span> spans, std::string& out);
void encode_json(const ExportHeader& header, std::span<const Span> spans, std::string& out);

}  // namespace portico::observability
