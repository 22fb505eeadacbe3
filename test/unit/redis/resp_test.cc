#include "redis/resp.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::redis {
namespace {

TEST(RespEncode, CommandsAreArraysOfBulkStringsSoArgumentsMayHoldAnyByte) {
  std::string out;
  encode_command(out, {"SET", "k", std::string_view("a\r\nb\0c", 6)});
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\r\nb\0c\r\n", 32));
  out.clear();
  encode_command(out, std::vector<std::string_view>{"PING"});
  EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n");
  out.clear();
  encode_command(out, {"GET", ""});
  EXPECT_EQ(out, "*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
}

struct Parsed {
  RespStatus status;
  RespReply reply;
  size_t consumed = 0;
  std::string error;
};

Parsed parse(std::string_view in, RespLimits limits = {}) {
  Parsed p;
  RespParser parser(limits);
  p.status = parser.parse(in, p.reply, p.consumed);
  p.error = parser.error();
  return p;
}

TEST(RespParse, ScalarReplies) {
  auto p = parse("+OK\r\n");
  ASSERT_EQ(p.status, RespStatus::kComplete);
  EXPECT_EQ(p.reply.top().type, RespType::kSimpleString);
  EXPECT_EQ(p.reply.top().text, "OK");
  EXPECT_EQ(p.consumed, 5u);

  p = parse("-NOSCRIPT No matching script. Please use EVAL.\r\n");
  ASSERT_EQ(p.status, RespStatus::kComplete);
  EXPECT_EQ(p.reply.top().type, RespType::kError);
  EXPECT_EQ(p.reply.top().text, "NOSCRIPT No matching script. Please use EVAL.");

  p = parse(":-9223372036854775808\r\n");
  ASSERT_EQ(p.status, RespStatus::kComplete);
  EXPECT_EQ(p.reply.top().integer, INT64_MIN);

  p = parse("$5\r\nhe\r\no\r\n");
  ASSERT_EQ(p.status, RespStatus::kComplete);
  EXPECT_EQ(p.reply.top().type, RespType::kBulkString);
  EXPECT_EQ(p.reply.top().text, "he\r\no");

  p = parse("$0\r\n\r\n");
  ASSERT_EQ(p.status, RespStatus::kComplete);
  EXPECT_EQ(p.reply.top().text, "");

  EXPECT_EQ(parse("$-1\r\n").reply.top().type, RespType::kNull);
  EXPECT_EQ(parse("*-1\r\n").reply.top().type, RespType::kNull);
}

TEST(RespParse, NestedArraysAreFlattenedInPreOrder) {
  const std::string in = "*3\r\n:1\r\n*2\r\n$1\r\na\r\n*0\r\n+x\r\n:7\r\n";
  auto p = parse(in);
  ASSERT_EQ(p.status, RespStatus::kComplete);
  EXPECT_EQ(p.consumed, in.size() - 4);  // the trailing ":7" belongs to the next reply
  ASSERT_EQ(p.reply.nodes.size(), 6u);
  EXPECT_EQ(p.reply.nodes[0].integer, 3);
  EXPECT_EQ(p.reply.nodes[1].integer, 1);
  EXPECT_EQ(p.reply.nodes[2].type, RespType::kArray);
  EXPECT_EQ(p.reply.nodes[3].text, "a");
  EXPECT_EQ(p.reply.nodes[4].integer, 0);
  EXPECT_EQ(p.reply.nodes[5].text, "x");
  EXPECT_EQ(p.reply.skip(2), 5u);
  EXPECT_EQ(p.reply.skip(0), 6u);
}

TEST(RespParse, EveryPrefixOfAReplyNeedsMore) {
  const std::string in = "*2\r\n$11\r\nhello world\r\n*1\r\n:-5\r\n";
  for (size_t n = 0; n < in.size(); ++n) {
    EXPECT_EQ(parse(in.substr(0, n)).status, RespStatus::kNeedMore) << n;
  }
  auto p = parse(in);
  ASSERT_EQ(p.status, RespStatus::kComplete);
  EXPECT_EQ(p.consumed, in.size());
}

TEST(RespParse, BrokenFramingIsAnErrorWithAReason) {
  EXPECT_EQ(parse("!oops\r\n").error, "unknown reply type");
  EXPECT_EQ(parse("_\r\n").error, "unknown reply type");  // RESP3 null: never asked for
  EXPECT_EQ(parse("+OK\n").error, "line not terminated by CRLF");
  EXPECT_EQ(parse("+O\rK\r\n").error, "CR inside a line");
  EXPECT_EQ(parse(":12a\r\n").error, "bad integer");
  EXPECT_EQ(parse(":+1\r\n").error, "bad integer");
  EXPECT_EQ(parse(":01\r\n").error, "bad integer");
  EXPECT_EQ(parse(":-0\r\n").error, "bad integer");
  EXPECT_EQ(parse(":9223372036854775808\r\n").error, "bad integer");
  EXPECT_EQ(parse("$-2\r\n").error, "bad bulk string length");
  EXPECT_EQ(parse("$3\r\nabcd\r\n").error, "bulk string not terminated by CRLF");
  EXPECT_EQ(parse("*-2\r\n").error, "bad array length");
}

TEST(RespParse, LimitsHoldBeforeAnythingIsBuffered) {
  RespLimits limits;
  limits.max_line = 8;
  limits.max_bulk = 4;
  limits.max_elements = 3;
  limits.max_depth = 2;
  EXPECT_EQ(parse("+" + std::string(9, 'a'), limits).error, "line too long");
  EXPECT_EQ(parse("+" + std::string(8, 'a'), limits).status, RespStatus::kNeedMore);
  EXPECT_EQ(parse("$5\r\n", limits).error, "bulk string too large");
  EXPECT_EQ(parse("*4\r\n", limits).error, "too many array elements");
  EXPECT_EQ(parse("*2\r\n*2\r\n", limits).error, "too many array elements");
  EXPECT_EQ(parse("*1\r\n*1\r\n*1\r\n", limits).error, "arrays nested too deeply");
  EXPECT_EQ(parse("*1\r\n*1\r\n:1\r\n", limits).status, RespStatus::kComplete);
  EXPECT_EQ(parse("$9223372036854775807\r\n").error, "bulk string too large");
}

}  // namespace
}  // namespace portico::redis
