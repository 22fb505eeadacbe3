#include "net/hosts_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

namespace portico::net {
namespace {

TEST(HostsFileTest, ParsesNamesAliasesCommentsAndBothFamilies) {
  HostsFile h = HostsFile::parse(
      "# comment line\n"
      "127.0.0.1\tlocalhost  loopback\n"
      "::1 localhost ip6-localhost # trailing comment\n"
      "\n"
      "10.0.0.5 Backend.Internal. api\r\n"
      "10.0.0.6 backend.internal\n"
      "not-an-ip broken.example\n"
      "10.0.0.7\n"
      "   \t  \n"
      "10.0.0.5 api\n");
  auto local = h.lookup("localhost", true, true);
  ASSERT_EQ(local.size(), 2u);
  EXPECT_EQ(local[0].to_string(), "127.0.0.1");
  EXPECT_EQ(local[1].to_string(), "::1");
  EXPECT_EQ(h.lookup("localhost", false, true).size(), 1u);
  EXPECT_EQ(h.lookup("LOOPBACK.", true, false).size(), 1u);
  auto backend = h.lookup("backend.internal", true, true);
  ASSERT_EQ(backend.size(), 2u);
  EXPECT_EQ(backend[1].to_string(), "10.0.0.6");
  EXPECT_EQ(h.lookup("api", true, true).size(), 1u);  // duplicate line collapsed
  EXPECT_TRUE(h.lookup("broken.example", true, true).empty());
  EXPECT_TRUE(h.lookup("missing", true, true).empty());
}

TEST(HostsFileTest, LoadsFromPathAndReportsMissingFile) {
  char path[] = "/tmp/portico_hosts_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "192.0.2.9 svc.test\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto h = HostsFile::load(path);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->lookup("svc.test", true, true).size(), 1u);
  std::remove(path);
  EXPECT_FALSE(HostsFile::load(path).has_value());
}

}  // namespace
}  // namespace portico::net
