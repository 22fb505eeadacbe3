#include "net/listener.h"

#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/system/system_error.hpp>

namespace portico::net {

std::string Address::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool parse_address(std::string_view text, Address& out) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;
  }
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  out.host = host.empty() ? "0.0.0.0" : std::string(host);
  out.port = static_cast<uint16_t>(value);
  return true;
}

boost::asio::ip::tcp::endpoint resolve_listen(const Address& addr) {
  std::string host = addr.host == "localhost" ? "127.0.0.1" : addr.host;
  return {boost::asio::ip::make_address(host), addr.port};
}

boost::asio::ip::tcp::acceptor open_acceptor(boost::asio::io_context& io,
                                             const boost::asio::ip::tcp::endpoint& ep,
                                             bool reuse_port, int backlog) {
  boost::asio::ip::tcp::acceptor acceptor(io);
  acceptor.open(ep.protocol());
  acceptor.set_option(boost::asio::socket_base::reuse_address(true));
  if (reuse_port) {
    int one = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      throw boost::system::system_error(errno, boost::system::system_category(), "SO_REUSEPORT");
    }
  }
  if (ep.address().is_v6()) acceptor.set_option(boost::asio::ip::v6_only(true));
  boost::system::error_code ec;
  acceptor.bind(ep, ec);
  if (ec) {
    throw boost::system::system_error(ec, "bind " + ep.address().to_string() + ":" + std::to_string(ep.port()));
  }
  acceptor.listen(backlog);
  acceptor.non_blocking(true);
  return acceptor;
}

}  // namespace portico::net
