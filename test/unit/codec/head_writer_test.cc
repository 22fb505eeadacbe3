#include "codec/http1/head_writer.h"

#include <gtest/gtest.h>

#include <string>

#include "codec/http1/request_parser.h"
#include "codec/http1/response_parser.h"

namespace portico::codec::http1 {
namespace {

TEST(HeadWriter, RequestLineAndHeaders) {
  std::string out;
  write_request_line(out, "GET", "/a?b=c");
  write_header(out, "Host", "example.com");
  write_header(out, "X-Empty", "");
  end_head(out);
  EXPECT_EQ(out, "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Empty: \r\n\r\n");
  // What we write, we parse.
  RequestParser parser;
  RequestHead head;
  ASSERT_EQ(parser.parse(out, head), ParseStatus::kComplete);
  EXPECT_EQ(head.host, "example.com");
}

TEST(HeadWriter, Http10RequestLine) {
  std::string out;
  write_request_line(out, "POST", "/", 0);
  EXPECT_EQ(out, "POST / HTTP/1.0\r\n");
}

TEST(HeadWriter, StatusLineWithStandardAndCustomReason) {
  std::string out;
  write_status_line(out, 404);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\n");
  out.clear();
  write_status_line(out, 200, "Fine");
  EXPECT_EQ(out, "HTTP/1.1 200 Fine\r\n");
  out.clear();
  write_status_line(out, 599);
  EXPECT_EQ(out, "HTTP/1.1 599 \r\n");
  out.clear();
  write_status_line(out, 503, {}, 0);
  write_header(out, "Content-Length", "0");
  end_head(out);
  EXPECT_EQ(out, "HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  ResponseParser parser;
  ResponseHead head;
  ASSERT_EQ(parser.parse(out, head, false), ParseStatus::kComplete);
  EXPECT_EQ(head.status, 503);
}

TEST(HeadWriter, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(100), "Continue");
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(413), "Content Too Large");
  EXPECT_EQ(reason_phrase(414), "URI Too Long");
  EXPECT_EQ(reason_phrase(429), "Too Many Requests");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(502), "Bad Gateway");
  EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(reason_phrase(299), "");
}

TEST(HeadWriter, ChunkHeaders) {
  std::string out;
  append_chunk_header(out, 0);
  append_chunk_header(out, 10);
  append_chunk_header(out, 0x1a2b);
  append_chunk_header(out, SIZE_MAX);
  EXPECT_EQ(out, "0\r\na\r\n1a2b\r\nffffffffffffffff\r\n");
  EXPECT_EQ(kLastChunk, "0\r\n\r\n");
}

// Any container with append(const char*, size_t) works.
struct CountingSink {
  std::string bytes;
  int calls = 0;
  void append(const char* p, size_t n) {
    bytes.append(p, n);
    ++calls;
  }
};

TEST(HeadWriter, WorksWithCustomSink) {
  CountingSink sink;
  write_status_line(sink, 204);
  end_head(sink);
  EXPECT_EQ(sink.bytes, "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_GT(sink.calls, 0);
}

}  // namespace
}  // namespace portico::codec::http1
