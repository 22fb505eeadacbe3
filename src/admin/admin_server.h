// AdminServer: the admin API listener (Kong's port 8001), served by the same HTTP/1.1 codec and
// stream as the proxy.
//
// Contract: runs on the control thread's io_context. `handler` is called on that thread for each
// complete request (bodies up to `kMaxAdminBody` are read whole: admin payloads are config
// documents; a larger one is answered 413 and the connection closes) with a `respond` callback.
// The handler calls `respond` exactly once, on the control thread, at once or later (e.g. when a
// posted config has reached every worker); the connection waits for it, reads nothing more
// meanwhile, and answers 504 if it has not come within `kAdminReplyTimeout`. Calls after that (or
// after the connection died) are ignored. The admin API is for operators: it is bound to
// 127.0.0.1 by default and has no authentication of its own.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "runtime/task.h"

namespace portico::admin {

struct AdminRequest {
  std::string method;
  std::string path;
  std::string query;
  std::string content_type;
  std::string accept;
  std::string body;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
};

inline constexpr std::size_t kMaxAdminBody = std::size_t{64} << 20;
inline constexpr std::chrono::seconds kAdminReplyTimeout{60};

using AdminRespond = std::function<void(AdminResponse)>;
using AdminHandler = std::function<void(const AdminRequest&, AdminRespond respond)>;

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor acceptor, AdminHandler handler);
  void start();
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  void accept();
  runtime::Task<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  AdminHandler handler_;
};

}  // namespace portico::admin
