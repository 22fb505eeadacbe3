// OTLP encoders: the protobuf bytes are decoded by protoc (an independent decoder) with a
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
#include <sstream>
#include <string>
#include <vector>

namespace portico::observability {
namespace {

Span server_span() {
  Span s;
  std::memcpy(s.trace_id.data(), "ABCDEFGHIJKLMNOP", 16);
  std::memcpy(s.span_id.data(), "spanid01", 8);
  std::memcpy(s.parent_span_id.data(), "parent01", 8);
  s.set_trace_state("rojo=00f067aa0ba902b7");
  s.set_name("GET");
  s.kind = SpanKind::kServer;
  s.start_unix_nano = 1700000000123456789ull;
  s.end_unix_nano = 1700000000223456789ull;
  s.add_string("http.request.method", "GET");
  s.add_int("http.response.status_code", 503);
  s.add_int("negative", -5);
  s.add_double("ratio", 1.5);
  s.add_bool("flag", true);
  s.status_code = StatusCode::kError;
  s.set_status_message("upstream failed");
  return s;
}

Span client_span() {
  Span s;
  std::memcpy(s.trace_id.data(), "ABCDEFGHIJKLMNOP", 16);
  std::memcpy(s.span_id.data(), "spanid02", 8);
  std::memcpy(s.parent_span_id.data(), "spanid01", 8);
  s.set_name("GET");
  s.kind = SpanKind::kClient;
  s.start_unix_nano = 1;
  s.end_unix_nano = 2;
  return s;
}

ExportHeader header() {
  ExportHeader h;
  h.resource_attributes = {{"service.name", std::string("portico")}, {"deployment.environment", std::string("test")}};
  h.scope_version = "0.1.0";
  return h;
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
  Span spans[] = {server_span(), client_span()};
  std::string bytes;
  encode_protobuf(header(), spans, bytes);
  std::string text = run_protoc(bytes);
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
      attributes {
        key: "ratio"
        value {
          double_value: 1.5
        }
      }
      attributes {
        key: "flag"
        value {
          bool_value: true
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
  Span s = client_span();
  s.parent_span_id = {};
  std::string bytes;
  encode_protobuf(header(), std::span<const Span>(&s, 1), bytes);
  std::string text = run_protoc(bytes);
  EXPECT_EQ(text.find("parent_span_id"), std::string::npos) << text;
  EXPECT_NE(text.find("span_id: \"spanid02\""), std::string::npos) << text;
}

// The exporter's path: one buffer reused across batches of different sizes gives exactly the
// bytes of a fresh encoding, and what lies past the returned length is not part of the request.
TEST(OtlpProtobuf, ReusedBufferGivesTheSameBytes) {
  Span spans[] = {server_span(), client_span(), server_span()};
  std::string buf;
  for (size_t n : {3u, 1u, 2u, 3u}) {
    std::span<const Span> batch(spans, n);
    std::string fresh;
    encode_protobuf(header(), batch, fresh);
    size_t size = encode_protobuf_over(header(), batch, buf);
    ASSERT_EQ(size, fresh.size()) << n;
    EXPECT_EQ(std::string_view(buf.data(), size), fresh) << n;
  }
  std::string prefixed = "xyz";
  encode_protobuf(header(), spans, prefixed);  // appends
  std::string fresh;
  encode_protobuf(header(), spans, fresh);
  EXPECT_EQ(prefixed, "xyz" + fresh);
}

// A span's text travels with it: copies and moves keep every string attribute readable, and an
// attribute value may be shared (client.address / network.peer.address).
TEST(OtlpSpan, TextSurvivesCopiesAndMoves) {
  Span s;
  s.set_name("GET");
  TextRef ip = s.add_text("10.0.0.1");
  s.add_string("client.address", ip);
  s.add_string("network.peer.address", ip);
  s.add_int("n", 7);
  Span copy = s;
  Span moved = std::move(s);
  for (const Span* p : {&copy, &moved}) {
    ASSERT_EQ(p->attributes().size(), 3u);
    EXPECT_EQ(p->name(), "GET");
    EXPECT_EQ(p->string_value(*p->find("client.address")), "10.0.0.1");
    EXPECT_EQ(p->string_value(*p->find("network.peer.address")), "10.0.0.1");
    EXPECT_EQ(p->find("n")->int_value, 7);
    EXPECT_EQ(p->find("absent"), nullptr);
  }
}

TEST(OtlpSpan, LongValuesAndManySpansEncode) {
  if (std::string(PROTOC_PROGRAM).empty()) GTEST_SKIP() << "protoc not installed";
  // Lengths of two and three varint bytes, and a batch whose size needs a three-byte length.
  std::string long_path(300, 'p'), longer(20000, 'q');
  std::vector<Span> spans(40, client_span());
  spans[0].add_string("url.path", long_path);
  spans[1].add_string("big", longer);
  std::string bytes;
  encode_protobuf(header(), spans, bytes);
  std::string text = run_protoc(bytes);
  EXPECT_NE(text.find("string_value: \"" + long_path + "\""), std::string::npos);
  EXPECT_NE(text.find("string_value: \"" + longer + "\""), std::string::npos);
  size_t count = 0;
  for (size_t at = text.find("span_id: \"spanid02\""); at != std::string::npos;
       at = text.find("span_id: \"spanid02\"", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 40u);
}

// Byte for byte, worked out by hand from the field numbers: the canonical encoding (shortest
// varints, fields in field-number order, attributes in the order added).
TEST(OtlpProtobuf, ExactBytesOfASmallRequest) {
  ExportHeader h;
  h.resource_attributes.push_back({"k", std::string("v")});
  h.scope_name = "s";
  h.scope_version = "";
  Span s;
  s.trace_id.fill(0x11);
  s.span_id.fill(0x22);
  s.set_name("n");
  s.kind = SpanKind::kServer;
  s.start_unix_nano = 1;
  s.end_unix_nano = 2;
  s.add_int("a", 5);
  std::string bytes;
  encode_protobuf(h, std::span<const Span>(&s, 1), bytes);
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

// A batch far larger than the encoder's first scratch buffer: the same bytes whether encoded fresh
// or over a reused buffer, and every span is there.
TEST(OtlpProtobuf, LargeBatchesEncodeWhole) {
  std::vector<Span> spans(300, server_span());
  const std::string path(1000, '/');
  for (auto& s : spans) s.add_string("long.path", path);
  std::string fresh, reused(7, 'x');
  encode_protobuf(header(), spans, fresh);
  const size_t size = encode_protobuf_over(header(), spans, reused);
  ASSERT_EQ(size, fresh.size());
  EXPECT_EQ(std::string_view(reused.data(), size), fresh);
  EXPECT_GT(fresh.size(), 300u * 1000u);
  if (std::string(PROTOC_PROGRAM).empty()) GTEST_SKIP() << "protoc not installed";
  std::string text = run_protoc(fresh);
  size_t count = 0;
  for (size_t at = text.find("key: \"long.path\""); at != std::string::npos;
       at = text.find("key: \"long.path\"", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 300u);
}

TEST(OtlpJson, FollowsTheJsonMapping) {
  Span spans[] = {server_span(), client_span()};
  spans[1].parent_span_id = {};
  std::string text;
  encode_json(header(), spans, text);
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
  ASSERT_EQ(attrs.size(), 5u);
  EXPECT_EQ(attrs[1].at("value").at("intValue").as_string(), "503");
  EXPECT_EQ(attrs[2].at("value").at("intValue").as_string(), "-5");
  EXPECT_EQ(attrs[3].at("value").at("doubleValue").as_double(), 1.5);
  EXPECT_EQ(attrs[4].at("value").at("boolValue").as_bool(), true);
  EXPECT_EQ(s0.at("status").at("code").as_int64(), 2);
  EXPECT_EQ(s0.at("status").at("message").as_string(), "upstream failed");
  const auto& s1 = ss.at("spans").as_array().at(1);
  EXPECT_FALSE(s1.as_object().contains("parentSpanId"));
  EXPECT_FALSE(s1.as_object().contains("traceState"));
  EXPECT_EQ(s1.at("kind").as_int64(), 3);
}

}  // namespace
}  // namespace portico::observability
