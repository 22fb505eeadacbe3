// Cluster: a compiled service (Kong `services[]`): where to send requests and how long to wait.
//
// Contract: built on the control thread while a snapshot compiles; immutable afterwards and
// shared by all workers. Its `targets` say what to resolve; its `endpoints` are what the targets
// resolved to when the cluster was built. When DNS answers change, the control thread builds a
// new Cluster with new endpoints (`with_addresses`) inside a new snapshot; requests that started
// on the old one finish with it. Load-balancing state is per worker (LocalSnapshot::balancers).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "upstream/balancer.h"
#include "upstream/circuit_breaker.h"
#include "upstream/hash_policy.h"
#include "upstream/health.h"
#include "session/tls.h"

namespace portico::upstream {

struct Endpoint {
  boost::asio::ip::tcp::endpoint address;
  std::string key;  // "ip:port": names the keep-alive pool; equal keys share connections
  uint32_t weight = 100;
  uint32_t target = 0;  // index in Cluster::targets of the target it came from (the first one)

  bool operator==(const Endpoint&) const = default;
};

// What a cluster balances over before resolution: a service's own host, or each target of the
// upstream the service names. `host` is an IP literal (IPv6 without brackets) or a DNS name.
struct TargetSpec {
  std::string host;
  uint16_t port = 80;
  uint32_t weight = 100;
};

// The current answer for one host name, as the control thread's resolver knows it.
struct HostAddresses {
  std::vector<boost::asio::ip::address> addresses;  // empty when the name did not resolve
  std::string error;                                // why not, when empty
};
// Returns the answer for a name, or nullptr while the name has not been resolved yet.
using AddressLookup = std::function<const HostAddresses*(std::string_view host)>;

struct Cluster {
  size_t index = 0;
  std::string name;
  std::string host;          // as configured (a name or an address)
  uint16_t port = 80;
  std::string host_header;   // "host" or "host:port" when the port is not the scheme default
  std::string path;          // service path prefix, empty when none
  std::vector<TargetSpec> targets;
  std::vector<Endpoint> endpoints;  // targets × their addresses, deduplicated by key
  // Load balancing (Kong `upstreams`; a plain service host balances its addresses round robin).
  std::string upstream_name;  // empty when the service points at a host, not an upstream
  Algorithm algorithm = Algorithm::kRoundRobin;
  HashPolicy hash;
  uint32_t slots = kDefaultSlots;
  std::string resolve_error; // why `endpoints` is empty (requests answer 503), else empty
  // Active health checks (Kong `upstreams[].healthchecks`); inactive unless an interval is set.
  HealthCheckSettings health_check;
  // One flag per endpoint (same index), written by the control thread's HealthChecker and read
  // by this cluster's balancers (upstream/health.h). Made anew, all healthy, by build_endpoints.
  std::shared_ptr<EndpointHealth> health;
  int retries = 5;
  std::chrono::milliseconds connect_timeout{60000};
  std::chrono::milliseconds write_timeout{60000};
  std::chrono::milliseconds read_timeout{60000};
  // TLS to the targets (service `protocol: https`): the client context built from the service's
  // tls_verify, tls_verify_depth, ca_certificates and client_certificate; null = plaintext. The
  // server name sent and verified is the Host sent upstream, without its port (none for an IP).
  std::shared_ptr<const session::TlsContext> tls;
  // Thresholds and in-flight counts (circuit_breaker.h), shared with every cluster of the same
  // upstream; null when neither `circuit_breakers` nor a route's retry budget needs them. The
  // pointer is fixed, the counts inside change (atomics), even though the Cluster is const.
  std::shared_ptr<CircuitBreaker> breaker;
};

// True when `host` is an IP literal, which needs no resolution.
bool is_address(std::string_view host);

// Builds `endpoints` (and `resolve_error`) from `targets`: IP literals directly, names through
// `lookup` (a name without an answer yet contributes nothing). Every address of a target carries
// the target's weight; an endpoint key listed twice is kept once. `health` is replaced by a new,
// all-healthy EndpointHealth of the new size.
void build_endpoints(Cluster& cluster, const AddressLookup& lookup);

// Before `next` is published in place of `running`: every breaker of `next` adopts the counts of
// the breaker of the same upstream (or plain service, by name) in `running`, so a reload keeps
// what is in flight counted against the limits (circuit_breaker.h). Control thread only.
void carry_breaker_counts(const std::vector<std::shared_ptr<const Cluster>>& running,
                          const std::vector<std::shared_ptr<const Cluster>>& next);

// "host:port" of target `index` as an operator writes it (IPv6 in brackets).
std::string target_text(const Cluster& cluster, size_t index);

// A copy of `cluster` with endpoints rebuilt through `lookup`, or nullptr when they would not
// change (so the caller can keep sharing the old cluster).
std::shared_ptr<const Cluster> with_addresses(const Cluster& cluster, const AddressLookup& lookup);

}  // namespace portico::upstream
