// Discovery: keeps every DNS name the running snapshot balances over resolved, so workers only
// ever see finished endpoint sets.
//
// Contract:
// - Thread: the control thread (the io_context given to the constructor), like the DnsResolver
//   it owns. Workers never call it.
// - `track(names, settled)`: from now on exactly `names` are kept resolved (names no longer
//   listed are forgotten). `settled` runs once, later, when every listed name has an answer —
//   addresses or an error — which may be at once (posted) if all are known.
// - Each name is re-resolved when its answer's TTL runs out. When a name's address set changes,
//   `on_change` runs (after the new answer is visible through `lookup`). A failed refresh keeps
//   the last good addresses (and retries with backoff); a name that never resolved keeps its
//   error until an answer arrives.
// - `family` picks addresses: v4_preferred (A records, AAAA only when there are none), v4_only,
//   v6_only, all.
// - Destroying it cancels every lookup; no callback runs afterwards.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "net/dns_resolver.h"
#include "upstream/cluster.h"

namespace portico::server {

// Resolver options from `portico.dns` (resolvers from /etc/resolv.conf when none are given).
net::DnsResolverOptions resolver_options(const config::DnsSettings& settings);

class Discovery {
 public:
  Discovery(boost::asio::io_context& io, const config::DnsSettings& settings);
  ~Discovery();
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  void track(const std::vector<std::string>& names, std::function<void()> settled);
  const upstream::HostAddresses* lookup(std::string_view name) const;
  upstream::AddressLookup lookup_function() const;

  std::function<void(const std::string& name)> on_change;

  const net::DnsResolverStats& stats() const { return resolver_.stats(); }
  size_t tracked() const { return names_.size(); }

 private:
  struct Entry {
    upstream::HostAddresses answer;
    bool known = false;
    net::DnsResolver::WatchId watch = 0;
  };
  std::vector<boost::asio::ip::address> pick(const std::vector<boost::asio::ip::address>& all) const;
  void on_answer(const std::string& name, std::vector<boost::asio::ip::address> addresses, std::string error);
  void check_settled();

  boost::asio::io_context& io_;
  net::DnsResolver resolver_;
  std::string family_;
  std::map<std::string, Entry, std::less<>> names_;
  std::vector<std::function<void()>> waiting_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace portico::server
