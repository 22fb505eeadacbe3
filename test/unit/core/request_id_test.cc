#include "core/request_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace portico::core {
namespace {

TEST(RequestId, UuidV4Shape) {
  RequestIdGenerator g;
  char buf[36];
  g.next(buf);
  std::string id(buf, 36);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[8], '-');
  EXPECT_EQ(id[13], '-');
  EXPECT_EQ(id[18], '-');
  EXPECT_EQ(id[23], '-');
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    EXPECT_NE(std::string("0123456789abcdef").find(id[i]), std::string::npos) << id;
  }
}

TEST(RequestId, Unique) {
  RequestIdGenerator a;
  RequestIdGenerator b;
  std::set<std::string> seen;
  char buf[36];
  for (int i = 0; i < 10000; ++i) {
    a.next(buf);
    seen.emplace(buf, 36);
    b.next(buf);
    seen.emplace(buf, 36);
  }
  EXPECT_EQ(seen.size(), 20000u);
}

}  // namespace
}  // namespace portico::core
