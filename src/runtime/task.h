// Task<T>: the coroutine type of Portico's data path (Boost.Asio's awaitable).
//
// Contract: a Task runs on the executor that co_spawn or its awaiting parent gives it; on a worker
// that is the worker's single-threaded io_context, so a Task never needs a lock for worker state.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace portico::runtime {

template <class T = void>
using Task = boost::asio::awaitable<T>;

}  // namespace portico::runtime
