// HealthChecker: Kong's active health checks, run on the control thread.
//
// Contract
// - Thread: the control thread's io_context only (constructor, update(), stop(), and every probe
//   and timer). Never touches a worker; workers see results through each Cluster's EndpointHealth
//   (upstream/health.h), which update() and every state change write.
// - update(clusters) is called with the clusters of each snapshot before it is published (start,
//   reload, DNS change). Probing state lives per upstream name and per endpoint key ("ip:port"):
//   a key still present keeps its state and counters, a new key starts healthy, a key no longer
//   present stops being probed. Settings that changed restart the counters (the state stays).
//   Clusters whose upstream has no active check (both intervals 0) are left all healthy.
// - Probes: non-blocking (Asio coroutines), at most `concurrency` in flight per upstream, each
//   bounded by `timeout` (a race against a timer). An endpoint is probed every healthy.interval
//   while healthy and every unhealthy.interval while unhealthy (0 = not probed in that state).
//   `http` sends `GET http_path HTTP/1.1` with Host = the endpoint key, the configured headers and
//   `Connection: close`, and classifies the status line; `https` does the same after a TLS
//   handshake (HealthCheckSettings::tls, server name https_sni or the target's host; a failed
//   handshake is a TCP failure, as in Kong); `tcp` only connects.
// - Passive checks (upstream/health.h): update() gives every cluster of an upstream with passive
//   checks a sink that posts the workers' decisions here (on_passive); an ejection uses the
//   same state as the probes, and with ejection_base > 0 a timer re-admits the endpoint after
//   the back-off (EjectionBackoff). Active probes can bring it back earlier (healthy.successes);
//   an active failure verdict has no timer (as in Kong, only probes end it).
// - Every state change is logged (warn when a target turns unhealthy, info when it recovers).
// - stop() cancels the timers; probes in flight end without effect. Destroy before the io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "upstream/cluster.h"

namespace portico::upstream {

class HealthChecker {
 public:
  explicit HealthChecker(boost::asio::io_context& io);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void update(const std::vector<std::shared_ptr<const Cluster>>& clusters);
  void stop();

  // An operator's decision (Kong's admin PUT /upstreams/{u}/targets/{t}/healthy|unhealthy):
  // the endpoints `keys` of `upstream` take that state at once, their counters restart and a
  // pending ejection timer is cancelled. Probes go on and may change the state again later, as
  // in Kong. Returns how many of `keys` the upstream's checks know, or -1 when the upstream has
  // no health checks (active or passive) to hold a state.
  int set_by_operator(const std::string& upstream, const std::vector<std::string>& keys, bool healthy);

  // Probes sent and state changes since start (admin /status).
  uint64_t probes() const { return probes_; }
  uint64_t state_changes() const { return state_changes_; }

 private:
  struct Target;
  struct Group;
  void schedule(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t);
  void enqueue(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t);
  void start_probe(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t);
  void on_result(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t, int outcome);
  void on_passive(const std::string& upstream, const std::string& key, bool healthy);
  void readmit(const std::shared_ptr<Group>& g, const std::shared_ptr<Target>& t);
  // Writes the group's state into every cluster it serves (flags by key, threshold).
  void publish(Group& g);

  boost::asio::io_context& io_;
  // Posted passive decisions reach this checker through it; reset by stop() (control thread).
  struct Inbox {
    HealthChecker* checker = nullptr;
  };
  std::shared_ptr<Inbox> inbox_;
  std::map<std::string, std::shared_ptr<Group>> groups_;  // by upstream name
  bool stopped_ = false;
  uint64_t probes_ = 0;
  uint64_t state_changes_ = 0;
};

}  // namespace portico::upstream
