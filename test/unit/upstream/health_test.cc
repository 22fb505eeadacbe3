// Health checks, the pure parts: Kong's consecutive-counter state machine, status
// classification, status-line parsing, how EndpointHealth reaches a balancer, and the passive
// counters and ejection back-off.
#include "upstream/health.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "upstream/balancer.h"

namespace portico::upstream {
namespace {

HealthCheckSettings thresholds(uint32_t successes, uint32_t http, uint32_t tcp, uint32_t timeouts) {
  HealthCheckSettings s;
  s.successes = successes;
  s.http_failures = http;
  s.tcp_failures = tcp;
  s.timeouts = timeouts;
  return s;
}

TEST(HealthCounter, StartsHealthyAndTurnsUnhealthyAfterConsecutiveHttpFailures) {
  auto s = thresholds(2, 3, 0, 0);
  HealthCounter c;
  EXPECT_TRUE(c.healthy());
  EXPECT_FALSE(c.record(ProbeOutcome::kHttpFailure, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kHttpFailure, s));
  EXPECT_TRUE(c.record(ProbeOutcome::kHttpFailure, s));
  EXPECT_FALSE(c.healthy());
  EXPECT_FALSE(c.record(ProbeOutcome::kHttpFailure, s)) << "already unhealthy: no second change";
}

TEST(HealthCounter, ASuccessClearsTheFailureCounters) {
  auto s = thresholds(1, 2, 2, 2);
  HealthCounter c;
  EXPECT_FALSE(c.record(ProbeOutcome::kHttpFailure, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kSuccess, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kHttpFailure, s)) << "the count restarted after the success";
  EXPECT_TRUE(c.healthy());
  EXPECT_TRUE(c.record(ProbeOutcome::kHttpFailure, s));
}

TEST(HealthCounter, EachFailureKindCountsOnItsOwn) {
  auto s = thresholds(1, 3, 2, 3);
  HealthCounter c;
  EXPECT_FALSE(c.record(ProbeOutcome::kHttpFailure, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kTimeout, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kTcpFailure, s));
  EXPECT_TRUE(c.healthy());
  EXPECT_TRUE(c.record(ProbeOutcome::kTcpFailure, s)) << "two tcp failures reach tcp_failures";
}

TEST(HealthCounter, TimeoutsThreshold) {
  auto s = thresholds(1, 0, 0, 2);
  HealthCounter c;
  EXPECT_FALSE(c.record(ProbeOutcome::kTimeout, s));
  EXPECT_TRUE(c.record(ProbeOutcome::kTimeout, s));
  EXPECT_FALSE(c.healthy());
}

TEST(HealthCounter, ComesBackAfterConsecutiveSuccessesAndAFailureRestartsThem) {
  auto s = thresholds(3, 1, 1, 1);
  HealthCounter c;
  EXPECT_TRUE(c.record(ProbeOutcome::kTcpFailure, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kSuccess, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kSuccess, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kHttpFailure, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kSuccess, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kSuccess, s));
  EXPECT_FALSE(c.healthy());
  EXPECT_TRUE(c.record(ProbeOutcome::kSuccess, s));
  EXPECT_TRUE(c.healthy());
}

TEST(HealthCounter, ZeroThresholdsNeverChangeTheState) {
  auto s = thresholds(0, 0, 0, 0);  // Kong's defaults
  HealthCounter c;
  for (int i = 0; i < 300; ++i) {
    EXPECT_FALSE(c.record(ProbeOutcome::kHttpFailure, s));
    EXPECT_FALSE(c.record(ProbeOutcome::kTcpFailure, s));
    EXPECT_FALSE(c.record(ProbeOutcome::kTimeout, s));
  }
  EXPECT_TRUE(c.healthy());
  auto down = thresholds(0, 1, 0, 0);
  EXPECT_TRUE(c.record(ProbeOutcome::kHttpFailure, down));
  for (int i = 0; i < 300; ++i) EXPECT_FALSE(c.record(ProbeOutcome::kSuccess, down));
  EXPECT_FALSE(c.healthy()) << "successes 0: probes never bring a target back";
}

TEST(HealthCounter, IgnoredStatusesMoveNothing) {
  auto s = thresholds(1, 2, 1, 1);
  HealthCounter c;
  EXPECT_FALSE(c.record(ProbeOutcome::kHttpFailure, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kIgnored, s));
  EXPECT_TRUE(c.record(ProbeOutcome::kHttpFailure, s)) << "the ignored status did not clear the failure";
}

TEST(HealthCounter, ResetCountersKeepsTheState) {
  auto s = thresholds(2, 2, 1, 1);
  HealthCounter c;
  EXPECT_TRUE(c.record(ProbeOutcome::kTcpFailure, s));
  EXPECT_FALSE(c.record(ProbeOutcome::kSuccess, s));
  c.reset_counters();
  EXPECT_FALSE(c.healthy());
  EXPECT_FALSE(c.record(ProbeOutcome::kSuccess, s));
  EXPECT_TRUE(c.record(ProbeOutcome::kSuccess, s));
}

TEST(HealthStatus, ClassifiesByKongsDefaultLists) {
  HealthCheckSettings s;
  EXPECT_EQ(classify_status(s, 200), ProbeOutcome::kSuccess);
  EXPECT_EQ(classify_status(s, 302), ProbeOutcome::kSuccess);
  EXPECT_EQ(classify_status(s, 500), ProbeOutcome::kHttpFailure);
  EXPECT_EQ(classify_status(s, 404), ProbeOutcome::kHttpFailure);
  EXPECT_EQ(classify_status(s, 429), ProbeOutcome::kHttpFailure);
  EXPECT_EQ(classify_status(s, 201), ProbeOutcome::kIgnored);
  EXPECT_EQ(classify_status(s, 418), ProbeOutcome::kIgnored);
}

TEST(HealthStatus, ParsesStatusLines) {
  EXPECT_EQ(parse_status_line("HTTP/1.1 200 OK\r\n"), 200);
  EXPECT_EQ(parse_status_line("HTTP/1.0 503 Service Unavailable\r\n\r\n"), 503);
  EXPECT_EQ(parse_status_line("HTTP/1.1 204\r\n"), 204);
  EXPECT_EQ(parse_status_line("HTTP/1.1 200"), 200);
  EXPECT_EQ(parse_status_line("HTTP/2 200 OK\r\n"), -1);
  EXPECT_EQ(parse_status_line("HTTP/1.1 20x OK\r\n"), -1);
  EXPECT_EQ(parse_status_line("HTTP/1.1 2000 OK\r\n"), -1);
  EXPECT_EQ(parse_status_line("SSH-2.0-OpenSSH\r\n"), -1);
  EXPECT_EQ(parse_status_line(""), -1);
}

TEST(EndpointHealth, VersionMovesOnlyOnChanges) {
  EndpointHealth h(3);
  EXPECT_EQ(h.version(), 0u);
  EXPECT_TRUE(h.healthy(0) && h.healthy(1) && h.healthy(2));
  h.set(1, true);
  EXPECT_EQ(h.version(), 0u);
  h.set(1, false);
  EXPECT_EQ(h.version(), 1u);
  EXPECT_FALSE(h.healthy(1));
  h.set(7, false);  // out of range: ignored, reads healthy
  EXPECT_TRUE(h.healthy(7));
  EXPECT_EQ(h.version(), 1u);
  h.set_down(true);
  EXPECT_TRUE(h.down());
  EXPECT_EQ(h.version(), 2u);
}

std::vector<Target> three() { return {{"10.0.0.1:80", 100}, {"10.0.0.2:80", 100}, {"10.0.0.3:80", 100}}; }

TEST(EndpointHealth, BalancersSkipUnhealthyTargetsAndTakeThemBack) {
  for (Algorithm algorithm : {Algorithm::kRoundRobin, Algorithm::kLeastConnections, Algorithm::kConsistentHashing,
                              Algorithm::kLeastRequest}) {
    auto b = make_balancer(algorithm, three());
    EndpointHealth h(3);
    h.set(1, false);
    b->sync_health(h);
    for (uint64_t r = 0; r < 200; ++r) {
      int pick = b->pick({"", r * 0x9E3779B97F4A7C15ull, -1});
      EXPECT_NE(pick, 1) << algorithm_name(algorithm);
      EXPECT_GE(pick, 0) << algorithm_name(algorithm);
    }
    h.set(1, true);
    b->sync_health(h);
    bool reached = false;
    for (uint64_t r = 0; r < 200 && !reached; ++r) reached = b->pick({"", r * 0x9E3779B97F4A7C15ull, -1}) == 1;
    EXPECT_TRUE(reached) << algorithm_name(algorithm) << ": a healthy target is picked again";
  }
}

TEST(EndpointHealth, AllUnhealthyOrDownMeansNoPick) {
  auto b = make_balancer(Algorithm::kRoundRobin, three());
  EndpointHealth h(3);
  for (size_t i = 0; i < 3; ++i) h.set(i, false);
  b->sync_health(h);
  EXPECT_EQ(b->pick({}), -1);
  for (size_t i = 0; i < 3; ++i) h.set(i, true);
  h.set_down(true);
  b->sync_health(h);
  EXPECT_EQ(b->pick({}), -1) << "below the threshold the upstream is down";
  h.set_down(false);
  b->sync_health(h);
  EXPECT_GE(b->pick({}), 0);
}

TEST(EndpointHealth, ConsistentHashingMovesOnlyTheUnhealthyTargetsKeys) {
  auto b = make_balancer(Algorithm::kConsistentHashing, three(), 1000);
  std::map<std::string, int> before;
  for (int k = 0; k < 500; ++k) {
    std::string key = "client-" + std::to_string(k);
    before[key] = b->pick({key, 0, -1});
  }
  EndpointHealth h(3);
  h.set(2, false);
  b->sync_health(h);
  for (const auto& [key, owner] : before) {
    int now = b->pick({key, 0, -1});
    if (owner == 2) {
      EXPECT_NE(now, 2) << key;
    } else {
      EXPECT_EQ(now, owner) << key << " moved though its target stayed healthy";
    }
  }
  h.set(2, true);
  b->sync_health(h);
  for (const auto& [key, owner] : before) EXPECT_EQ(b->pick({key, 0, -1}), owner) << key << " returns home";
}

// Passive checks: Kong's default lists, the tcp type, and the counters workers share.
TEST(PassiveHealth, ClassifiesByKongsPassiveDefaultsAndTcpIgnoresStatuses) {
  PassiveSettings p;
  EXPECT_EQ(classify_passive(p, 200), ProbeOutcome::kSuccess);
  EXPECT_EQ(classify_passive(p, 308), ProbeOutcome::kSuccess);
  EXPECT_EQ(classify_passive(p, 500), ProbeOutcome::kHttpFailure);
  EXPECT_EQ(classify_passive(p, 429), ProbeOutcome::kHttpFailure);
  EXPECT_EQ(classify_passive(p, 404), ProbeOutcome::kIgnored);
  EXPECT_EQ(classify_passive(p, 502), ProbeOutcome::kIgnored);
  p.type = PassiveSettings::Type::kTcp;
  EXPECT_EQ(classify_passive(p, 500), ProbeOutcome::kSuccess);
  EXPECT_FALSE(PassiveSettings{}.enabled());
}

struct Decisions {
  std::vector<std::pair<std::string, bool>> seen;
  EndpointHealth::PassiveSink sink() {
    return [this](const std::string& key, bool healthy) { seen.emplace_back(key, healthy); };
  }
};

TEST(PassiveHealth, DecidesOnceWhenAThresholdIsReachedAndASuccessRestartsTheCount) {
  PassiveSettings p;
  p.http_failures = 3;
  p.tcp_failures = 2;
  EndpointHealth h(2);
  Decisions d;
  h.set_passive_sink(d.sink());
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  h.report(0, "a", ProbeOutcome::kSuccess, p);  // clears: three more are needed
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  EXPECT_TRUE(d.seen.empty());
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  ASSERT_EQ(d.seen.size(), 1u);
  EXPECT_EQ(d.seen[0], (std::pair<std::string, bool>{"a", false}));
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);  // beyond the threshold: no second decision
  EXPECT_EQ(d.seen.size(), 1u);
  // Each kind on its own; the other endpoint is not affected; timeouts 0 never decide.
  h.report(1, "b", ProbeOutcome::kTimeout, p);
  h.report(1, "b", ProbeOutcome::kTimeout, p);
  h.report(1, "b", ProbeOutcome::kTcpFailure, p);
  EXPECT_EQ(d.seen.size(), 1u);
  h.report(1, "b", ProbeOutcome::kTcpFailure, p);
  ASSERT_EQ(d.seen.size(), 2u);
  EXPECT_EQ(d.seen[1], (std::pair<std::string, bool>{"b", false}));
  h.report(5, "x", ProbeOutcome::kTcpFailure, p);  // out of range: ignored
  EXPECT_EQ(d.seen.size(), 2u);
}

TEST(PassiveHealth, AnUnhealthyEndpointCountsOnlySuccessesAndTurningHealthyClearsTheCounters) {
  PassiveSettings p;
  p.http_failures = 2;
  p.successes = 2;
  EndpointHealth h(1);
  Decisions d;
  h.set_passive_sink(d.sink());
  h.report(0, "a", ProbeOutcome::kSuccess, p);  // healthy: successes are not counted
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  ASSERT_EQ(d.seen.size(), 1u);
  h.set(0, false);  // the control thread applied it
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  h.report(0, "a", ProbeOutcome::kSuccess, p);
  h.report(0, "a", ProbeOutcome::kSuccess, p);
  ASSERT_EQ(d.seen.size(), 2u);
  EXPECT_TRUE(d.seen[1].second);
  h.set(0, true);
  // Counters start over after re-admission: two new failures are needed.
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  EXPECT_EQ(d.seen.size(), 2u);
  h.report(0, "a", ProbeOutcome::kHttpFailure, p);
  EXPECT_EQ(d.seen.size(), 3u);
}

TEST(PassiveHealth, WithoutASinkNothingIsPostedAndTheSinkIsSetOnce) {
  PassiveSettings p;
  p.timeouts = 1;
  EndpointHealth h(1);
  h.report(0, "a", ProbeOutcome::kTimeout, p);  // no sink: no crash, no decision
  Decisions first;
  Decisions second;
  h.set_passive_sink(first.sink());
  h.set_passive_sink(second.sink());
  h.clear_passive(0);
  h.report(0, "a", ProbeOutcome::kTimeout, p);
  EXPECT_EQ(first.seen.size(), 1u);
  EXPECT_TRUE(second.seen.empty());
}

TEST(EjectionBackoff, GrowsByBaseCapsAtMaxAndRestartsAfterAQuietPeriod) {
  using std::chrono::milliseconds;
  PassiveSettings p;
  p.ejection_base = milliseconds(30000);
  p.ejection_max = milliseconds(100000);
  EjectionBackoff b;
  EjectionBackoff::Clock::time_point t{};
  t += std::chrono::hours(1);
  EXPECT_EQ(b.eject(t, p), milliseconds(30000));
  b.readmitted(t + milliseconds(30000));
  EXPECT_EQ(b.eject(t + milliseconds(31000), p), milliseconds(60000));
  b.readmitted(t + milliseconds(91000));
  EXPECT_EQ(b.eject(t + milliseconds(92000), p), milliseconds(90000));
  b.readmitted(t + milliseconds(182000));
  EXPECT_EQ(b.eject(t + milliseconds(183000), p), milliseconds(100000));  // capped
  EXPECT_EQ(b.ejections(), 4u);
  b.readmitted(t + milliseconds(283000));
  // In for ejection_max without another ejection: back to base.
  EXPECT_EQ(b.eject(t + milliseconds(383000), p), milliseconds(30000));
  EXPECT_EQ(b.ejections(), 1u);
  p.ejection_base = milliseconds(0);  // Kong: no re-admission by time
  EXPECT_EQ(b.eject(t + milliseconds(383500), p), milliseconds(0));
}

}  // namespace
}  // namespace portico::upstream
