// OTLP encoding: the protobuf bytes are decoded by protoc (an independent decoder) with a
// test-only schema carrying the protocol's field numbers; the JSON is parsed with Boost.JSON.
#include "observability/otlp.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "filters/opentelemetry/span_builder.h"

namespace portico::observability {
namespace {

// A span is written by calls on a SpanWriter; a test span is those calls, so the same span can be
// written in both encodings.
using SpanScript = std::function<void(SpanWriter&)>;

SpanScript server_span(std::string extra_key = {}, std::string extra_value = {}) {
  return [=](SpanWriter& w) {
    SpanStart s;
    std::memcpy(s.trace_id.data(), "ABCDEFGHIJKLMNOP", 16);
    std::memcpy(s.span_id.data(), "spanid01", 8);
    std::memcpy(s.parent_span_id.data(), "parent01", 8);
    s.trace_state = "rojo=00f067aa0ba902b7";
    s.name = "GET";
    s.kind = SpanKind::kServer;
    s.start_unix_nano = 1700000000123456789ull;
    s.end_unix_nano = 1700000000223456789ull;
    w.begin(s);
    w.add_string("http.request.method", "GET");
    w.add_int("http.response.status_code", 503);
    w.add_int("negative", -5);
    if (!extra_key.empty()) w.add_string(extra_key, extra_value);
    w.set_status(StatusCode::kError, "upstream failed");
  };
}

SpanScript client_span(bool root = false) {
  return [=](SpanWriter& w) {
    SpanStart s;
    std::memcpy(s.trace_id.data(), "ABCDEFGHIJKLMNOP", 16);
    std::memcpy(s.span_id.data(), "spanid02", 8);
    if (!root) std::memcpy(s.parent_span_id.data(), "spanid01", 8);
    s.name = "GET";
    s.kind = SpanKind::kClient;
    s.start_unix_nano = 1;
    s.end_unix_nano = 2;
    w.begin(s);
  };
}

ExportHeader header() {
  ExportHeader h;
  h.resource_attributes = {{"service.name", "portico"}, {"deployment.environment", "test"}};
  h.scope_version = "0.1.0";
  return h;
}

// The request body for `spans`, written with one writer (reused span to span) into `batch`.
std::string encode_with(BatchEncoder& batch, SpanWriter& writer, const std::vector<SpanScript>& spans) {
  batch.clear();
  for (const auto& script : spans) {
    script(writer);
    batch.add(writer.finish());
  }
  return std::string(batch.finish());
}

std::string encode(const std::vector<SpanScript>& spans, OtlpEncoding encoding = OtlpEncoding::kProtobuf,
                   const ExportHeader& h = header()) {
  BatchEncoder batch(encoding, h);
  SpanWriter writer(encoding);
  return encode_with(batch, writer, spans);
}

// How many times `needle` occurs in `text`.
size_t occurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

std::string run_protoc(const std::string& bytes) {
  // ctest runs tests as parallel processes: one file name per process and test.
  std::string base = ::testing::TempDir() + "/otlp_" + std::to_string(::getpid()) + "_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string in_path = base + ".bin";
  {
    std::ofstream f(in_path, std::ios::binary);
    f << bytes;
  }
  std::string out_path = base + ".txt";
  std::string cmd = std::string(PROTOC_PROGRAM) + " --decode=otlp_test.ExportTraceServiceRequest -I " +
                    OTLP_TEST_PROTO_DIR + " " + OTLP_TEST_PROTO_DIR + "/otlp_trace.proto < " + in_path +
                    " > " + out_path + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream f(out_path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(rc, 0) << ss.str();
  std::remove(in_path.c_str());
  std::remove(out_path.c_str());
  return ss.str();
}

TEST(OtlpProtobuf, DecodesWithAnIndependentDecoder) {
  if (std::string(PROTOC_PROGRAM).empty()) GTEST_SKIP() << "protoc not installed";
  std::string text = run_protoc(encode({server_span(), client_span()}));
  const char* expected = R"(resource_spans {
  resource {
    attributes {
      key: "service.name"
      value {
        string_value: "portico"
      }
    }
    attributes {
      key: "deployment.environment"
      value {
        string_value: "test"
      }
    }
  }
  scope_spans {
    scope {
      name: "portico"
      version: "0.1.0"
    }
    spans {
      trace_id: "ABCDEFGHIJKLMNOP"
      span_id: "spanid01"
      trace_state: "rojo=00f067aa0ba902b7"
      parent_span_id: "parent01"
      name: "GET"
      kind: SPAN_KIND_SERVER
      start_time_unix_nano: 1700000000123456789
      end_time_unix_nano: 1700000000223456789
      attributes {
        key: "http.request.method"
        value {
          string_value: "GET"
        }
      }
      attributes {
        key: "http.response.status_code"
        value {
          int_value: 503
        }
      }
      attributes {
        key: "negative"
        value {
          int_value: -5
        }
      }
      status {
        message: "upstream failed"
        code: STATUS_CODE_ERROR
      }
    }
    spans {
      trace_id: "ABCDEFGHIJKLMNOP"
      span_id: "spanid02"
      parent_span_id: "spanid01"
      name: "GET"
      kind: SPAN_KIND_CLIENT
      start_time_unix_nano: 1
      end_time_unix_nano: 2
    }
  }
}
)";
  EXPECT_EQ(text, expected);
}

TEST(OtlpProtobuf, RootSpanHasNoParentField) {
  if (std::string(PROTOC_PROGRAM).empty()) GTEST_SKIP() << "protoc not installed";
  std::string text = run_protoc(encode({client_span(/*root=*/true)}));
  EXPECT_EQ(text.find("parent_span_id"), std::string::npos) << text;
  EXPECT_NE(text.find("span_id: \"spanid02\""), std::string::npos) << text;
}

// The exporter's path: one batch encoder and one writer reused across batches of different sizes
// (and after a span far longer than the rest) give exactly the bytes of fresh ones, in both
// encodings.
TEST(OtlpBatch, ReusedEncoderAndWriterGiveTheSameBytes) {
  for (OtlpEncoding encoding : {OtlpEncoding::kProtobuf, OtlpEncoding::kJson}) {
    BatchEncoder batch(encoding, header());
    SpanWriter writer(encoding);
    const std::vector<SpanScript> all = {server_span(), client_span(), server_span("long", std::string(5000, 'x')),
                                         server_span()};
    for (size_t n : {4u, 1u, 2u, 4u, 3u}) {
      std::vector<SpanScript> spans(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_EQ(encode_with(batch, writer, spans), encode(spans, encoding)) << n;
    }
  }
}

// A writer's span is one ScopeSpans.spans field: tag 0x12, its length, the Span; a batch is its
// spans' bytes as they are, behind the Resource and the scope.
TEST(OtlpBatch, SpansAreCarriedAsWritten) {
  SpanWriter writer;
  server_span()(writer);
  const std::string span(writer.finish());
  ASSERT_GE(span.size(), 3u);
  EXPECT_EQ(span[0], 0x12);
  // A two-byte length: the span is 128..16383 bytes.
  const auto b1 = static_cast<unsigned char>(span[1]), b2 = static_cast<unsigned char>(span[2]);
  ASSERT_TRUE((b1 & 0x80) != 0 && (b2 & 0x80) == 0);
  EXPECT_EQ(static_cast<size_t>((b1 & 0x7f) | b2 << 7), span.size() - 3);
  const std::string body = encode({server_span(), server_span()});
  EXPECT_EQ(body.substr(body.size() - 2 * span.size()), span + span);
}

TEST(OtlpProtobuf, LongValuesAndManySpansEncode) {
  if (std::string(PROTOC_PROGRAM).empty()) GTEST_SKIP() << "protoc not installed";
  // Lengths of two and three varint bytes, and a batch whose size needs a three-byte length.
  std::string long_path(300, 'p'), longer(20000, 'q');
  std::vector<SpanScript> spans(40, client_span());
  spans[0] = server_span("url.path", long_path);
  spans[1] = server_span("big", longer);
  std::string text = run_protoc(encode(spans));
  EXPECT_NE(text.find("string_value: \"" + long_path + "\""), std::string::npos);
  EXPECT_NE(text.find("string_value: \"" + longer + "\""), std::string::npos);
  EXPECT_EQ(occurrences(text, "span_id: \"spanid02\""), 38u);
}

// Attribute keys and values at the edges of the one-byte-length fast path (key + value = 121
// bytes) and past it, and integers of every varint size, read back by protoc.
TEST(OtlpProtobuf, LengthsAroundTheFastPathDecode) {
  if (std::string(PROTOC_PROGRAM).empty()) GTEST_SKIP() << "protoc not installed";
  std::vector<SpanScript> spans;
  for (size_t v : {0u, 1u, 100u, 101u, 102u, 121u, 122u, 200u}) {
    spans.push_back([v](SpanWriter& w) {
      client_span()(w);
      w.add_string("k123456789abcdefghij", std::string(v, 'v'));
      w.add_string(std::string(130, 'K'), "x");
    });
  }
  spans.push_back([](SpanWriter& w) {
    client_span()(w);
    w.add_int("zero", 0);
    w.add_int("max", INT64_MAX);
    w.add_int("min", INT64_MIN);
    w.add_int(std::string(200, 'n'), 300);
  });
  std::string text = run_protoc(encode(spans));
  for (size_t v : {0u, 1u, 100u, 101u, 102u, 121u, 122u, 200u}) {
    EXPECT_NE(text.find("key: \"k123456789abcdefghij\"\n        value {\n          string_value: \"" +
                        std::string(v, 'v') + "\"\n"),
              std::string::npos)
        << v;
  }
  EXPECT_NE(text.find("int_value: 9223372036854775807"), std::string::npos) << text;
  EXPECT_NE(text.find("int_value: -9223372036854775808"), std::string::npos) << text;
  EXPECT_NE(text.find("int_value: 300"), std::string::npos) << text;
  EXPECT_NE(text.find("key: \"" + std::string(130, 'K') + "\""), std::string::npos);
}

// Byte for byte, worked out by hand from the field numbers: the canonical encoding (shortest
// varints, fields in field-number order, attributes in the order added).
TEST(OtlpProtobuf, ExactBytesOfASmallRequest) {
  ExportHeader h;
  h.resource_attributes.emplace_back("k", "v");
  h.scope_name = "s";
  h.scope_version = "";
  const std::string bytes = encode({[](SpanWriter& w) {
                                      SpanStart s;
                                      s.trace_id.fill(0x11);
                                      s.span_id.fill(0x22);
                                      s.name = "n";
                                      s.kind = SpanKind::kServer;
                                      s.start_unix_nano = 1;
                                      s.end_unix_nano = 2;
                                      w.begin(s);
                                      w.add_int("a", 5);
                                    }},
                                   OtlpEncoding::kProtobuf, h);
  std::string expected;
  auto add = [&](std::initializer_list<int> b) {
    for (int c : b) expected += static_cast<char>(c);
  };
  add({0x0a, 0x51});                                      // resource_spans, 81 bytes
  add({0x0a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 'k', 0x12, 0x03, 0x0a, 0x01, 'v'});  // resource {k: "v"}
  add({0x12, 0x43});                                      // scope_spans, 67 bytes
  add({0x0a, 0x03, 0x0a, 0x01, 's'});                     // scope {name: "s"}
  add({0x12, 0x3c});                                      // span, 60 bytes
  add({0x0a, 0x10});
  expected += std::string(16, '\x11');                    // trace_id
  add({0x12, 0x08});
  expected += std::string(8, '\x22');                     // span_id
  add({0x2a, 0x01, 'n', 0x30, 0x02});                     // name, kind
  add({0x39, 1, 0, 0, 0, 0, 0, 0, 0, 0x41, 2, 0, 0, 0, 0, 0, 0, 0});  // start, end (fixed64)
  add({0x4a, 0x07, 0x0a, 0x01, 'a', 0x12, 0x02, 0x18, 0x05});         // attributes {a: 5}
  EXPECT_EQ(bytes, expected);
}

// A batch far larger than the buffers' first sizes: every span is there.
TEST(OtlpProtobuf, LargeBatchesEncodeWhole) {
  const std::string path(1000, '/');
  std::vector<SpanScript> spans(300, server_span("long.path", path));
  const std::string body = encode(spans);
  EXPECT_GT(body.size(), 300u * 1000u);
  if (std::string(PROTOC_PROGRAM).empty()) GTEST_SKIP() << "protoc not installed";
  std::string text = run_protoc(body);
  EXPECT_EQ(occurrences(text, "key: \"long.path\""), 300u);
}

// Client bytes that are not UTF-8 (a Latin-1 User-Agent, a cut sequence, an overlong '/', a
// surrogate) reach the collector as U+FFFD, one per maximal ill-formed subsequence, in both
// encodings; valid multi-byte text passes unchanged.
TEST(OtlpText, IllFormedUtf8BecomesReplacementCharacters) {
  const std::string bad = "caf\xE9 \xE2\x82 \xC0\xAF \xED\xA0\x80 \xF0\x9F\x98\x80 \xC3\xA9";
  const std::string want = "caf\uFFFD \uFFFD \uFFFD\uFFFD \uFFFD\uFFFD\uFFFD \U0001F600 \u00E9";
  SpanWriter writer;
  client_span()(writer);
  writer.add_string("user_agent.original", bad);
  const std::string span(writer.finish());
  EXPECT_NE(span.find(want), std::string::npos);
  EXPECT_EQ(span.find("\xE9 "), std::string::npos);

  auto doc = boost::json::parse(encode({[&](SpanWriter& w) {
                                           client_span()(w);
                                           w.add_string("user_agent.original", bad);
                                         }},
                                        OtlpEncoding::kJson));
  const auto& attrs = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).at("attributes");
  EXPECT_EQ(attrs.at(0).at("value").at("stringValue").as_string(), want);
}

// The opentelemetry plugin's spans in the default encoding, as a collector reads them: the
// builder's calls go through the protobuf fast paths (and one slow path: a non-ASCII User-Agent).
TEST(OtlpProtobuf, RequestSpansFromTheBuilderDecode) {
  if (std::string(PROTOC_PROGRAM).empty()) GTEST_SKIP() << "protoc not installed";
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  x.request.method = "POST";
  x.request.path = "/api/v1/orders/12345";
  x.request.scheme = "http";
  x.request.host = "api.example.com:8080";
  x.request.client_ip = "10.1.2.3";
  x.request.client_port = 50000;
  x.request.headers.add("user-agent", "caf\xC3\xA9-client/1.0");
  x.route_name = "orders";
  x.service_name = "orders-svc";
  x.status_sent = 503;
  x.upstream_attempts = 1;
  const auto t0 = core::MonoClock::now();
  x.timings.start = t0;
  x.timings.end = t0 + std::chrono::milliseconds(2);
  x.trace.active = x.trace.sampled = true;
  std::memcpy(x.trace.trace_id.data(), "ABCDEFGHIJKLMNOP", 16);
  std::memcpy(x.trace.span_id.data(), "spanid01", 8);
  x.trace.add_attempt(t0, t0 + std::chrono::milliseconds(1), "10.0.0.2:9000", 0, "connect-failure");
  struct Collect final : filters::SpanSink {
    BatchEncoder batch{OtlpEncoding::kProtobuf, header()};
    void emit(std::string_view span) override { batch.add(span); }
  } sink;
  SpanWriter writer;
  filters::build_request_spans(x, t0 + std::chrono::milliseconds(2), 1'700'000'000'000'000'000ull, writer, sink);
  ASSERT_EQ(sink.batch.size(), 2u);
  const std::string text = run_protoc(std::string(sink.batch.finish()));
  auto has_string = [&](std::string_view key, std::string_view value) {
    return text.find("key: \"" + std::string(key) + "\"\n        value {\n          string_value: \"" +
                     std::string(value) + "\"") != std::string::npos;
  };
  auto has_int = [&](std::string_view key, int64_t value) {
    return text.find("key: \"" + std::string(key) + "\"\n        value {\n          int_value: " +
                     std::to_string(value) + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has_string("http.request.method", "POST")) << text;
  EXPECT_TRUE(has_string("url.path", "/api/v1/orders/12345"));
  EXPECT_TRUE(has_string("server.address", "api.example.com"));
  EXPECT_TRUE(has_int("server.port", 8080));
  EXPECT_TRUE(has_string("client.address", "10.1.2.3"));
  EXPECT_TRUE(has_int("network.peer.port", 50000));
  EXPECT_TRUE(has_string("user_agent.original", "caf\\303\\251-client/1.0")) << text;  // protoc prints octal
  EXPECT_TRUE(has_int("http.response.status_code", 503));
  EXPECT_TRUE(has_string("http.route", "orders"));
  EXPECT_TRUE(has_string("portico.service", "orders-svc"));
  EXPECT_TRUE(has_string("error.type", "503"));
  EXPECT_TRUE(has_string("server.address", "10.0.0.2"));
  EXPECT_TRUE(has_int("server.port", 9000));
  EXPECT_TRUE(has_string("error.type", "connect-failure"));
  EXPECT_NE(text.find("kind: SPAN_KIND_SERVER"), std::string::npos);
  EXPECT_NE(text.find("kind: SPAN_KIND_CLIENT"), std::string::npos);
  EXPECT_NE(text.find("parent_span_id: \"spanid01\""), std::string::npos);
  EXPECT_NE(text.find("message: \"connect-failure\""), std::string::npos);
}

TEST(OtlpJson, FollowsTheJsonMapping) {
  std::string text = encode({server_span("quote\"d", "a\\b\n"), client_span(/*root=*/true)}, OtlpEncoding::kJson);
  boost::json::error_code ec;
  boost::json::value doc = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  const auto& rs = doc.at("resourceSpans").as_array().at(0);
  const auto& res_attrs = rs.at("resource").at("attributes").as_array();
  ASSERT_EQ(res_attrs.size(), 2u);
  EXPECT_EQ(res_attrs[0].at("key").as_string(), "service.name");
  EXPECT_EQ(res_attrs[0].at("value").at("stringValue").as_string(), "portico");
  const auto& ss = rs.at("scopeSpans").as_array().at(0);
  EXPECT_EQ(ss.at("scope").at("name").as_string(), "portico");
  EXPECT_EQ(ss.at("scope").at("version").as_string(), "0.1.0");
  const auto& s0 = ss.at("spans").as_array().at(0);
  EXPECT_EQ(s0.at("traceId").as_string(), "4142434445464748494a4b4c4d4e4f50");
  EXPECT_EQ(s0.at("spanId").as_string(), "7370616e69643031");
  EXPECT_EQ(s0.at("parentSpanId").as_string(), "706172656e743031");
  EXPECT_EQ(s0.at("traceState").as_string(), "rojo=00f067aa0ba902b7");
  EXPECT_EQ(s0.at("name").as_string(), "GET");
  EXPECT_EQ(s0.at("kind").as_int64(), 2);
  EXPECT_EQ(s0.at("startTimeUnixNano").as_string(), "1700000000123456789");
  EXPECT_EQ(s0.at("endTimeUnixNano").as_string(), "1700000000223456789");
  const auto& attrs = s0.at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 4u);
  EXPECT_EQ(attrs[0].at("key").as_string(), "http.request.method");
  EXPECT_EQ(attrs[0].at("value").at("stringValue").as_string(), "GET");
  EXPECT_EQ(attrs[1].at("value").at("intValue").as_string(), "503");
  EXPECT_EQ(attrs[2].at("value").at("intValue").as_string(), "-5");
  EXPECT_EQ(attrs[3].at("key").as_string(), "quote\"d");
  EXPECT_EQ(attrs[3].at("value").at("stringValue").as_string(), "a\\b\n");
  EXPECT_EQ(s0.at("status").at("code").as_int64(), 2);
  EXPECT_EQ(s0.at("status").at("message").as_string(), "upstream failed");
  const auto& s1 = ss.at("spans").as_array().at(1);
  EXPECT_FALSE(s1.as_object().contains("parentSpanId"));
  EXPECT_FALSE(s1.as_object().contains("traceState"));
  EXPECT_EQ(s1.at("kind").as_int64(), 3);
  EXPECT_TRUE(s1.at("attributes").as_array().empty());
  EXPECT_TRUE(s1.at("status").as_object().empty());
}

}  // namespace
}  // namespace portico::observability
