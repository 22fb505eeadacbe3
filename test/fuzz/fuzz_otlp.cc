// libFuzzer target for the OTLP span encoding (observability/otlp.h) and the UTF-8 sanitizer
// (core/utf8.h). The input is a client-controlled string (a path, a User-Agent); it becomes a
// span's name, a string attribute under a key whose length comes from the first byte, and the
// status message. Checked:
// - sanitizing gives valid UTF-8, and changes exactly the inputs that are not valid UTF-8;
// - the protobuf span reads back with a strict wire-format reader: every length in bounds and
//   consistent, every string equal to the sanitized input, the integer attribute intact; a batch
//   of two such spans has consistent outer lengths;
// - the JSON span and batch parse as JSON and carry the sanitized input.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "core/utf8.h"
#include "observability/otlp.h"

namespace {

namespace obs = portico::observability;

void check(bool ok) {
  if (!ok) std::abort();
}

// A strict reader of protobuf wire format over one message.
struct Reader {
  std::string_view in;
  size_t at = 0;
  bool done() const { return at == in.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      check(at < in.size());
      const auto b = static_cast<unsigned char>(in[at++]);
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    std::abort();
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    check(n <= in.size() - at);
    std::string_view s = in.substr(at, n);
    at += n;
    return s;
  }
};

void check_protobuf_span(std::string_view span, std::string_view key, std::string_view text, int64_t number) {
  Reader outer{span};
  check(outer.varint() == (2 << 3 | 2));  // ScopeSpans.spans
  Reader r{outer.bytes()};
  check(outer.done());
  int attributes = 0;
  bool status = false;
  while (!r.done()) {
    const uint64_t tag = r.varint();
    const uint64_t field = tag >> 3, wire = tag & 7;
    if (wire == 1) {  // fixed64: the times
      check(field == 7 || field == 8);
      check(r.in.size() - r.at >= 8);
      r.at += 8;
    } else if (wire == 0) {
      check(field == 6);
      r.varint();
    } else {
      check(wire == 2);
      const std::string_view payload = r.bytes();
      if (field == 1) check(payload.size() == 16);
      if (field == 2 || field == 4) check(payload.size() == 8);
      if (field == 5) check(payload == text);
      if (field == 9) {
        Reader kv{payload};
        check(kv.varint() == (1 << 3 | 2) && kv.bytes() == key);
        check(kv.varint() == (2 << 3 | 2));
        Reader any{kv.bytes()};
        check(kv.done());
        const uint64_t t = any.varint();
        if (t == (1 << 3 | 2)) {
          check(any.bytes() == text);
        } else {
          check(t == (3 << 3 | 0) && static_cast<int64_t>(any.varint()) == number);
        }
        check(any.done());
        ++attributes;
      }
      if (field == 15) {
        Reader st{payload};
        if (!text.empty()) check(st.varint() == (2 << 3 | 2) && st.bytes() == text);
        check(st.varint() == (3 << 3 | 0) && st.varint() == 2);
        check(st.done());
        status = true;
      }
    }
  }
  check(attributes == 2 && status);
}

void write_span(obs::SpanWriter& w, std::string_view key, std::string_view value, int64_t number) {
  obs::SpanStart s;
  s.trace_id.fill(1);
  s.span_id.fill(2);
  s.parent_span_id.fill(3);
  s.kind = obs::SpanKind::kServer;
  s.name = value;
  w.begin(s);
  w.add_string(key, value);
  w.add_int(key, number);
  w.set_status(obs::StatusCode::kError, value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string key(data[0], 'k');
  int64_t number = 0;
  std::memcpy(&number, data, std::min(size, sizeof number));
  const std::string_view value(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string sanitized;
  portico::core::append_utf8_sanitized(sanitized, value);
  check(portico::core::is_valid_utf8(sanitized));
  check(portico::core::is_valid_utf8(value) == (sanitized == value));
  check(portico::core::is_ascii(value) ==
        std::all_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));

  obs::ExportHeader header;
  header.resource_attributes = {{"service.name", std::string(value)}};
  {
    obs::SpanWriter w(obs::OtlpEncoding::kProtobuf);
    write_span(w, key, value, number);
    const std::string span(w.finish());
    check_protobuf_span(span, key, sanitized, number);
    obs::BatchEncoder batch(obs::OtlpEncoding::kProtobuf, header);
    batch.add(span);
    batch.add(span);
    Reader request{batch.finish()};
    check(request.varint() == (1 << 3 | 2));
    Reader resource_spans{request.bytes()};
    check(request.done());
    check(resource_spans.varint() == (1 << 3 | 2));
    resource_spans.bytes();  // the Resource
    check(resource_spans.varint() == (2 << 3 | 2));
    Reader scope_spans{resource_spans.bytes()};
    check(resource_spans.done());
    check(scope_spans.varint() == (1 << 3 | 2));
    scope_spans.bytes();  // the scope
    check(scope_spans.in.substr(scope_spans.at) == span + span);
  }
  {
    obs::SpanWriter w(obs::OtlpEncoding::kJson);
    write_span(w, key, value, number);
    obs::BatchEncoder batch(obs::OtlpEncoding::kJson, header);
    batch.add(w.finish());
    boost::json::error_code ec;
    const boost::json::value doc = boost::json::parse(batch.finish(), ec);
    check(!ec);
    const auto& span = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
    check(span.at("name").as_string() == sanitized);
    check(span.at("attributes").at(0).at("value").at("stringValue").as_string() == sanitized);
    check(span.at("attributes").at(1).at("value").at("intValue").as_string() == std::to_string(number));
  }
  return 0;
}
