// Listener helpers: TCP acceptors with SO_REUSEPORT so each worker owns its own accept queue.
//
// Contract: called on the control thread while starting (or on a worker for its own acceptor).
// `open_acceptor` throws boost::system::system_error with the address in the message on failure
// (start-up only, never on the data path).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

namespace portico::net {

struct Address {
  std::string host;
  uint16_t port = 0;
  std::string to_string() const;
};

// Parses "host:port", "[v6]:port" or ":port"; returns false on malformed input.
bool parse_address(std::string_view text, Address& out);

boost::asio::ip::tcp::endpoint resolve_listen(const Address& addr);

// Opens, binds and listens. With reuse_port, several acceptors can share one address.
boost::asio::ip::tcp::acceptor open_acceptor(boost::asio::io_context& io,
                                             const boost::asio::ip::tcp::endpoint& ep,
                                             bool reuse_port, int backlog = 4096);

}  // namespace portico::net
