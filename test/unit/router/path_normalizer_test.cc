#include "router/path_normalizer.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::router {
namespace {

struct Case {
  const char* raw;
  const char* want;  // nullptr = rejected with `error`
  PathStatus error = PathStatus::kUnchanged;
};

// Expected normal forms, including the traversal tricks a gateway must not fall for.
const Case kCases[] = {
    // Already normal: served from the fast scan.
    {"/", "/"},
    {"/a", "/a"},
    {"/a/b/c", "/a/b/c"},
    {"/a/b/", "/a/b/"},
    {"/v1/checkout", "/v1/checkout"},
    {"/a.b/c..d/e.", "/a.b/c..d/e."},
    {"/~user", "/~user"},
    {"/a-b_c~d", "/a-b_c~d"},
    // Dot segments (RFC 3986 §5.2.4).
    {"/a/./b/../c", "/a/c"},
    {"/a/b/..", "/a/"},
    {"/a/b/.", "/a/b/"},
    {"/a/b/../", "/a/"},
    {"/./a", "/a"},
    {"/.", "/"},
    {"/..", "/"},
    {"/../../etc", "/etc"},
    {"/a/../../../etc/passwd", "/etc/passwd"},
    {"/a/b/c/../../d", "/a/d"},
    {"/.hidden", "/.hidden"},
    {"/a/.../b", "/a/.../b"},
    {"/a/..b/c", "/a/..b/c"},
    // Duplicate slashes collapse (merged before dot segments are resolved, as nginx does).
    {"//private", "/private"},
    {"///a//b///", "/a/b/"},
    {"//", "/"},
    {"/a//../b", "/b"},
    // Encoded dots are dots.
    {"/public/%2e%2e/private", "/private"},
    {"/public/%2E%2E/private", "/private"},
    {"/public/.%2e/private", "/private"},
    {"/a/%2e/b", "/a/b"},
    {"/a/%2e%2e", "/"},
    {"/%2e%2e/%2e%2e/etc", "/etc"},
    // Encoded slashes are data, never separators: no traversal through them.
    {"/public/..%2fprivate", "/public/..%2Fprivate"},
    {"/public/..%2Fprivate", "/public/..%2Fprivate"},
    {"/a%2fb", "/a%2Fb"},
    {"/a%2F..%2Fb", "/a%2F..%2Fb"},
    {"/%2e%2e%2fetc", "/..%2Fetc"},
    // Unreserved characters decode; everything else keeps an upper-case escape.
    {"/%7Euser", "/~user"},
    {"/%7euser", "/~user"},
    {"/%41%62%63", "/Abc"},
    {"/%2D%5F%2E%7E", "/-_.~"},
    {"/a%20b", "/a%20b"},
    {"/a%3fb", "/a%3Fb"},
    {"/%e2%82%ac", "/%E2%82%AC"},
    {"/%25", "/%25"},
    {"/%2541", "/%2541"},
    {"/%c3%A9", "/%C3%A9"},
    // Rejected.
    {"", nullptr, PathStatus::kNotAbsolute},
    {"a/b", nullptr, PathStatus::kNotAbsolute},
    {"*", nullptr, PathStatus::kNotAbsolute},
    {"http://h/a", nullptr, PathStatus::kNotAbsolute},
    {"/%zz", nullptr, PathStatus::kBadEscape},
    {"/a%4", nullptr, PathStatus::kBadEscape},
    {"/a%", nullptr, PathStatus::kBadEscape},
    {"/a%g1/b", nullptr, PathStatus::kBadEscape},
    {"/a%/b", nullptr, PathStatus::kBadEscape},
    {"/a%00b", nullptr, PathStatus::kNulByte},
    {"/%00", nullptr, PathStatus::kNulByte},
};

TEST(PathNormalizer, Table) {
  EXPECT_GE(std::size(kCases), 40u);
  for (const Case& c : kCases) {
    std::string out = "garbage";
    PathResult r = normalize_path(c.raw, out);
    if (c.want == nullptr) {
      EXPECT_FALSE(r.ok()) << c.raw;
      EXPECT_EQ(r.status, c.error) << c.raw;
      EXPECT_FALSE(describe(r.status).empty()) << c.raw;
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.raw;
    EXPECT_EQ(r.path(c.raw, out), c.want) << c.raw;
    // kUnchanged means exactly "the input already was the normal form".
    EXPECT_EQ(r.status == PathStatus::kUnchanged, std::string_view(c.raw) == c.want) << c.raw;
  }
}

TEST(PathNormalizer, LiteralNulRejected) {
  std::string out;
  std::string raw("/a\0b", 4);
  EXPECT_EQ(normalize_path(raw, out).status, PathStatus::kNulByte);
}

TEST(PathNormalizer, NormalPathLeavesOutputUntouched) {
  std::string out = "keep";
  PathResult r = normalize_path("/api/v1/orders/42", out);
  EXPECT_EQ(r.status, PathStatus::kUnchanged);
  EXPECT_EQ(out, "keep");
}

TEST(PathNormalizer, Idempotent) {
  for (const Case& c : kCases) {
    if (c.want == nullptr) continue;
    std::string out;
    PathResult r = normalize_path(c.want, out);
    EXPECT_EQ(r.status, PathStatus::kUnchanged) << c.want;
  }
}

TEST(PathNormalizer, ReusesOutputCapacity) {
  std::string out;
  out.reserve(64);
  const char* data = out.data();
  EXPECT_EQ(normalize_path("/a//b/../c%7e", out).status, PathStatus::kNormalized);
  EXPECT_EQ(out, "/a/c~");
  EXPECT_EQ(out.data(), data);  // no reallocation: the output never outgrows the input
}

}  // namespace
}  // namespace portico::router
