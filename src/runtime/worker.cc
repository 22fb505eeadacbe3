#include "runtime/worker.h"

#include <boost/asio/executor_work_guard.hpp>
#include <pthread.h>

#include <string>

namespace portico::runtime {

void Worker::start(std::function<void()> on_start) {
  thread_ = std::thread([this, on_start = std::move(on_start)] {
    std::string name = "portico-w" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    auto guard = boost::asio::make_work_guard(io_);
    if (on_start) on_start();
    io_.run();
  });
}

}  // namespace portico::runtime
