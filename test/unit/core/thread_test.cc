// Background threads are named and run under SCHED_BATCH (a wake-up never preempts a worker).
#include "core/thread.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <string>
#include <thread>

namespace portico::core {
namespace {

TEST(BackgroundThread, IsNamedAndBatchScheduled) {
  if (sched_getscheduler(0) == SCHED_BATCH) GTEST_SKIP() << "the test itself runs under SCHED_BATCH";
  std::string name;
  int policy = -1;
  bool set = false;
  std::thread t([&] {
    set = become_background_thread("portico-a-very-long-thread-name");
    char buf[32] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    name = buf;
    policy = sched_getscheduler(0);
  });
  t.join();
  EXPECT_EQ(name, "portico-a-very-");  // the kernel keeps 15 bytes
  if (!set) GTEST_SKIP() << "this system refused SCHED_BATCH";
  EXPECT_EQ(policy, SCHED_BATCH);
  EXPECT_NE(sched_getscheduler(0), SCHED_BATCH) << "only the calling thread changes";
}

}  // namespace
}  // namespace portico::core
