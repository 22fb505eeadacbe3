// AdminServer: the admin API listener (Kong's port 8001), served by the same HTTP/1.1 codec and
// stream as the proxy.
//
// Contract: runs on the control thread's io_context. `handler` is called on that thread for each
// complete request (bodies up to 16 MiB are read whole: admin payloads are config documents) and
// returns the response to send. The admin API is for operators: it is bound to 127.0.0.1 by
// default and has no authentication of its own.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
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

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

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
