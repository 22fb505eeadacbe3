#include "codec/http1/request_parser.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "codec/http1/body_decoder.h"

namespace portico::codec::http1 {
namespace {

using namespace std::string_literals;

struct ValidCase {
  const char* name;
  std::string raw;
  std::string_view method;
  std::string_view target;
  uint8_t minor;
  std::string_view host;
  Framing framing;
  uint64_t content_length;
  bool keep_alive;
  size_t header_count;
};

const ValidCase kValid[] = {
    {"simple_get", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", "GET", "/", 1, "a.example", Framing::kNone, 0, true, 1},
    {"query", "GET /p/q?x=1&y=%20 HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/p/q?x=1&y=%20", 1, "a", Framing::kNone, 0, true, 1},
    {"http10_no_host", "GET / HTTP/1.0\r\n\r\n", "GET", "/", 0, "", Framing::kNone, 0, false, 0},
    {"http10_keep_alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/", 0, "", Framing::kNone, 0, true, 1},
    {"http10_close_wins", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", "GET", "/", 0, "", Framing::kNone, 0, false, 1},
    {"http11_close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n", "GET", "/", 1, "a", Framing::kNone, 0, false, 2},
    {"content_length", "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", "POST", "/u", 1, "a", Framing::kContentLength, 5, true, 2},
    {"content_length_zero", "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "POST", "/u", 1, "a", Framing::kContentLength, 0, true, 2},
    {"content_length_leading_zeros", "POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 007\r\n\r\n", "POST", "/", 1, "a", Framing::kContentLength, 7, true, 2},
    {"content_length_max", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n", "POST", "/", 1, "a", Framing::kContentLength, 9223372036854775807ull, true, 2},
    {"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", "/", 1, "a", Framing::kChunked, 0, true, 2},
    {"chunked_mixed_case_ows", "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  ChUnKeD \t\r\n\r\n", "POST", "/", 1, "a", Framing::kChunked, 0, true, 2},
    {"leading_empty_line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", 1, "a", Framing::kNone, 0, true, 1},
    {"four_leading_empty_lines", "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", 1, "a", Framing::kNone, 0, true, 1},
    {"host_port", "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", "GET", "/", 1, "a.example:8080", Framing::kNone, 0, true, 1},
    {"host_ipv4", "GET / HTTP/1.1\r\nHost: 10.0.0.1:80\r\n\r\n", "GET", "/", 1, "10.0.0.1:80", Framing::kNone, 0, true, 1},
    {"host_ipv6", "GET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n", "GET", "/", 1, "[::1]:8443", Framing::kNone, 0, true, 1},
    {"host_empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET", "/", 1, "", Framing::kNone, 0, true, 1},
    {"host_pct", "GET / HTTP/1.1\r\nHost: a%2Db\r\n\r\n", "GET", "/", 1, "a%2Db", Framing::kNone, 0, true, 1},
    {"value_obs_text", "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n", "GET", "/", 1, "a", Framing::kNone, 0, true, 2},
    {"value_with_tab", "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n", "GET", "/", 1, "a", Framing::kNone, 0, true, 2},
    {"empty_value", "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n", "GET", "/", 1, "a", Framing::kNone, 0, true, 2},
    {"token_method", "M-SEARCH /x HTTP/1.1\r\nHost: a\r\n\r\n", "M-SEARCH", "/x", 1, "a", Framing::kNone, 0, true, 1},
    {"options_asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "*", 1, "a", Framing::kNone, 0, true, 1},
    {"absolute_form", "GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n", "GET", "http://a.example/x", 1, "a.example", Framing::kNone, 0, true, 1},
    {"connect_authority", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", "CONNECT", "a.example:443", 1, "a.example:443", Framing::kNone, 0, true, 1},
    {"connect_ipv6", "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", "CONNECT", "[::1]:443", 1, "[::1]:443", Framing::kNone, 0, true, 1},
    {"many_headers", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", "GET", "/", 1, "a", Framing::kNone, 0, true, 6},
};

class ValidRequest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidRequest, Parses) {
  const ValidCase& c = GetParam();
  RequestParser parser;
  RequestHead head;
  ASSERT_EQ(parser.parse(c.raw, head), ParseStatus::kComplete) << describe(parser.error());
  EXPECT_EQ(head.method, c.method);
  EXPECT_EQ(head.target, c.target);
  EXPECT_EQ(head.version_minor, c.minor);
  EXPECT_EQ(head.host, c.host);
  EXPECT_EQ(head.framing, c.framing);
  EXPECT_EQ(head.content_length, c.content_length);
  EXPECT_EQ(head.keep_alive, c.keep_alive);
  EXPECT_EQ(head.headers.size(), c.header_count);
  // Tables carry either no body or exactly the declared one.
  EXPECT_TRUE(parser.head_size() == c.raw.size() || parser.head_size() + c.content_length == c.raw.size());
}

INSTANTIATE_TEST_SUITE_P(Table, ValidRequest, ::testing::ValuesIn(kValid),
                         [](const auto& info) { return std::string(info.param.name); });

struct InvalidCase {
  const char* name;
  std::string raw;
  ParseError error;
  int status;
};

std::string long_target(size_t n) { return "GET /" + std::string(n - 1, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n"; }

std::string many_headers(size_t n) {
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 1; i < n; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}

const InvalidCase kInvalid[] = {
    // framing
    {"cl_and_te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::kContentLengthAndTransferEncoding, 400},
    {"te_and_cl", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", ParseError::kContentLengthAndTransferEncoding, 400},
    {"duplicate_cl_equal", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", ParseError::kDuplicateContentLength, 400},
    {"duplicate_cl_different", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n", ParseError::kDuplicateContentLength, 400},
    {"cl_list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", ParseError::kContentLengthList, 400},
    {"cl_plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", ParseError::kBadContentLength, 400},
    {"cl_minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", ParseError::kBadContentLength, 400},
    {"cl_hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", ParseError::kBadContentLength, 400},
    {"cl_empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", ParseError::kBadContentLength, 400},
    {"cl_inner_space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", ParseError::kBadContentLength, 400},
    {"cl_2_pow_63", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", ParseError::kContentLengthTooLarge, 400},
    {"cl_overflow_u64", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", ParseError::kContentLengthTooLarge, 400},
    {"te_gzip_chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ParseError::kBadTransferEncoding, 400},
    {"te_chunked_chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", ParseError::kBadTransferEncoding, 400},
    {"te_two_fields", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::kBadTransferEncoding, 400},
    {"te_identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", ParseError::kBadTransferEncoding, 400},
    {"te_empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", ParseError::kBadTransferEncoding, 400},
    {"te_chunked_param", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", ParseError::kBadTransferEncoding, 400},
    {"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::kTransferEncodingOnHttp10, 400},
    // line structure and fields
    {"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n", ParseError::kObsFold, 400},
    {"obs_fold_tab", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", ParseError::kObsFold, 400},
    {"first_line_fold", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", ParseError::kObsFold, 400},
    {"bare_cr_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", ParseError::kBareCr, 400},
    {"bare_cr_line_end", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n", ParseError::kBareCr, 400},
    {"bare_cr_request_line", "GET / HTTP/1.1\rHost: a\r\n\r\n", ParseError::kBareCr, 400},
    {"bare_lf_request_line", "GET / HTTP/1.1\nHost: a\r\n\r\n", ParseError::kBareLf, 400},
    {"bare_lf_header", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", ParseError::kBareLf, 400},
    {"bare_lf_end", "GET / HTTP/1.1\r\nHost: a\r\n\n", ParseError::kBareLf, 400},
    {"bare_lf_leading", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBareLf, 400},
    {"bare_cr_leading", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBareCr, 400},
    {"nul_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"s, ParseError::kBadHeaderValue, 400},
    {"ctl_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", ParseError::kBadHeaderValue, 400},
    {"del_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f" "b\r\n\r\n", ParseError::kBadHeaderValue, 400},
    {"bad_name_char", "GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", ParseError::kBadHeaderName, 400},
    {"name_high_byte", "GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: b\r\n\r\n", ParseError::kBadHeaderName, 400},
    {"space_before_colon", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n", ParseError::kWhitespaceBeforeColon, 400},
    {"tab_before_colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ParseError::kWhitespaceBeforeColon, 400},
    {"empty_name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", ParseError::kEmptyHeaderName, 400},
    {"missing_colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", ParseError::kMissingColon, 400},
    {"bad_connection_token", "GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n", ParseError::kBadConnection, 400},
    // Host
    {"missing_host", "GET / HTTP/1.1\r\n\r\n", ParseError::kMissingHost, 400},
    {"duplicate_host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", ParseError::kDuplicateHost, 400},
    {"host_space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ParseError::kBadHost, 400},
    {"host_slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", ParseError::kBadHost, 400},
    {"host_at", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", ParseError::kBadHost, 400},
    {"host_bad_port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", ParseError::kBadHost, 400},
    {"host_port_only", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", ParseError::kBadHost, 400},
    {"host_unclosed_ipv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", ParseError::kBadHost, 400},
    {"host_bad_pct", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", ParseError::kBadHost, 400},
    // request line
    {"double_space_after_method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
    {"double_space_after_target", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
    {"trailing_space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
    {"tab_separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
    {"leading_space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
    {"http09", "GET /\r\n\r\n", ParseError::kBadRequestLine, 400},
    {"missing_target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
    {"bad_method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadMethod, 400},
    {"target_high_byte", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadTarget, 400},
    {"target_del", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadTarget, 400},
    {"target_ctl", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadTarget, 400},
    {"target_no_slash", "GET a HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadTarget, 400},
    {"asterisk_not_options", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadTarget, 400},
    {"connect_no_port", "CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadTarget, 400},
    {"version_lower_case", "GET / http/1.1\r\nHost: a\r\n\r\n", ParseError::kBadVersion, 400},
    {"version_two_digits", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", ParseError::kBadVersion, 400},
    {"version_missing_minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", ParseError::kBadVersion, 400},
    {"version_1_2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", ParseError::kUnsupportedVersion, 505},
    {"version_2_0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", ParseError::kUnsupportedVersion, 505},
    {"version_3_0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", ParseError::kUnsupportedVersion, 505},
    {"too_many_empty_lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kTooManyEmptyLines, 400},
    // limits
    {"uri_too_long", long_target(8 * 1024 + 1), ParseError::kUriTooLong, 414},
    {"head_too_large", "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(70000, 'v') + "\r\n\r\n", ParseError::kHeadTooLarge, 431},
    {"too_many_headers", many_headers(101), ParseError::kTooManyHeaders, 431},
};

class InvalidRequest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidRequest, Rejected) {
  const InvalidCase& c = GetParam();
  RequestParser parser;
  RequestHead head;
  ASSERT_EQ(parser.parse(c.raw, head), ParseStatus::kError);
  EXPECT_EQ(parser.error(), c.error) << describe(parser.error());
  EXPECT_EQ(status_for(parser.error()), c.status);
  EXPECT_FALSE(describe(parser.error()).empty());
  // Sticky until reset.
  EXPECT_EQ(parser.parse(c.raw, head), ParseStatus::kError);
}

TEST_P(InvalidRequest, SameVerdictByteByByte) {
  const InvalidCase& c = GetParam();
  RequestParser parser;
  RequestHead head;
  ParseStatus s = ParseStatus::kNeedMore;
  for (size_t n = 1; n <= c.raw.size() && s == ParseStatus::kNeedMore; ++n) {
    s = parser.parse(std::string_view(c.raw).substr(0, n), head);
  }
  ASSERT_EQ(s, ParseStatus::kError);
  EXPECT_EQ(parser.error(), c.error);
}

INSTANTIATE_TEST_SUITE_P(Table, InvalidRequest, ::testing::ValuesIn(kInvalid),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RequestParser, ValidLimitsAreInclusive) {
  RequestParser parser;
  RequestHead head;
  const std::string at_limit = long_target(8 * 1024);
  EXPECT_EQ(parser.parse(at_limit, head), ParseStatus::kComplete);
  parser.reset();
  EXPECT_EQ(parser.parse(many_headers(100), head), ParseStatus::kComplete);
  EXPECT_EQ(head.headers.size(), 100u);
}

TEST(RequestParser, HeadExactlyAtMaxHeadBytes) {
  Limits limits;
  limits.max_head_bytes = 64;
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  raw += std::string(64 - raw.size() - 4, 'v') + "\r\n\r\n";
  ASSERT_EQ(raw.size(), 64u);
  RequestParser parser(limits);
  RequestHead head;
  EXPECT_EQ(parser.parse(raw, head), ParseStatus::kComplete);
  RequestParser over(limits);
  raw.insert(raw.size() - 4, "v");
  EXPECT_EQ(over.parse(raw, head), ParseStatus::kError);
  EXPECT_EQ(over.error(), ParseError::kHeadTooLarge);
}

TEST(RequestParser, UriTooLongDetectedBeforeLineEnds) {
  RequestParser parser;
  RequestHead head;
  const std::string partial = "GET /" + std::string(8 * 1024 + 10, 'a');  // no SP, no CRLF yet
  EXPECT_EQ(parser.parse(partial, head), ParseStatus::kError);
  EXPECT_EQ(parser.error(), ParseError::kUriTooLong);
  EXPECT_EQ(status_for(parser.error()), 414);
}

TEST(RequestParser, HeadTooLargeDetectedBeforeHeadEnds) {
  RequestParser parser;
  RequestHead head;
  std::string partial = "GET / HTTP/1.1\r\nHost: a\r\n";
  while (partial.size() < 64 * 1024) partial += "X-Filler: " + std::string(1000, 'f') + "\r\n";  // never ends
  EXPECT_EQ(parser.parse(partial, head), ParseStatus::kError);
  EXPECT_EQ(parser.error(), ParseError::kHeadTooLarge);
  EXPECT_EQ(status_for(parser.error()), 431);
}

TEST(RequestParser, FieldsAreViewsWithTrimmedValues) {
  const std::string raw = "GET /x HTTP/1.1\r\nHost:  a  \r\nX-Multi:\t one two \t\r\nEmpty:   \r\n\r\n";
  RequestParser parser;
  RequestHead head;
  ASSERT_EQ(parser.parse(raw, head), ParseStatus::kComplete);
  ASSERT_EQ(head.headers.size(), 3u);
  EXPECT_EQ(head.headers[0].name, "Host");
  EXPECT_EQ(head.headers[0].value, "a");
  EXPECT_EQ(head.headers[1].name, "X-Multi");
  EXPECT_EQ(head.headers[1].value, "one two");
  EXPECT_EQ(head.headers[2].value, "");
  for (const Header& h : head.headers) {
    EXPECT_GE(h.name.data(), raw.data());
    EXPECT_LE(h.value.data() + h.value.size(), raw.data() + raw.size());
  }
}

TEST(RequestParser, ConnectionTokensExpectAndUpgrade) {
  const std::string raw =
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, , X-Hop\r\nconnection: keep-alive\r\n"
      "Upgrade: websocket\r\nExpect: 100-Continue\r\n\r\n";
  RequestParser parser;
  RequestHead head;
  ASSERT_EQ(parser.parse(raw, head), ParseStatus::kComplete);
  ASSERT_EQ(head.connection_tokens.size(), 3u);
  EXPECT_EQ(head.connection_tokens[0], "Upgrade");
  EXPECT_EQ(head.connection_tokens[1], "X-Hop");
  EXPECT_EQ(head.connection_tokens[2], "keep-alive");
  EXPECT_TRUE(head.has_upgrade);
  EXPECT_TRUE(head.expect_continue);
  EXPECT_FALSE(head.unknown_expect);
  EXPECT_TRUE(head.keep_alive);
}

TEST(RequestParser, UnknownExpectAndHttp10ContinueIgnored) {
  RequestParser parser;
  RequestHead head;
  ASSERT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: fancy\r\n\r\n", head), ParseStatus::kComplete);
  EXPECT_TRUE(head.unknown_expect);
  EXPECT_FALSE(head.expect_continue);
  parser.reset();
  ASSERT_EQ(parser.parse("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", head), ParseStatus::kComplete);
  EXPECT_FALSE(head.expect_continue);
}

// Compares every field of two parses of the same message.
void expect_same_head(const RequestHead& a, const RequestHead& b) {
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.version_minor, b.version_minor);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.framing, b.framing);
  EXPECT_EQ(a.content_length, b.content_length);
  EXPECT_EQ(a.keep_alive, b.keep_alive);
  ASSERT_EQ(a.headers.size(), b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    EXPECT_EQ(a.headers[i].name, b.headers[i].name);
    EXPECT_EQ(a.headers[i].value, b.headers[i].value);
  }
}

TEST(RequestParser, EverySplitPointGivesSameResult) {
  const std::string messages[] = {
      "GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
      "\r\nPOST /api HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
      "PUT /c HTTP/1.0\r\nConnection: keep-alive\r\nX-Long: " + std::string(300, 'x') + "\r\n\r\n",
  };
  for (const std::string& raw : messages) {
    RequestParser one_shot;
    RequestHead expected;
    ASSERT_EQ(one_shot.parse(raw, expected), ParseStatus::kComplete);
    for (size_t split = 0; split <= raw.size(); ++split) {
      // The prefix lives in its own allocation, freed before the second call, so a parser that
      // kept pointers between calls would trip ASan.
      RequestParser parser;
      RequestHead head;
      auto first = std::make_unique<std::string>(raw.substr(0, split));
      ParseStatus s = parser.parse(*first, head);
      if (s == ParseStatus::kNeedMore) {
        first.reset();
        s = parser.parse(raw, head);
      }
      ASSERT_EQ(s, ParseStatus::kComplete) << "split " << split;
      EXPECT_EQ(parser.head_size(), one_shot.head_size());
      expect_same_head(head, expected);
    }
  }
}

TEST(RequestParser, ByteAtATimeIntoMovingBuffer) {
  const std::string raw =
      "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-B: two\r\n\r\n";
  RequestParser parser;
  RequestHead head;
  std::string buf;
  ParseStatus s = ParseStatus::kNeedMore;
  for (char c : raw) {
    std::string grown = buf + c;  // new allocation every step
    buf.swap(grown);
    s = parser.parse(buf, head);
    if (s != ParseStatus::kNeedMore) break;
  }
  ASSERT_EQ(s, ParseStatus::kComplete);
  EXPECT_EQ(head.framing, Framing::kChunked);
  ASSERT_EQ(head.headers.size(), 4u);
  EXPECT_EQ(head.headers[3].value, "two");
}

TEST(RequestParser, ByteAtATimeLargeHeadIsLinear) {
  // 60 KiB head fed byte by byte: quadratic rescanning would take ~1.8e9 steps here.
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
  while (raw.size() < 60 * 1024) raw += "X-Filler: " + std::string(900, 'f') + "\r\n";
  raw += "\r\n";
  RequestParser parser;
  RequestHead head;
  ParseStatus s = ParseStatus::kNeedMore;
  for (size_t n = 1; n <= raw.size() && s == ParseStatus::kNeedMore; ++n) {
    s = parser.parse(std::string_view(raw).substr(0, n), head);
  }
  ASSERT_EQ(s, ParseStatus::kComplete);
  EXPECT_EQ(parser.head_size(), raw.size());
}

TEST(RequestParser, PipelinedRequestsWithBodies) {
  const std::string stream =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
      "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n"
      "\r\nGET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  RequestParser parser;
  RequestHead head;
  BodyDecoder body;
  std::string_view rest = stream;
  std::vector<std::string> targets;
  std::vector<std::string> bodies;
  while (!rest.empty()) {
    parser.reset();
    ASSERT_EQ(parser.parse(rest, head), ParseStatus::kComplete) << describe(parser.error());
    targets.emplace_back(head.target);
    rest.remove_prefix(parser.head_size());
    body.start(head.framing, head.content_length);
    std::string data;
    while (!body.done()) {
      const BodyDecoder::Step step = body.decode(rest);
      ASSERT_EQ(step.error, ParseError::kNone);
      ASSERT_TRUE(step.consumed > 0 || step.done) << "stalled";
      data.append(step.data);
      rest.remove_prefix(step.consumed);
    }
    bodies.push_back(data);
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"/1", "/2", "/3", "/4"}));
  EXPECT_EQ(bodies, (std::vector<std::string>{"", "body", "abc", ""}));
  EXPECT_FALSE(head.keep_alive);
}

TEST(RequestParser, ResetReusesHeadCapacity) {
  RequestParser parser;
  RequestHead head;
  const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nConnection: x, y\r\nA: 1\r\nB: 2\r\n\r\n";
  ASSERT_EQ(parser.parse(raw, head), ParseStatus::kComplete);
  const Header* headers = head.headers.data();
  const std::string_view* tokens = head.connection_tokens.data();
  parser.reset();
  ASSERT_EQ(parser.parse(raw, head), ParseStatus::kComplete);
  EXPECT_EQ(head.headers.data(), headers);
  EXPECT_EQ(head.connection_tokens.data(), tokens);
}

TEST(RequestParser, CustomLimits) {
  Limits limits;
  limits.max_uri_bytes = 4;
  limits.max_headers = 1;
  RequestParser parser(limits);
  RequestHead head;
  EXPECT_EQ(parser.parse("GET /abc HTTP/1.1\r\nHost: a\r\n\r\n", head), ParseStatus::kComplete);
  parser.reset();
  EXPECT_EQ(parser.parse("GET /abcd HTTP/1.1\r\n", head), ParseStatus::kError);
  EXPECT_EQ(parser.error(), ParseError::kUriTooLong);
  parser.reset();
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n", head), ParseStatus::kError);
  EXPECT_EQ(parser.error(), ParseError::kTooManyHeaders);
}

TEST(RequestParser, NeedMoreOnPartialInput) {
  RequestParser parser;
  RequestHead head;
  EXPECT_EQ(parser.parse("", head), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.parse("\r", head), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.parse("\r\nGE", head), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.parse("\r\nGET / HTT", head), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r", head), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", head), ParseStatus::kComplete);
  EXPECT_EQ(parser.head_size(), 29u);
}

}  // namespace
}  // namespace portico::codec::http1
