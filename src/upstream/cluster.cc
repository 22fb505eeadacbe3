#include "upstream/cluster.h"

#include <boost/asio/ip/address.hpp>
#include <unordered_map>

namespace portico::upstream {

namespace {

std::string endpoint_key(const boost::asio::ip::address& address, uint16_t port) {
  std::string text = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return text + ":" + std::to_string(port);
}

}  // namespace

bool is_address(std::string_view host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

void build_endpoints(Cluster& cluster, const AddressLookup& lookup) {
  cluster.endpoints.clear();
  cluster.resolve_error.clear();
  std::string errors;
  bool pending = false;
  uint32_t target_index = 0;
  auto add = [&](const boost::asio::ip::address& address, const TargetSpec& t) {
    std::string key = endpoint_key(address, t.port);
    for (const auto& e : cluster.endpoints) {
      if (e.key == key) return;
    }
    cluster.endpoints.push_back(Endpoint{{address, t.port}, std::move(key), t.weight, target_index});
  };
  for (; target_index < cluster.targets.size(); ++target_index) {
    const TargetSpec& t = cluster.targets[target_index];
    boost::system::error_code ec;
    auto literal = boost::asio::ip::make_address(t.host, ec);
    if (!ec) {
      add(literal, t);
      continue;
    }
    const HostAddresses* answer = lookup ? lookup(t.host) : nullptr;
    if (!answer) {
      pending = true;
      continue;
    }
    if (answer->addresses.empty()) {
      errors += (errors.empty() ? "" : "; ") + ("name resolution failed for " + t.host + ": " + answer->error);
    }
    for (const auto& a : answer->addresses) add(a, t);
  }
  cluster.health = std::make_shared<EndpointHealth>(cluster.endpoints.size());
  if (!cluster.endpoints.empty()) return;
  if (cluster.targets.empty()) {
    cluster.resolve_error = "upstream " + cluster.upstream_name + " has no targets";
  } else if (!errors.empty()) {
    cluster.resolve_error = std::move(errors);
  } else if (pending) {
    cluster.resolve_error = "name resolution of " + cluster.host + " has not finished";
  }
}

namespace {

std::string breaker_key(const Cluster& c) {
  return c.upstream_name.empty() ? "service " + c.name : "upstream " + c.upstream_name;
}

}  // namespace

void carry_breaker_counts(const std::vector<std::shared_ptr<const Cluster>>& running,
                          const std::vector<std::shared_ptr<const Cluster>>& next) {
  std::unordered_map<std::string, const CircuitBreaker*> old;
  for (const auto& c : running) {
    if (c->breaker) old.emplace(breaker_key(*c), c->breaker.get());
  }
  if (old.empty()) return;
  for (const auto& c : next) {
    if (!c->breaker) continue;
    auto it = old.find(breaker_key(*c));
    if (it == old.end() || it->second == c->breaker.get()) continue;
    c->breaker->adopt_counts(*it->second);
  }
}

std::string target_text(const Cluster& cluster, size_t index) {
  if (index >= cluster.targets.size()) return {};
  const TargetSpec& t = cluster.targets[index];
  const bool v6 = t.host.find(':') != std::string::npos;
  return (v6 ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
}

std::shared_ptr<const Cluster> with_addresses(const Cluster& cluster, const AddressLookup& lookup) {
  auto next = std::make_shared<Cluster>(cluster);
  build_endpoints(*next, lookup);
  if (next->endpoints == cluster.endpoints && next->resolve_error == cluster.resolve_error) return nullptr;
  return next;
}

}  // namespace portico::upstream
