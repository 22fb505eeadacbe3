// Cluster: a compiled service (Kong `services[]`): where to send requests and how long to wait.
//
// Contract: built on the control thread while a snapshot compiles (DNS names are resolved then);
// immutable afterwards and shared by all workers. Load-balancing state is per worker and lives in
// the worker's UpstreamState, indexed by `index`.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "upstream/balancer.h"
#include "upstream/hash_policy.h"

namespace portico::upstream {

struct Endpoint {
  boost::asio::ip::tcp::endpoint address;
  std::string key;  // "ip:port": names the keep-alive pool; equal keys share connections
  uint32_t weight = 100;
};

struct Cluster {
  size_t index = 0;
  std::string name;
  std::string host;          // as configured (a name or an address)
  uint16_t port = 80;
  std::string host_header;   // "host" or "host:port" when the port is not the scheme default
  std::string path;          // service path prefix, empty when none
  std::vector<Endpoint> endpoints;
  // Load balancing (Kong `upstreams`; a plain service host balances its addresses round robin).
  std::string upstream_name;  // empty when the service points at a host, not an upstream
  Algorithm algorithm = Algorithm::kRoundRobin;
  HashPolicy hash;
  uint32_t slots = kDefaultSlots;
  std::string resolve_error; // non-empty when the host did not resolve: requests answer 503
  int retries = 5;
  std::chrono::milliseconds connect_timeout{60000};
  std::chrono::milliseconds write_timeout{60000};
  std::chrono::milliseconds read_timeout{60000};
};

// Resolves `cluster.host` (blocking; control thread only) into cluster.endpoints.
void resolve(Cluster& cluster);

}  // namespace portico::upstream
