#include "core/thread.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <string>

namespace portico::core {

bool become_background_thread(const char* name) {
  std::string n(name, strnlen(name, 15));
  pthread_setname_np(pthread_self(), n.c_str());
#ifdef SCHED_BATCH
  sched_param param{};
  param.sched_priority = 0;
  return pthread_setschedparam(pthread_self(), SCHED_BATCH, &param) == 0;
#else
  return false;
#endif
}

}  // namespace portico::core
