// DnsResolver: asynchronous stub resolver with a TTL cache and watches, for the control thread.
//
// Contract:
// - Thread: every member function runs on the thread of the io_context given to the constructor
//   (the control thread); callbacks run there too. Workers never call it: they receive resolved
//   endpoint sets inside snapshots.
// - Suspension: `resolve(name, family, callback)` never blocks and never calls `callback` before
//   it returns (answers known at once are posted). The coroutine `resolve(name, family)` suspends
//   until the answer is known.
// - Order of sources: IP literal → hosts file → cache → UDP query to each nameserver in turn,
//   `attempts` rounds, with a per-try timeout. Concurrent resolves of one (name, family) share
//   one query. A and AAAA are queried in parallel and merged for DnsFamily::kAny.
// - Responses are accepted only from the connected nameserver address and port, with our random
//   id and exactly our question; anything else is counted and ignored while the try's timer runs.
// - Truncation (TC): treated as a failure of that server, and the next server/attempt is tried.
//   There is no TCP fallback: A/AAAA answers for one name fit in 512 bytes unless the name has
//   dozens of addresses, and a gateway does not need more than the first few.
// - Caching: positive answers for their TTL clamped to [min_ttl, max_ttl]; NXDOMAIN and NODATA
//   for negative_ttl; SERVFAIL, timeouts and network errors are not cached.
// - Ownership: the resolver owns sockets, timers and callbacks. Destroying it cancels every query
//   and watch; pending resolve callbacks are then posted with DnsError::kCancelled. The
//   io_context must outlive the resolver.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/counter.h"
#include "net/resolv_conf.h"
#include "runtime/task.h"

namespace portico::net {

enum class DnsFamily : uint8_t { kAny, kV4, kV6 };

enum class DnsError : uint8_t {
  kOk = 0,
  kInvalidName,    // not a valid DNS name
  kNxDomain,       // the name does not exist (negatively cached)
  kNoData,         // the name exists but has no address of the asked family (negatively cached)
  kServFail,       // every server failed or refused (last failure reported)
  kTruncated,      // the last answer was truncated (see contract)
  kTimeout,        // no acceptable answer within timeout × attempts × servers
  kNetwork,        // socket error (e.g. ICMP port unreachable from every server)
  kNoNameservers,  // nothing to ask and not in the hosts file
  kCancelled,      // the resolver was destroyed first
};

std::string_view to_string(DnsError error);

enum class DnsSource : uint8_t { kLiteral, kHostsFile, kCache, kNetwork };

struct DnsResult {
  DnsError error = DnsError::kOk;
  DnsSource source = DnsSource::kNetwork;
  std::vector<boost::asio::ip::address> addresses;  // sorted, no duplicates; empty on error
  std::chrono::seconds ttl{0};  // clamped TTL the answer was cached with (negative TTL on NXDOMAIN)
  core::MonoTime expires_at{};  // when the answer goes stale; a watch refreshes then

  bool ok() const { return error == DnsError::kOk; }
};

struct DnsResolverOptions {
  std::vector<boost::asio::ip::udp::endpoint> nameservers;
  std::chrono::milliseconds timeout{5000};  // per try
  int attempts = 2;                         // rounds over all nameservers
  std::string hosts_path = "/etc/hosts";    // empty: no hosts file
  std::chrono::seconds hosts_ttl{60};       // TTL of hosts-file answers; the file is re-read after it
  std::chrono::seconds min_ttl{1};
  std::chrono::seconds max_ttl{3600};
  std::chrono::seconds negative_ttl{5};
  std::chrono::milliseconds watch_backoff_initial{1000};  // first retry after a failed refresh
  std::chrono::milliseconds watch_backoff_max{30000};     // doubling stops here
  size_t max_cache_entries = 10000;

  // Nameservers (port 53), timeout and attempts from resolv.conf.
  static DnsResolverOptions from_resolv_conf(const ResolvConf& conf);
};

// Counters: written on the control thread, readable from any thread (e.g. the admin API).
struct DnsResolverStats {
  core::Counter queries_sent;        // UDP datagrams sent (one per family per try)
  core::Counter responses_ignored;   // malformed, wrong id or wrong question
  core::Counter timeouts;            // tries that saw no acceptable answer in time
  core::Counter server_failures;     // SERVFAIL/REFUSED/TC/socket error from one server
  core::Counter cache_hits;
  core::Counter shared_lookups;      // resolves that joined a query already in flight
  core::Counter lookup_failures;     // network lookups that ended without addresses
  core::Counter watch_changes;       // on_change calls
  core::Counter watch_refresh_failures;
};

class DnsResolver {
 public:
  using Callback = std::function<void(DnsResult)>;
  using OnChange = std::function<void(const std::vector<boost::asio::ip::address>&)>;
  using WatchId = uint64_t;

  DnsResolver(boost::asio::io_context& io, DnsResolverOptions options);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Resolves `name`; `callback` runs exactly once, later, on the io_context thread (or never, if
  // the io_context is destroyed first).
  void resolve(std::string name, DnsFamily family, Callback callback);
  runtime::Task<DnsResult> resolve(std::string name, DnsFamily family = DnsFamily::kAny);

  // Keeps `name` resolved: resolves now, again whenever the answer expires, and calls `on_change`
  // with the new address set only when it differs from the last one delivered (the first success
  // always counts as a change). A failed refresh keeps the last good set, counts
  // watch_refresh_failures and retries with exponential backoff; `on_change` is never called with
  // an empty set. `on_change` may call unwatch() (even for its own id) or destroy the resolver.
  WatchId watch(std::string name, DnsFamily family, OnChange on_change);
  void unwatch(WatchId id);

  // Drops every cached answer (not in-flight queries); the next resolve asks again.
  void clear_cache();

  const DnsResolverStats& stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace portico::net
