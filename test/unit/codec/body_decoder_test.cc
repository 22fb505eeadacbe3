#include "codec/http1/body_decoder.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::codec::http1 {
namespace {

struct Decoded {
  std::string data;
  std::string trailers;
  bool done = false;
  ParseError error = ParseError::kNone;
  size_t consumed = 0;
};

// Feeds `raw` in pieces of `piece` bytes (0 = all at once), keeping unconsumed bytes the way a
// session would, and returns what came out. Each call gets a freshly allocated buffer.
Decoded decode_all(Framing framing, uint64_t length, const std::string& raw, size_t piece, Limits limits = {}) {
  BodyDecoder decoder;
  decoder.start(framing, length, limits);
  Decoded out;
  std::string pending;
  size_t fed = 0;
  for (;;) {
    if (piece == 0) {
      pending += raw.substr(fed);
      fed = raw.size();
    } else if (fed < raw.size()) {
      const size_t n = std::min(piece, raw.size() - fed);
      pending += raw.substr(fed, n);
      fed += n;
    }
    for (;;) {
      const std::string copy = pending;
      const BodyDecoder::Step step = decoder.decode(copy);
      out.data.append(step.data);
      out.trailers.append(step.trailers);
      out.consumed += step.consumed;
      pending.erase(0, step.consumed);
      if (step.error != ParseError::kNone) {
        out.error = step.error;
        return out;
      }
      if (step.done) {
        out.done = true;
        return out;
      }
      if (step.consumed == 0 && step.data.empty()) break;
    }
    if (fed == raw.size()) return out;
  }
}

TEST(BodyDecoder, NoneIsDoneImmediately) {
  BodyDecoder d;
  d.start(Framing::kNone, 0);
  EXPECT_TRUE(d.done());
  const BodyDecoder::Step s = d.decode("GET / HTTP/1.1\r\n");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.consumed, 0u);
}

TEST(BodyDecoder, ContentLengthZeroIsDone) {
  BodyDecoder d;
  d.start(Framing::kContentLength, 0);
  EXPECT_TRUE(d.done());
}

TEST(BodyDecoder, ContentLengthStopsAtLength) {
  for (size_t piece : {0, 1, 3}) {
    const Decoded r = decode_all(Framing::kContentLength, 5, "helloNEXT", piece);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.data, "hello");
    EXPECT_EQ(r.consumed, 5u);
  }
}

TEST(BodyDecoder, ContentLengthTruncated) {
  BodyDecoder d;
  d.start(Framing::kContentLength, 10);
  const BodyDecoder::Step s = d.decode("abc");
  EXPECT_EQ(s.data, "abc");
  EXPECT_FALSE(s.done);
  EXPECT_FALSE(d.finish_eof());
  EXPECT_EQ(d.body_bytes(), 3u);
}

TEST(BodyDecoder, UntilCloseEndsAtEof) {
  BodyDecoder d;
  d.start(Framing::kUntilClose, 0);
  BodyDecoder::Step s = d.decode("part1");
  EXPECT_EQ(s.data, "part1");
  EXPECT_EQ(s.consumed, 5u);
  s = d.decode("part2");
  EXPECT_EQ(s.data, "part2");
  EXPECT_FALSE(d.done());
  EXPECT_TRUE(d.finish_eof());
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.body_bytes(), 10u);
}

struct ChunkedCase {
  const char* name;
  std::string raw;
  std::string data;
  std::string trailers;
  size_t consumed;  // where the next message starts
};

const ChunkedCase kChunkedValid[] = {
    {"simple", "5\r\nhello\r\n0\r\n\r\n", "hello", "", 15},
    {"two_chunks", "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\nNEXT", "abcdefg", "", 22},
    {"upper_hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", "", 20},
    {"leading_zeros", "0005\r\nhello\r\n0000\r\n\r\n", "hello", "", 21},
    {"extension", "5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello", "", 31},
    {"extension_quoted", "5 ; a = \"x;\\\"y\" ;b\r\nhello\r\n0\r\n\r\n", "hello", "", 32},
    {"trailers", "5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-Other:  v \r\n\r\n", "hello", "X-Sum: abc\r\nX-Other:  v \r\n", 41},
    {"empty_body", "0\r\n\r\n", "", "", 5},
    {"sixteen_digits", "0000000000000003\r\nabc\r\n0\r\n\r\n", "abc", "", 28},
};

class ChunkedValid : public ::testing::TestWithParam<ChunkedCase> {};

