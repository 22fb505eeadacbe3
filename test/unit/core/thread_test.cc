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
  std::string name;
  int policy = -1;
  std::thread t([&] {
    become_background_thread("portico-a-very-long-thread-name");
    char buf[32] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    name = buf;
    policy = sched_getscheduler(0);
  });
  t.join();
  EXPECT_EQ(name, "portico-a-very-");  // the kernel keeps 15 bytes
  EXPECT_EQ(policy, SCHED_BATCH);
  EXPECT_NE(sched_getscheduler(0), SCHED_BATCH) << "only the calling thread changes";
}

}  // namespace
}  // namespace portico::core
