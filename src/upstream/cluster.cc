#include "upstream/cluster.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

namespace portico::upstream {

void resolve(Cluster& cluster) {
  cluster.endpoints.clear();
  cluster.resolve_error.clear();
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(cluster.host, ec);
  auto add = [&](const boost::asio::ip::tcp::endpoint& ep) {
    std::string text = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
    text += ":" + std::to_string(ep.port());
    for (const auto& e : cluster.endpoints) {
      if (e.key == text) return;
    }
    cluster.endpoints.push_back(Endpoint{ep, std::move(text)});
  };
  if (!ec) {
    add({addr, cluster.port});
    return;
  }
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(cluster.host, std::to_string(cluster.port), ec);
  if (ec) {
    cluster.resolve_error = "name resolution failed for " + cluster.host + ": " + ec.message();
    return;
  }
  for (const auto& r : results) add(r.endpoint());
  if (cluster.endpoints.empty()) cluster.resolve_error = "name resolution failed for " + cluster.host;
}

}  // namespace portico::upstream
