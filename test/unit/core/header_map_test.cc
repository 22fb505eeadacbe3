#include "http/header_map.h"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

TEST(HeaderMap, CaseInsensitiveOps) {
  HeaderMap h;
  h.add("Content-Type", "text/plain");
  h.add("X-A", "1");
  h.add("x-a", "2");
  EXPECT_EQ(h.get("content-type").value(), "text/plain");
  EXPECT_EQ(h.count("X-a"), 2u);
  h.append_value("X-A", "3");
  EXPECT_EQ(h.get("x-a").value(), "1, 3");
  EXPECT_EQ(h.rename("x-a", "X-B"), 2u);
  EXPECT_FALSE(h.contains("x-a"));
  h.set("x-b", "only");
  EXPECT_EQ(h.count("X-B"), 1u);
  EXPECT_EQ(h.remove("CONTENT-TYPE"), 1u);
  EXPECT_EQ(h.size(), 1u);
}

TEST(HeaderMap, IequalsOnlyFoldsLetters) {
  EXPECT_TRUE(iequals("Host", "hOST"));
  EXPECT_FALSE(iequals("a-b", "a\rb"));
  EXPECT_FALSE(iequals("[", "{"));  // 0x5b vs 0x7b differ only in bit 0x20 but are not letters
  EXPECT_FALSE(iequals("ab", "abc"));
}

TEST(HeaderMap, OwnedStringsOutliveSource) {
  HeaderMap h;
  {
    std::string temp = "dynamic";
    h.add("X", h.own(temp));
  }
  EXPECT_EQ(h.get("x").value(), "dynamic");
}

}  // namespace
}  // namespace portico::http
