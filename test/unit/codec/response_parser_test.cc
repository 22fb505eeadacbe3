#include "codec/http1/response_parser.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace portico::codec::http1 {
namespace {

struct ValidCase {
  const char* name;
  std::string raw;
  bool request_was_head;
  uint16_t status;
  std::string_view reason;
  uint8_t minor;
  Framing framing;
  uint64_t content_length;
  bool keep_alive;
};

const ValidCase kValid[] = {
    {"ok_cl", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, 200, "OK", 1, Framing::kContentLength, 5, true},
    {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 200, "OK", 1, Framing::kChunked, 0, true},
    {"until_close", "HTTP/1.1 200 OK\r\n\r\n", false, 200, "OK", 1, Framing::kUntilClose, 0, false},
    {"head_request", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", true, 200, "OK", 1, Framing::kNone, 1234, true},
    {"head_request_chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, 200, "OK", 1, Framing::kNone, 0, true},
    {"no_content", "HTTP/1.1 204 No Content\r\n\r\n", false, 204, "No Content", 1, Framing::kNone, 0, true},
    {"not_modified", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", false, 304, "Not Modified", 1, Framing::kNone, 99, true},
    {"continue", "HTTP/1.1 100 Continue\r\n\r\n", false, 100, "Continue", 1, Framing::kNone, 0, true},
    {"early_hints", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", false, 103, "Early Hints", 1, Framing::kNone, 0, true},
    {"switching", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false, 101, "Switching Protocols", 1, Framing::kNone, 0, true},
    {"no_reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, 200, "", 1, Framing::kContentLength, 0, true},
    {"empty_reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false, 404, "", 1, Framing::kContentLength, 0, true},
    {"reason_with_spaces", "HTTP/1.1 500 Internal  Server Error\r\nContent-Length: 0\r\n\r\n", false, 500, "Internal  Server Error", 1, Framing::kContentLength, 0, true},
    {"http10_default_close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", false, 200, "OK", 0, Framing::kContentLength, 2, false},
    {"http10_keep_alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n", false, 200, "OK", 0, Framing::kContentLength, 2, true},
    {"http11_close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n", false, 200, "OK", 1, Framing::kContentLength, 2, false},
    {"status_999", "HTTP/1.1 999 Custom\r\nContent-Length: 0\r\n\r\n", false, 999, "Custom", 1, Framing::kContentLength, 0, true},
};

class ValidResponse : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidResponse, Parses) {
  const ValidCase& c = GetParam();
  ResponseParser parser;
  ResponseHead head;
  ASSERT_EQ(parser.parse(c.raw, head, c.request_was_head), ParseStatus::kComplete) << describe(parser.error());
  EXPECT_EQ(head.status, c.status);
  EXPECT_EQ(head.reason, c.reason);
  EXPECT_EQ(head.version_minor, c.minor);
  EXPECT_EQ(head.framing, c.framing);
  EXPECT_EQ(head.content_length, c.content_length);
  EXPECT_EQ(head.keep_alive, c.keep_alive);
  EXPECT_EQ(parser.head_size(), c.raw.size());
}

INSTANTIATE_TEST_SUITE_P(Table, ValidResponse, ::testing::ValuesIn(kValid),
                         [](const auto& info) { return std::string(info.param.name); });

struct InvalidCase {
  const char* name;
  std::string raw;
  ParseError error;
};

const InvalidCase kInvalid[] = {
    {"cl_and_te", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::kContentLengthAndTransferEncoding},
    {"duplicate_cl", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", ParseError::kDuplicateContentLength},
    {"cl_list", "HTTP/1.1 200 OK\r\nContent-Length: 3,3\r\n\r\n", ParseError::kContentLengthList},
    {"te_gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", ParseError::kBadTransferEncoding},
    {"te_http10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::kTransferEncodingOnHttp10},
    {"obs_fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", ParseError::kObsFold},
    {"bare_lf_status", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", ParseError::kBareLf},
    {"bare_lf_header", "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", ParseError::kBareLf},
    {"bare_cr_reason", "HTTP/1.1 200 O\rK\r\n\r\n", ParseError::kBareCr},
    {"space_before_colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", ParseError::kWhitespaceBeforeColon},
    {"status_two_digits", "HTTP/1.1 20 OK\r\n\r\n", ParseError::kBadStatusCode},
    {"status_four_digits", "HTTP/1.1 2000 OK\r\n\r\n", ParseError::kBadStatusCode},
    {"status_099", "HTTP/1.1 099 Low\r\n\r\n", ParseError::kBadStatusCode},
    {"status_letters", "HTTP/1.1 2x0 OK\r\n\r\n", ParseError::kBadStatusCode},
    {"status_short", "HTTP/1.1 20\r\n\r\n", ParseError::kBadStatusCode},
    {"not_http", "ICY 200 OK\r\n\r\n", ParseError::kBadStatusLine},
    {"version_only", "HTTP/1.1\r\n\r\n", ParseError::kBadStatusLine},
    {"double_space", "HTTP/1.1  200 OK\r\n\r\n", ParseError::kBadStatusCode},
    {"version_malformed", "HTTP/1.x 200 OK\r\n\r\n", ParseError::kBadVersion},
    {"version_2", "HTTP/2.0 200 OK\r\n\r\n", ParseError::kUnsupportedVersion},
    {"leading_empty_line", "\r\nHTTP/1.1 200 OK\r\n\r\n", ParseError::kBadStatusLine},
    {"head_too_large", "HTTP/1.1 200 OK\r\nX: " + std::string(70000, 'v') + "\r\n\r\n", ParseError::kHeadTooLarge},
};

class InvalidResponse : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidResponse, Rejected) {
  const InvalidCase& c = GetParam();
  ResponseParser parser;
  ResponseHead head;
  ASSERT_EQ(parser.parse(c.raw, head, false), ParseStatus::kError);
  EXPECT_EQ(parser.error(), c.error) << describe(parser.error());
}

TEST_P(InvalidResponse, SameVerdictByteByByte) {
  const InvalidCase& c = GetParam();
  ResponseParser parser;
  ResponseHead head;
  ParseStatus s = ParseStatus::kNeedMore;
  for (size_t n = 1; n <= c.raw.size() && s == ParseStatus::kNeedMore; ++n) {
    s = parser.parse(std::string_view(c.raw).substr(0, n), head, false);
  }
  ASSERT_EQ(s, ParseStatus::kError);
  EXPECT_EQ(parser.error(), c.error);
}

INSTANTIATE_TEST_SUITE_P(Table, InvalidResponse, ::testing::ValuesIn(kInvalid),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ResponseParser, ResponseOnlyErrorsMapTo502) {
  EXPECT_EQ(status_for(ParseError::kBadStatusLine), 502);
  EXPECT_EQ(status_for(ParseError::kBadStatusCode), 502);
  EXPECT_EQ(kResponseErrorStatus, 502);
}

TEST(ResponseParser, InterimThenFinalResponse) {
  const std::string stream =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  ResponseParser parser;
  ResponseHead head;
  std::string_view rest = stream;
  std::vector<uint16_t> statuses;
  for (;;) {
    parser.reset();
    ASSERT_EQ(parser.parse(rest, head, false), ParseStatus::kComplete);
    statuses.push_back(head.status);
    rest.remove_prefix(parser.head_size());
    if (head.status >= 200) break;
    EXPECT_EQ(head.framing, Framing::kNone);
  }
  EXPECT_EQ(statuses, (std::vector<uint16_t>{100, 103, 201}));
  EXPECT_EQ(head.framing, Framing::kContentLength);
  EXPECT_EQ(rest, "ok");
}

TEST(ResponseParser, EverySplitPointGivesSameResult) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nServer: x\r\nConnection: close, X-Foo\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t split = 0; split <= raw.size(); ++split) {
    ResponseParser parser;
    ResponseHead head;
    auto first = std::make_unique<std::string>(raw.substr(0, split));
    ParseStatus s = parser.parse(*first, head, false);
    if (s == ParseStatus::kNeedMore) {
      first.reset();
      s = parser.parse(raw, head, false);
    }
    ASSERT_EQ(s, ParseStatus::kComplete) << "split " << split;
    EXPECT_EQ(parser.head_size(), raw.size());
    EXPECT_EQ(head.framing, Framing::kChunked);
    EXPECT_FALSE(head.keep_alive);
    ASSERT_EQ(head.connection_tokens.size(), 2u);
    EXPECT_EQ(head.connection_tokens[1], "X-Foo");
  }
}

}  // namespace
}  // namespace portico::codec::http1