TEST_P(ChunkedValid, DecodesAtEverySplitSize) {
  const ChunkedCase& c = GetParam();
  for (size_t piece : {0, 1, 2, 3, 7}) {
    const Decoded r = decode_all(Framing::kChunked, 0, c.raw, piece);
    EXPECT_EQ(r.error, ParseError::kNone) << describe(r.error) << " piece " << piece;
    EXPECT_TRUE(r.done) << "piece " << piece;
    EXPECT_EQ(r.data, c.data);
    EXPECT_EQ(r.trailers, c.trailers);
    EXPECT_EQ(r.consumed, c.consumed);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ChunkedValid, ::testing::ValuesIn(kChunkedValid),
                         [](const auto& info) { return std::string(info.param.name); });

struct ChunkedInvalidCase {
  const char* name;
  std::string raw;
  ParseError error;
};

const ChunkedInvalidCase kChunkedInvalid[] = {
    {"non_hex", "g\r\nx\r\n0\r\n\r\n", ParseError::kBadChunkSize},
    {"empty_size", "\r\nx\r\n", ParseError::kBadChunkSize},
    {"negative", "-1\r\nx\r\n", ParseError::kBadChunkSize},
    {"hex_prefix", "0x5\r\nhello\r\n", ParseError::kBadChunkSize},
    {"trailing_space", "5 \r\nhello\r\n0\r\n\r\n", ParseError::kBadChunkExtension},
    {"seventeen_digits", "10000000000000000\r\n", ParseError::kChunkSizeTooLarge},
    {"overflow", "ffffffffffffffffff\r\n", ParseError::kChunkSizeTooLarge},
    {"bare_lf_size", "5\nhello\r\n0\r\n\r\n", ParseError::kBareLf},
    {"bare_cr_size", "5\rhello\r\n0\r\n\r\n", ParseError::kBareCr},
    {"missing_crlf_after_data", "5\r\nhelloX\r\n0\r\n\r\n", ParseError::kMissingChunkCrlf},
    {"lf_only_after_data", "5\r\nhello\n0\r\n\r\n", ParseError::kMissingChunkCrlf},
    {"cr_only_after_data", "5\r\nhello\rX0\r\n\r\n", ParseError::kMissingChunkCrlf},
    {"data_longer_than_size", "3\r\nhello\r\n0\r\n\r\n", ParseError::kMissingChunkCrlf},
    {"ext_no_name", "5;\r\nhello\r\n", ParseError::kBadChunkExtension},
    {"ext_bad_char", "5;a=b@c\r\nhello\r\n", ParseError::kBadChunkExtension},
    {"ext_unterminated_quote", "5;a=\"bc\r\nhello\r\n", ParseError::kBadChunkExtension},
    {"ext_bare_cr", "5;a=b\rc\r\nhello\r\n", ParseError::kBareCr},
    {"ext_too_long", "5;a=" + std::string(5000, 'b') + "\r\nhello\r\n", ParseError::kChunkLineTooLong},
    {"trailer_obs_fold", "0\r\nX: a\r\n b\r\n\r\n", ParseError::kObsFold},
    {"trailer_bad_name", "0\r\nX y: a\r\n\r\n", ParseError::kWhitespaceBeforeColon},
    {"trailer_no_colon", "0\r\nXY\r\n\r\n", ParseError::kMissingColon},
    {"trailer_bare_lf", "0\r\nX: a\n\r\n", ParseError::kBareLf},
    {"last_chunk_bare_lf_end", "0\r\n\n", ParseError::kBareLf},
    {"trailer_too_large", "0\r\nX: " + std::string(70000, 'v') + "\r\n\r\n", ParseError::kTrailersTooLarge},
};

class ChunkedInvalid : public ::testing::TestWithParam<ChunkedInvalidCase> {};

TEST_P(ChunkedInvalid, RejectedAtEverySplitSize) {
  const ChunkedInvalidCase& c = GetParam();
  for (size_t piece : {0, 1, 5}) {
    const Decoded r = decode_all(Framing::kChunked, 0, c.raw, piece);
    EXPECT_EQ(r.error, c.error) << describe(r.error) << " piece " << piece;
    EXPECT_FALSE(r.done);
  }
  EXPECT_EQ(status_for(c.error) == 400 || status_for(c.error) == 431, true);
}

INSTANTIATE_TEST_SUITE_P(Table, ChunkedInvalid, ::testing::ValuesIn(kChunkedInvalid),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BodyDecoder, ChunkedByteByByteWithTrailers) {
  const std::string raw = "4;ext=\"q\"\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
  const Decoded r = decode_all(Framing::kChunked, 0, raw, 1);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.data, "Wikipedia in\r\n\r\nchunks.");
  EXPECT_EQ(r.trailers, "Expires: never\r\n");
  EXPECT_EQ(r.consumed, raw.size());
}

TEST(BodyDecoder, ChunkedStepReturnsOneSpanAndErrorIsSticky) {
  BodyDecoder d;
  d.start(Framing::kChunked, 0);
  const std::string in = "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
  BodyDecoder::Step s = d.decode(in);
  EXPECT_EQ(s.data, "abc");
  EXPECT_FALSE(s.done);
  // The CRLF after the data and the next size line are framing, consumed with the span.
  EXPECT_EQ(s.consumed, 11u);
  s = d.decode(std::string_view(in).substr(s.consumed));
  EXPECT_EQ(s.data, "def");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(d.body_bytes(), 6u);

  d.start(Framing::kChunked, 0);
  EXPECT_EQ(d.decode("zz\r\n").error, ParseError::kBadChunkSize);
  EXPECT_EQ(d.decode("5\r\nhello\r\n").error, ParseError::kBadChunkSize);
  EXPECT_FALSE(d.finish_eof());
}

TEST(BodyDecoder, ChunkedTruncatedAtEof) {
  BodyDecoder d;
  d.start(Framing::kChunked, 0);
  const BodyDecoder::Step s = d.decode("5\r\nhel");
  EXPECT_EQ(s.data, "hel");
  EXPECT_FALSE(d.finish_eof());
}

TEST(BodyDecoder, TrailerLimitsFollowLimits) {
  Limits limits;
  limits.max_headers = 2;
  const Decoded ok = decode_all(Framing::kChunked, 0, "0\r\nA: 1\r\nB: 2\r\n\r\n", 0, limits);
  EXPECT_TRUE(ok.done);
  const Decoded bad = decode_all(Framing::kChunked, 0, "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0, limits);
  EXPECT_EQ(bad.error, ParseError::kTrailersTooLarge);
  EXPECT_EQ(status_for(bad.error), 431);
}

}  // namespace
}  // namespace portico::codec::http1
