#include "core/arena.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::core {
namespace {

TEST(Arena, CopiesSurviveLaterAllocations) {
  Arena a(16);
  std::string_view x = a.copy("first value");
  std::string big(100, 'z');
  std::string_view y = a.copy(big);  // larger than a block
  std::string_view z = a.concat("a", ", ", "b");
  EXPECT_EQ(x, "first value");
  EXPECT_EQ(y, big);
  EXPECT_EQ(z, "a, b");
}

TEST(Arena, ResetReusesFirstBlock) {
  Arena a(64);
  std::string_view x = a.copy("abc");
  a.copy(std::string(200, 'q'));
  a.reset();
  std::string_view y = a.copy("xyz");
  EXPECT_EQ(x.data(), y.data());
  EXPECT_TRUE(a.copy("").empty());
}

}  // namespace
}  // namespace portico::core
