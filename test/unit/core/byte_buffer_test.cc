#include "core/byte_buffer.h"

#include <gtest/gtest.h>

#include <cstring>

namespace portico::core {
namespace {

void put(ByteBuffer& b, std::string_view s) {
  ASSERT_GE(b.tail_room(), s.size());
  std::memcpy(b.tail(), s.data(), s.size());
  b.commit(s.size());
}

TEST(ByteBuffer, ConsumeAndResetWhenEmpty) {
  ByteBuffer b(16);
  put(b, "hello");
  b.consume(2);
  EXPECT_EQ(b.view(), "llo");
  b.consume(3);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.tail_room(), 16u);  // fully consumed buffers start over at the front
}

TEST(ByteBuffer, EraseKeepsBytesBeforeAndAfter) {
  ByteBuffer b(32);
  put(b, "HEADbodybodyNEXT");
  const char* head = b.data();
  b.erase(4, 12);
  EXPECT_EQ(b.view(), "HEADNEXT");
  EXPECT_EQ(b.data(), head);  // the head never moves
}

TEST(ByteBuffer, ReserveCompactsThenGrowsUpToMax) {
  ByteBuffer b(8);
  put(b, "abcdefgh");
  b.consume(6);
  EXPECT_TRUE(b.reserve_tail(6, 8));
  EXPECT_EQ(b.view(), "gh");
  EXPECT_EQ(b.begin_offset(), 0u);
  EXPECT_TRUE(b.reserve_tail(20, 64));
  EXPECT_GE(b.capacity(), 22u);
  EXPECT_EQ(b.view(), "gh");
  EXPECT_FALSE(b.reserve_tail(1000, 64));
}

}  // namespace
}  // namespace portico::core
