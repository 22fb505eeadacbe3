// The access-log writer and the page cache: batches written to a regular file leave the cache once
// they have settled on disk (posix_fadvise DONTNEED), except the last one and what the file held
// before.
#include "observability/access_log.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace portico::observability {
namespace {

constexpr size_t kBatch = 64 * 1024;  // 16 pages

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/portico-access-log-XXXXXX";
    if (mkdtemp(name) != nullptr) path_ = name;
  }
  ~TempDir() {
    if (!path_.empty()) std::system(("rm -rf " + path_).c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string batch_of(char c) {
  std::string lines;
  while (lines.size() < kBatch) lines += std::string(63, c) + '\n';  // kBatch is a multiple of 64
  return lines;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void sync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
}

// Which of the file's pages are in the page cache (mapping a file does not read it in).
std::vector<bool> resident_pages(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size == 0) {
    if (fd >= 0) ::close(fd);
    return {};
  }
  const auto size = static_cast<size_t>(st.st_size);
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return {};
  std::vector<unsigned char> in_core((size + page - 1) / page);
  const bool ok = ::mincore(map, size, in_core.data()) == 0;
  ::munmap(map, size);
  if (!ok) return {};
  std::vector<bool> out;
  for (unsigned char c : in_core) out.push_back((c & 1) != 0);
  return out;
}

size_t count_resident(const std::vector<bool>& pages, size_t from, size_t to) {
  size_t n = 0;
  for (size_t i = from; i < to && i < pages.size(); ++i) n += pages[i] ? 1 : 0;
  return n;
}

TEST(AccessLogPages, WrittenBatchesLeaveThePageCacheAndTheLinesStay) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  struct statfs fs {};
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) GTEST_SKIP() << "tmpfs keeps every page in memory: nothing to drop";
  const std::string path = dir.path() + "/access.log";
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  ASSERT_EQ(kBatch % page, 0u);
  const size_t pages_per_batch = kBatch / page;

  // What the file held before the log opened it: not the writer's to drop.
  const std::string before = batch_of('a');
  {
    std::ofstream out(path, std::ios::binary);
    out << before;
  }
  ASSERT_EQ(read_file(path), before);  // in the page cache now
  sync_file(path);

  std::string expected = before;
  {
    AccessLog log(path);
    // Batches settle at once here: each is fsync-ed before the next (in service, the kernel's
    // writeback delay and a margin).
    log.set_settle_time(std::chrono::milliseconds(0));
    for (char c : {'b', 'c', 'd', 'e'}) {
      std::string lines = batch_of(c);
      expected += lines;
      ASSERT_TRUE(log.submit(std::move(lines)));
      log.flush();
      if (c != 'e') sync_file(path);  // on disk, so its pages can go at the next batches
    }
    const std::vector<bool> pages = resident_pages(path);
    ASSERT_EQ(pages.size(), 5 * pages_per_batch);
    // Pages 0..: the earlier content (the writer's own lines only are dropped), then batches b, c,
    // d (on disk: dropped) and e (the last: cached).
    EXPECT_EQ(count_resident(pages, 0, pages_per_batch), pages_per_batch) << "the file's earlier content";
    EXPECT_EQ(count_resident(pages, pages_per_batch, 4 * pages_per_batch), 0u) << "batches on disk";
    EXPECT_EQ(count_resident(pages, 4 * pages_per_batch, 5 * pages_per_batch), pages_per_batch)
        << "the last batch";
    EXPECT_EQ(log.write_errors.load(), 0u);
  }
  EXPECT_EQ(read_file(path), expected);  // nothing lost: dropped pages are read back from disk

  // Truncated under the writer (`> access.log`): the next lines start the file again.
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  {
    AccessLog log(path);
    std::string lines = batch_of('f');
    ASSERT_TRUE(log.submit(std::string(lines)));
    log.flush();
    ASSERT_EQ(::truncate(path.c_str(), 0), 0);
    ASSERT_TRUE(log.submit(std::string(lines)));
    ASSERT_TRUE(log.submit(std::string(lines)));
    log.flush();
    EXPECT_EQ(read_file(path), lines + lines);
    EXPECT_EQ(log.write_errors.load(), 0u);
  }
}

TEST(AccessLogPages, BatchesStayCachedUntilTheyHaveSettled) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/access.log";
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  AccessLog log(path);
  EXPECT_GE(AccessLog::default_settle_time(), std::chrono::seconds(5));
  for (char c : {'a', 'b', 'c'}) {
    ASSERT_TRUE(log.submit(batch_of(c)));
    log.flush();
    sync_file(path);
  }
  const std::vector<bool> pages = resident_pages(path);
  ASSERT_EQ(pages.size(), 3 * kBatch / page);
  EXPECT_EQ(count_resident(pages, 0, pages.size()), pages.size()) << "written back, but not yet settled";
  EXPECT_EQ(read_file(path), batch_of('a') + batch_of('b') + batch_of('c'));
}

TEST(AccessLogPages, PipesAreWrittenAsBefore) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const std::string path = "/proc/self/fd/" + std::to_string(fds[1]);
  std::string got;
  {
    AccessLog log(path, /*reopen_every_write=*/false);
    ASSERT_TRUE(log.submit("one line\n"));
    ASSERT_TRUE(log.submit("another line\n"));
    log.flush();
    EXPECT_EQ(log.write_errors.load(), 0u);
  }
  ::close(fds[1]);
  char buf[64];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  EXPECT_EQ(got, "one line\nanother line\n");
}

}  // namespace
}  // namespace portico::observability
