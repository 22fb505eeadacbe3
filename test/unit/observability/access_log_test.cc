// The access-log writer and the page cache: batches written to a regular file leave the cache once
// they have settled on disk (posix_fadvise DONTNEED), except the last one and what the file held
// before.
#include "observability/access_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/temp_dir.h"

namespace portico::observability {
namespace {

constexpr size_t kBatch = 64 * 1024;  // 16 pages

using integration::read_file;
using integration::TempDir;

std::string batch_of(char c) {
  std::string lines;
  while (lines.size() < kBatch) lines += std::string(63, c) + '\n';  // kBatch is a multiple of 64
  return lines;
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

// Whether this filesystem keeps file pages in the page cache and drops clean ones when told to
// (not tmpfs or ramfs, which hold every page in memory, nor one with a cache of its own).
bool drops_clean_pages(const TempDir& dir) {
  const std::string probe = dir.write_file("probe", batch_of('p'));
  sync_file(probe);
  int fd = ::open(probe.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  const std::vector<bool> pages = resident_pages(probe);
  std::remove(probe.c_str());
  return !pages.empty() && count_resident(pages, 0, pages.size()) == 0;
}

size_t page_size() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)); }

// Writes `batches` through `log`, each one fsync-ed before the next so that it has settled.
void write_settled(AccessLog& log, const std::string& path, const std::vector<std::string>& batches) {
  for (const std::string& lines : batches) {
    ASSERT_TRUE(log.submit(std::string(lines)));
    log.flush();
    sync_file(path);
  }
}

TEST(AccessLogPages, WrittenBatchesLeaveThePageCacheAndTheLinesStay) {
  TempDir dir;
  if (!drops_clean_pages(dir)) GTEST_SKIP() << "this filesystem does not drop pages on advice";
  ASSERT_EQ(kBatch % page_size(), 0u);
  const size_t pages_per_batch = kBatch / page_size();

  // What the file held before the log opened it: not the writer's to drop.
  const std::string before = batch_of('a');
  const std::string path = dir.write_file("access.log", before);
  ASSERT_EQ(read_file(path), before);  // in the page cache now
  sync_file(path);

  std::string expected = before;
  {
    AccessLog log(path);
    // Batches settle at once here: each is fsync-ed before the next (in service, the kernel's
    // writeback delay and a margin).
    log.set_settle_time(std::chrono::milliseconds(0));
    write_settled(log, path, {batch_of('b'), batch_of('c'), batch_of('d')});
    ASSERT_TRUE(log.submit(batch_of('e')));
    log.flush();
    expected += batch_of('b') + batch_of('c') + batch_of('d') + batch_of('e');
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
}

TEST(AccessLogPages, BatchesOfAnySizeLeaveWholePagesIncludingTheSharedOnes) {
  TempDir dir;
  if (!drops_clean_pages(dir)) GTEST_SKIP() << "this filesystem does not drop pages on advice";
  const size_t page = page_size();
  // Batches of a page and a half (each page boundary falls inside a batch or between two), and
  // batches far smaller than a page (the 200 ms flush of a quiet log).
  for (size_t size : {page + page / 2 + 17, size_t{300}}) {
    const std::string path = dir.file("access-" + std::to_string(size) + ".log");
    AccessLog log(path);
    log.set_settle_time(std::chrono::milliseconds(0));
    std::vector<std::string> batches;
    std::string expected;
    const size_t count = size > page ? 8 : 60;
    for (size_t i = 0; i < count; ++i) {
      std::string lines(size - 1, static_cast<char>('a' + i % 26));
      lines += '\n';
      expected += lines;
      batches.push_back(std::move(lines));
    }
    write_settled(log, path, batches);
    // Settled and dropped: everything before the last batch; the page that batch starts in is
    // shared with the one before, so whole pages up to there.
    const size_t last_start = expected.size() - size;
    const std::vector<bool> pages = resident_pages(path);
    ASSERT_EQ(pages.size(), (expected.size() + page - 1) / page);
    EXPECT_EQ(count_resident(pages, 0, last_start / page), 0u) << "batches of " << size << " bytes";
    EXPECT_EQ(read_file(path), expected);
  }
}

TEST(AccessLogPages, AFileTruncatedUnderTheWriterStartsAgain) {
  TempDir dir;
  if (!drops_clean_pages(dir)) GTEST_SKIP() << "this filesystem does not drop pages on advice";
  const std::string path = dir.file("access.log");
  const size_t pages_per_batch = kBatch / page_size();
  AccessLog log(path);
  // Truncated while the lines before have not settled yet (nothing of them dropped so far).
  log.set_settle_time(std::chrono::hours(1));
  write_settled(log, path, {batch_of('a'), batch_of('b'), batch_of('c'), batch_of('d')});
  // `> access.log` (or logrotate's copytruncate): the next lines go to the start of the file.
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  log.set_settle_time(std::chrono::milliseconds(0));
  write_settled(log, path, {batch_of('e'), batch_of('f'), batch_of('g')});
  const std::vector<bool> pages = resident_pages(path);
  ASSERT_EQ(pages.size(), 3 * pages_per_batch);
  // The new lines are dropped as they settle, as if the file were new (not once the file grows
  // past where the old lines ended).
  EXPECT_EQ(count_resident(pages, 0, 2 * pages_per_batch), 0u);
  EXPECT_EQ(read_file(path), batch_of('e') + batch_of('f') + batch_of('g'));  // reading caches it again
  EXPECT_EQ(log.write_errors.load(), 0u);
}

TEST(AccessLogPages, BatchesStayCachedUntilTheyHaveSettled) {
  TempDir dir;
  if (!drops_clean_pages(dir)) GTEST_SKIP() << "this filesystem does not drop pages on advice";
  const std::string path = dir.file("access.log");
  AccessLog log(path);
  EXPECT_GE(AccessLog::default_settle_time(), std::chrono::seconds(5));
  write_settled(log, path, {batch_of('a'), batch_of('b'), batch_of('c')});
  const std::vector<bool> pages = resident_pages(path);
  ASSERT_EQ(pages.size(), 3 * kBatch / page_size());
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
